"""The trade-off table on the Leaderboard page (AppTest): every factor with its definition
beside it, and the Markdown in the article's layout."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.arena_data import add_generation
from tests.ui import pages
from workbench.services.evidence.leaderboard.tradeoffs import DEFINITIONS, FACTORS
from workbench.services.workbench import Workbench


def test_the_leaderboard_shows_the_trade_offs_with_definitions(
    data_dir: Path, seeded: Workbench
) -> None:
    for i in range(3):
        add_generation(seeded, "nano-banana-2", f"p{i}", latency_ms=3000, cost_usd=0.039)
        add_generation(seeded, "flux-2-pro", f"p{i}", provider="bfl", latency_ms=8000)
    at = AppTest.from_function(pages.leaderboard_page, default_timeout=30)
    at.run()
    at.multiselect(key="lb_verdict_models").set_value(["nano-banana-2", "flux-2-pro"]).run()
    assert not at.exception
    table = next(t.value for t in at.table if t.value.index.name == "Factor")
    assert list(table.index) == [label for _, label in FACTORS]
    assert list(table.columns) == ["Nano Banana 2", "FLUX.2 Pro", "How it is measured"]
    assert table.loc["Quality ceiling", "How it is measured"] == DEFINITIONS["Quality ceiling"]
    assert table.loc["Generation speed", "FLUX.2 Pro"] == "8.0 s (3 images)"
    assert table.loc["Iterative workflow", "Nano Banana 2"].startswith("not enough data")
    assert any(c.value.startswith("| Factor | Nano Banana 2 | FLUX.2 Pro |") for c in at.code)
