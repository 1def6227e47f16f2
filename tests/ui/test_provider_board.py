"""The Leaderboard's provider board (AppTest): per model that several providers offer, each
provider's p50/p95 latency, success, moderation and failure rates and cost, with n, from the
log; untried offers show n = 0; offline sketches never appear; the provider filter narrows it."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.arena_data import add_generation
from tests.ui import pages
from workbench.domain.filters import HistoryFilter
from workbench.services.evidence.leaderboard.providers import provider_board
from workbench.services.workbench import Workbench

NB = "nano-banana-2"


def _board(at: AppTest):  # type: ignore[no-untyped-def]
    return next(d.value for d in at.dataframe if "Latency p50" in d.value.columns)


def _seed(wb: Workbench) -> None:
    for ms in (1000.0, 2000.0, 3000.0, 4000.0):
        add_generation(wb, NB, "a kite", provider="gemini", latency_ms=ms, cost_usd=0.04)
    add_generation(wb, NB, "a kite", provider="gemini", status="moderated", latency_ms=None,
                   cost_usd=None)
    add_generation(wb, NB, "a kite", provider="replicate", latency_ms=9000.0, cost_usd=0.05)
    add_generation(wb, NB, "a kite", provider="replicate", status="failed", latency_ms=None,
                   cost_usd=None)
    add_generation(wb, NB, "a kite", provider="offline", latency_ms=5.0, cost_usd=0.0)


def test_each_provider_of_a_model_with_its_numbers_and_n(
    data_dir: Path, seeded: Workbench
) -> None:
    _seed(seeded)
    board = provider_board(seeded, HistoryFilter())
    rows = {r["provider"]: r for r in board.rows}
    assert set(rows) == {"gemini", "replicate", "fal"}  # never offline; fal untried
    gemini, replicate, fal = rows["gemini"], rows["replicate"], rows["fal"]
    assert gemini["attempts"] == 5 and gemini["success_rate"] == 0.8
    assert gemini["moderation_rate"] == 0.2 and gemini["failure_rate"] == 0.0
    assert gemini["latency_p50_s"] == 2.5 and gemini["timed"] == 4
    assert abs(gemini["latency_p95_s"] - 3.85) < 1e-9  # percentile_cont over 1-4 s
    assert abs(gemini["cost_per_image_usd"] - 0.04) < 1e-9
    assert replicate["attempts"] == 2 and replicate["failure_rate"] == 0.5
    assert fal["attempts"] == 0 and fal["success_rate"] is None

    at = AppTest.from_function(pages.leaderboard_page, default_timeout=60)
    at.run()
    assert not at.exception
    shown = _board(at)
    first = shown[shown["Provider"] == "Google Gemini API"].iloc[0]
    assert first["Model"] == "Nano Banana 2"
    assert first["Success"] == "80% (n=5)" and first["Moderated"] == "20% (n=5)"
    assert first["Latency p50"] == "2.5 s (n=4)" and first["Latency p95"] == "3.8 s (n=4)"
    assert first["Cost per image"] == "$0.0400"
    untried = shown[shown["Provider"] == "fal.ai"].iloc[0]
    assert untried["Attempts"] == 0 and untried["Success"] == "–"
    at.multiselect(key="lb_providers").set_value(["gemini"]).run()
    narrowed = _board(at)
    assert narrowed["Provider"].tolist() == ["Google Gemini API"]
