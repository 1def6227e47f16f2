"""Numbers that explain themselves (AppTest): a run's expected duration comes from the offer's
last 20 measured latencies (else the catalog), a resumed run's progress counts the whole run,
plurals agree with their numbers, and people read model and provider names, not ids."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.arena_data import add_generation
from tests.ui import pages
from workbench.services.runs.runner import RunSettings
from workbench.services.workbench import Workbench
from workbench.ui.run_panel import run_counts
from workbench.ui.shared import duration


def _app(page) -> AppTest:  # type: ignore[no-untyped-def]
    return AppTest.from_function(page, default_timeout=30)


def test_the_expected_duration_is_the_median_of_the_offers_last_20_latencies(
    data_dir: Path, seeded: Workbench
) -> None:
    for _ in range(30):  # older and fast: no longer typical
        add_generation(seeded, "nano-banana-2", "old", provider="offline", latency_ms=100.0)
    for i in range(20):  # the newest 20: 3.0-3.9 s and 4.1-5.0 s
        add_generation(seeded, "nano-banana-2", "new", provider="offline",
                       latency_ms=3000.0 + 100.0 * i + (100.0 if i >= 10 else 0.0))
    add_generation(seeded, "nano-banana-2", "elsewhere", provider="gemini", latency_ms=90_000.0)
    medians = seeded.performance.recent_latency_ms("offline")
    assert medians == {"nano-banana-2": 4000.0}  # (3900 + 4100) / 2
    at = _app(pages.compare_page)
    at.run()
    at.segmented_control(key="c_mode").set_value("Free text").run()
    at.text_area(key="c_text").set_value("a kite over dunes").run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    limit = RunSettings().limit("offline")
    # 3 variations on Nano Banana 2 at 4 s (measured), 3 on FLUX.2 Pro at the offline
    # renderer's typical 0.05 s (nothing measured), at `limit` at once
    expected = (3 * 4.0 + 3 * 0.05) / limit
    assert shown["Expected duration"] == duration(round(expected, 1) * 1000)


def test_a_resumed_runs_progress_counts_every_cell_of_the_run() -> None:
    grid = [{"status": s} for s in
            ["succeeded"] * 110 + ["failed"] * 2 + ["queued"] * 40 + ["pending"] * 8]
    counts = run_counts(grid)
    assert counts["cells"] == 160 and counts["finished"] == 112
    assert counts["succeeded"] == 110 and counts["failed"] == 2


def test_plurals_agree_and_names_replace_ids(data_dir: Path, seeded: Workbench) -> None:
    from workbench.services.runs.generation import GenerateRequest, generate_sync

    for model in ("nano-banana-2", "flux-2-pro"):
        generate_sync(seeded, GenerateRequest(model=model, prompt="A lighthouse at dawn", seed=1))
    arena = _app(pages.arena_page)
    arena.run()
    arena.toggle(key="a_offline").set_value(True).run()
    arena.button(key="a_left").click().run()
    arena.button(key="a_next").click().run()
    captions = " ".join(c.value for c in arena.caption)
    assert "1 earlier vote on this criterion" in captions and "1 votes" not in captions
    assert "1 vote this session" in captions
    at = _app(pages.history_page)
    at.run()
    header = next(m.value for m in at.markdown if "offline sketch, no model" in m.value)
    assert "via" not in header and ("FLUX.2 Pro" in header or "Nano Banana 2" in header)
    assert "flux-2-pro" not in header and "nano-banana-2" not in header
