"""Lineage and who-did-it in the store: a refinement records its parent and who asked for it;
the chain reads both ways; History filters to finals or to one lineage; ratings and votes can
be narrowed to chosen raters; the trade-off row "final delivery quality" counts finals."""

from __future__ import annotations

import pytest

from tests.arena_data import add_generation
from workbench.domain.filters import HistoryFilter
from workbench.services.evidence import leaderboard as lb
from workbench.services.evidence.leaderboard.tradeoffs import tradeoff_table
from workbench.services.runs.generation import GenerateRequest, InvalidRequest, generate_sync
from workbench.services.workbench import Workbench
from workbench.store.votes import NewVote

NB, FP, FX = "nano-banana-2", "flux-2-pro", "flux-2-max"


@pytest.fixture
def wb(backend_wb: Workbench) -> Workbench:
    """Every test here runs on the DuckDB file and on PostgreSQL."""
    return backend_wb


def _chain(wb: Workbench) -> tuple[str, str, str, str]:
    """A Nano Banana draft, its FLUX.2 Pro refinement, a Max refinement of that, and a second
    Nano Banana try from the same draft."""
    draft = add_generation(wb, NB, "a fox")
    final = add_generation(wb, FP, "a fox, 85mm", provider="bfl", parent_id=draft)
    polish = add_generation(wb, FX, "a fox, 85mm, rim light", provider="bfl", parent_id=final)
    retry = add_generation(wb, NB, "a fox again", parent_id=draft)
    return draft, final, polish, retry


def test_ancestors_and_descendants_read_the_chain_both_ways(wb: Workbench) -> None:
    draft, final, polish, retry = _chain(wb)
    add_generation(wb, NB, "unrelated")
    assert [n.id for n in wb.lineage.ancestors(polish)] == [final, draft]
    assert [n.depth for n in wb.lineage.ancestors(polish)] == [1, 2]
    assert [n.id for n in wb.lineage.descendants(draft)] == [final, retry, polish]
    assert wb.lineage.ancestors(draft) == []
    assert wb.lineage.descendants(polish) == []
    assert wb.lineage.ancestors(polish)[0].thumb_path  # a thumbnail to show in the chain
    assert [n.id for n in wb.lineage.ancestors(final)] == [draft]


def test_a_hand_written_cycle_ends(wb: Workbench) -> None:
    a = add_generation(wb, NB, "a")
    b = add_generation(wb, FP, "b", provider="bfl", parent_id=a)
    with wb.db.cursor() as cur:
        cur.execute("UPDATE generations SET parent_id = ? WHERE id = ?", [b, a])
    assert {n.id for n in wb.lineage.ancestors(b)} == {a, b}
    assert {n.id for n in wb.lineage.descendants(a)} == {a, b}


def test_finals_are_refinements_from_another_family(wb: Workbench) -> None:
    _draft, final, _polish, _retry = _chain(wb)
    found = {r.id for r in wb.log.page(HistoryFilter(finals=True))}
    # polish's parent is FLUX too, retry's parent is Nano Banana too: not finals
    assert found == {final}
    assert wb.log.count(HistoryFilter(finals=True)) == 1


def test_one_lineage_is_the_whole_tree(wb: Workbench) -> None:
    draft, final, polish, retry = _chain(wb)
    other = add_generation(wb, NB, "another draft")
    add_generation(wb, FP, "its final", provider="bfl", parent_id=other)
    for member in (draft, polish, retry):
        found = {r.id for r in wb.log.page(HistoryFilter(lineage=member))}
        assert found == {draft, final, polish, retry}
    assert wb.log.count(HistoryFilter(lineage=other)) == 2


def test_a_refinement_records_its_parent_and_who_asked(wb: Workbench) -> None:
    draft = generate_sync(wb, GenerateRequest(model=NB, prompt="a fox", seed=1))
    refined = generate_sync(
        wb, GenerateRequest(model=FP, prompt="a fox, 85mm", seed=1, parent_id=draft.id)
    )
    row = wb.log.get(refined.id)
    assert row.parent_id == draft.id
    assert row.created_by == wb.settings.user
    named = generate_sync(wb, GenerateRequest(model=NB, prompt="x", seed=2, created_by="ann"))
    assert wb.log.get(named.id).created_by == "ann"


def test_refining_a_generation_that_does_not_exist_is_refused(wb: Workbench) -> None:
    with pytest.raises(InvalidRequest, match="No generation gen_missing"):
        generate_sync(wb, GenerateRequest(model=FP, prompt="x", parent_id="gen_missing"))
    assert wb.log.count(HistoryFilter()) == 0  # nothing logged, nothing paid


# -- raters ----------------------------------------------------------------------------------------
def test_ratings_and_votes_narrow_to_the_chosen_raters(wb: Workbench) -> None:
    a = add_generation(wb, NB, "p")
    b = add_generation(wb, FP, "p", provider="bfl")
    wb.ratings.add(a, "overall", 5, rater="ann")
    wb.ratings.add(a, "overall", 1, rater="bob")
    wb.ratings.add(b, "overall", 2, rater="bob")
    for rater, winner in (("ann", "left"), ("bob", "right"), ("bob", "right")):
        wb.votes.add(NewVote(left_model=NB, right_model=FP, left_provider="gemini",
                             right_provider="bfl", left_generation_id=a, right_generation_id=b,
                             winner=winner, criterion="overall", prompt="p", rater=rater))
    everyone = {(r.model, r.n, r.mean) for r in wb.ratings.by_model(HistoryFilter())}
    assert everyone == {(NB, 2, 3.0), (FP, 1, 2.0)}
    ann = wb.ratings.by_model(HistoryFilter(raters=("ann",)))
    assert [(r.model, r.n, r.mean) for r in ann] == [(NB, 1, 5.0)]
    assert wb.votes.count(HistoryFilter()) == 3
    assert wb.votes.count(HistoryFilter(raters=("bob",))) == 2
    assert wb.tallies.winners(HistoryFilter(raters=("ann",))) == {"left": 1}
    assert wb.tallies.winners(HistoryFilter(raters=("bob",))) == {"right": 2}
    # the min-rating filter counts only the chosen raters' stars
    assert wb.log.count(HistoryFilter(min_rating=4)) == 0  # a's mean over both raters is 3
    assert wb.log.count(HistoryFilter(min_rating=4, raters=("ann",))) == 1
    assert wb.ratings.raters() == ["ann", "bob"]


def test_rater_names_are_trimmed_and_deduplicated() -> None:
    assert HistoryFilter(raters=(" ann ", "ann", "", "bob")).raters == ("ann", "bob")


# -- final delivery ------------------------------------------------------------------------------
def _final_row(wb: Workbench) -> dict[str, object]:
    board = lb.build_leaderboard(wb)
    cells = dict(tradeoff_table(wb, board, [NB, FP]).rows)["Final delivery quality"]
    return dict(zip((NB, FP), cells, strict=True))


def test_final_delivery_counts_lineage_finals_outside_the_production_categories(
    wb: Workbench,
) -> None:
    for i in range(3):
        draft = add_generation(wb, NB, f"portrait {i}", category="portrait")
        final = add_generation(wb, FP, f"portrait {i}", provider="bfl", category="portrait",
                               parent_id=draft)
        wb.ratings.add(final, "overall", 5)
        wb.ratings.add(draft, "overall", 1)  # a draft is not a final: left out
    cell = _final_row(wb)[FP]
    assert cell.source == "stars" and cell.evidence == 3
    assert _final_row(wb)[NB].evidence == 0
