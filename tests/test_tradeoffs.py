"""The article's trade-off rows: quality ceiling, iterative workflow, final
delivery quality, complex and minimal prompt handling, each at its evidence threshold."""

from __future__ import annotations

import pytest

from tests.arena_data import add_generation, png
from workbench.domain.ids import new_id
from workbench.services.evidence import leaderboard as lb
from workbench.services.evidence.leaderboard.tradeoffs import (
    BATCH_SIZE,
    FACTORS,
    MIN_BATCHES,
    MIN_CEILING_IMAGES,
    Ceiling,
    ceiling,
    tradeoff_table,
)
from workbench.services.workbench import Workbench
from workbench.store.attempts import NewGeneration, Outcome
from workbench.store.votes import NewVote

NB, FP = "nano-banana-2", "flux-2-pro"


def _row(wb: Workbench, label: str, models=(NB, FP), f=None) -> dict[str, object]:
    board = lb.build_leaderboard(wb, f)
    table = tradeoff_table(wb, board, list(models))
    cells = dict(table.rows)[label]
    return dict(zip(models, cells, strict=True))


def _batch(wb: Workbench, model: str, stars: list[float | None], *, run_id: str | None = None,
           prompt: str = "a kettle", latency: float = 1000.0, cost: float = 0.03) -> str:
    """One run's variations of a prompt on a model, each rated (None: unrated)."""
    run_id = run_id or new_id("run")
    provider = "bfl" if model == FP else "gemini"
    for i, value in enumerate(stars):
        gid = new_id("gen")
        wb.attempts.insert_pending(NewGeneration(id=gid, model=model, provider=provider,
                                            prompt=prompt, prompt_written=prompt, run_id=run_id))
        wb.attempts.complete(gid, Outcome(
            status="succeeded", latency_ms=latency * (i + 1), cost_usd=cost, cost_kind="known",
            image=wb.images.put(png(gid)),
        ))
        if value is not None:
            wb.ratings.add(gid, "overall", int(value))
            if value != int(value):  # a second rater makes the image's mean a half star
                wb.ratings.add(gid, "overall", int(value) + 1, rater="second")
    return run_id


# -- quality ceiling -------------------------------------------------------------------------------
def test_the_ceiling_is_the_mean_of_the_best_tenth_at_least_one_image() -> None:
    assert ceiling([(5.0, 1), (3.0, 9)]).mean == 5.0
    assert ceiling([(5.0, 1), (3.0, 10)]) == Ceiling(11, 2, 4.0)
    assert ceiling([(4.0, 3)]).top == 1
    assert ceiling([]).mean is None


def test_the_ceiling_needs_exactly_the_threshold_of_rated_images(wb: Workbench) -> None:
    for i in range(MIN_CEILING_IMAGES - 1):
        gid = add_generation(wb, FP, f"p{i}", provider="bfl")
        wb.ratings.add(gid, "overall", 5 if i == 0 else 3)
    cell = _row(wb, "Quality ceiling")[FP]
    assert cell.text == f"not enough data ({MIN_CEILING_IMAGES - 1} rated images)"
    gid = add_generation(wb, FP, "last", provider="bfl")
    wb.ratings.add(gid, "overall", 3)
    cell = _row(wb, "Quality ceiling")[FP]
    assert cell.text == f"5.0★ · Excellent ({MIN_CEILING_IMAGES} ratings)"
    assert cell.detail == f"best 1 of {MIN_CEILING_IMAGES} rated images"


# -- iterative workflow ----------------------------------------------------------------------------
def test_a_batch_with_one_4_star_image_counts_and_one_at_3_5_does_not(wb: Workbench) -> None:
    _batch(wb, FP, [3, 4, 3, 2])  # one image at exactly 4 stars
    _batch(wb, FP, [3, 3.5, 3, 3])  # best image's mean over two raters: 3.5
    for _ in range(MIN_BATCHES - 2):
        _batch(wb, FP, [3, 3, 3, 3])
    cell = _row(wb, "Iterative workflow")[FP]
    assert cell.source == "batches" and cell.evidence == MIN_BATCHES
    assert cell.text == f"20% hold a 4★+ image · 4.0 s · $0.120 a batch ({MIN_BATCHES} batches)"


def test_iterative_workflow_needs_exactly_the_threshold_of_full_rated_batches(
    wb: Workbench,
) -> None:
    for _ in range(MIN_BATCHES - 1):
        _batch(wb, NB, [4, 4, 4, 4])
    _batch(wb, NB, [5, 5, 5, None])  # one image unrated: the batch cannot be judged
    _batch(wb, NB, [5, 5, 5])  # three variations are not a batch of four
    cell = _row(wb, "Iterative workflow")[NB]
    assert cell.text == f"not enough data ({MIN_BATCHES - 1} rated batches of {BATCH_SIZE})"
    _batch(wb, NB, [1, 1, 1, 1])
    cell = _row(wb, "Iterative workflow")[NB]
    assert cell.evidence == MIN_BATCHES and cell.text.startswith("80% hold")


def test_eight_variations_are_two_batches(wb: Workbench) -> None:
    for _ in range(3):
        _batch(wb, FP, [3, 3, 3, 3, 5, 3, 3, 3])
    cell = _row(wb, "Iterative workflow")[FP]
    assert cell.evidence == 6 and cell.text.startswith("50% hold")


# -- final delivery, complex and minimal prompts ---------------------------------------------
def test_final_delivery_uses_the_production_categories_only(wb: Workbench) -> None:
    for category, stars in (("product", 5), ("fashion", 5), ("architecture", 4),
                            ("portrait", 1), ("portrait", 1)):
        gid = add_generation(wb, FP, category, provider="bfl", category=category)
        wb.ratings.add(gid, "overall", stars)
    cell = _row(wb, "Final delivery quality")[FP]
    assert cell.source == "stars" and cell.evidence == 3
    assert cell.text == "Excellent (3 ratings)"  # mean 4.67; the portraits are left out
    narrowed = lb.leaderboard_filter(categories=["portrait"])
    cell = _row(wb, "Final delivery quality", f=narrowed)[FP]
    assert cell.text == "not enough data (the filter leaves these categories out)"


def test_complex_prompts_show_overall_and_adherence_with_their_evidence(wb: Workbench) -> None:
    log = wb.votes
    for i in range(12):
        a = add_generation(wb, NB, f"c{i}", category="complex")
        b = add_generation(wb, FP, f"c{i}", provider="bfl", category="complex")
        log.add(NewVote(left_model=NB, right_model=FP, left_provider="gemini",
                        right_provider="bfl", left_generation_id=a, right_generation_id=b,
                        winner="right" if i % 4 else "left", criterion="overall",
                        category="complex", prompt=f"c{i}"))
        if i < 3:
            wb.ratings.add(b, "prompt_adherence", 5)
    row = _row(wb, "Complex prompt handling")
    assert row[FP].text.startswith(f"{row[FP].text.split(' (')[0]} (12 votes); adherence ")
    assert row[FP].text.endswith("Excellent (3 ratings)")
    assert row[NB].text.endswith("adherence not enough data (0 votes, 0 ratings)")
    assert _row(wb, "Minimal prompt handling")[FP].text.startswith("not enough data")


# -- the table -------------------------------------------------------------------------------------
def test_the_table_is_in_the_articles_layout_with_definitions(wb: Workbench) -> None:
    add_generation(wb, NB, "a", latency_ms=3000, cost_usd=0.039)
    add_generation(wb, FP, "a", provider="bfl", latency_ms=8000, cost_usd=0.03)
    board = lb.build_leaderboard(wb)
    table = tradeoff_table(wb, board, [NB, FP])
    lines = table.markdown().splitlines()
    assert lines[0] == "| Factor | Nano Banana 2 | FLUX.2 Pro |"
    assert [line.split(" | ")[0][2:] for line in lines[2:10]] == [label for _, label in FACTORS]
    assert lines[2] == "| Generation speed | 3.0 s (1 images) | 8.0 s (1 images) |"
    assert all(f"- {label}: " in table.markdown() for _, label in FACTORS)
    assert list(table.frame().columns) == ["Factor", "Nano Banana 2", "FLUX.2 Pro"]


@pytest.mark.parametrize("label", [label for _, label in FACTORS])
def test_every_row_says_not_enough_data_on_an_empty_log(wb: Workbench, label: str) -> None:
    cell = _row(wb, label)[NB]
    assert cell.text.startswith("not enough data")
