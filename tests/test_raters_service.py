"""Raters on the Leaderboard (`services.leaderboard.raters`): inter-rater agreement read from a
real log (the DuckDB file and PostgreSQL), per-rater consistency, and the rater filter reaching
the star means.

The star data is Krippendorff's (2011) worked example (see tests/test_agreement.py) written as
ratings: units are generations, observers are raters, so the figure read back from the
database must be the paper's ordinal α = 0.815."""

from __future__ import annotations

import pytest

from tests.arena_data import add_generation
from tests.test_agreement import PAPER
from workbench.services.evidence import leaderboard as lb_service
from workbench.services.workbench import Workbench
from workbench.stats.agreement import krippendorff_alpha
from workbench.store.votes import NewVote

NB, FP = "nano-banana-2", "flux-2-pro"
EVERYONE = lb_service.leaderboard_filter()


@pytest.fixture
def wb(backend_wb: Workbench) -> Workbench:
    """Every test on both backends: the agreement queries are written for each of them."""
    return backend_wb


def _paper_ratings(wb: Workbench) -> list[str]:
    ids = [add_generation(wb, NB, f"unit {u}") for u in range(12)]
    # A first gave unit 1 five stars, then changed it: only each rater's newest rating counts
    wb.ratings.add(ids[0], "overall", 5, rater="A")
    for rater, values in PAPER.items():
        for unit, value in enumerate(values):
            if value is not None:
                wb.ratings.add(ids[unit], "overall", value, rater=rater)
    # another criterion with a single rater: no overlap, no figure
    wb.ratings.add(ids[0], "realism", 4, rater="A")
    return ids


def test_alpha_read_from_the_log_is_the_papers(wb: Workbench) -> None:
    _paper_ratings(wb)
    found = lb_service.agreement(wb, EVERYONE)
    alpha = found.stars["overall"]
    assert alpha.alpha is not None and round(alpha.alpha, 3) == 0.815
    assert (alpha.units, alpha.values) == (11, 40)
    assert "realism" not in found.stars
    [row] = found.rows()
    assert row["Criterion"] == "Overall"
    assert row["Stars: Krippendorff's α (ordinal)"] == "α = 0.82 (n = 11)"
    assert row["Votes: same decision"] == "no overlap"


def test_the_rater_filter_limits_agreement_to_the_chosen_raters(wb: Workbench) -> None:
    _paper_ratings(wb)
    two = lb_service.leaderboard_filter(raters=["A", "B"])
    units = [
        {who: float(PAPER[who][u]) for who in ("A", "B") if PAPER[who][u] is not None}
        for u in range(12)
    ]
    expected = krippendorff_alpha(units, "ordinal")
    found = lb_service.agreement(wb, two).stars["overall"]
    assert found == expected and found.units == 9
    one = lb_service.leaderboard_filter(raters=["A"])
    assert lb_service.agreement(wb, one).stars == {}  # one person cannot disagree


def test_offline_sketches_stay_out_of_agreement_unless_included(wb: Workbench) -> None:
    sketch = add_generation(wb, NB, "p", provider="offline")
    for rater, stars in (("ann", 2), ("bob", 4)):
        wb.ratings.add(sketch, "overall", stars, rater=rater)
    assert lb_service.agreement(wb, EVERYONE).stars == {}
    included = lb_service.leaderboard_filter(include_offline=True)
    assert lb_service.agreement(wb, included).stars["overall"].units == 1


def _vote(wb: Workbench, left: str, right: str, winner: str, rater: str, *,
          criterion: str = "overall", repeat_of: int | None = None) -> int:
    return wb.votes.add(NewVote(
        left_model=NB, right_model=FP, left_provider="gemini", right_provider="bfl",
        left_generation_id=left, right_generation_id=right, winner=winner, criterion=criterion,
        prompt="p", rater=rater, is_repeat=repeat_of is not None, repeat_of=repeat_of,
    ))


def test_vote_agreement_compares_first_decisions_of_different_raters(wb: Workbench) -> None:
    g = [add_generation(wb, m, f"p{i}", provider=p)
         for i in range(4) for m, p in ((NB, "gemini"), (FP, "bfl"))]
    pairs = [(g[0], g[1]), (g[2], g[3]), (g[4], g[5]), (g[6], g[7])]
    # pair 0: ann and bob agree (bob saw it swapped); pair 1: both draws (tie, both bad) agree
    _vote(wb, *pairs[0], "left", "ann")
    _vote(wb, pairs[0][1], pairs[0][0], "right", "bob")
    _vote(wb, *pairs[1], "tie", "ann")
    _vote(wb, *pairs[1], "both_bad", "bob")
    # pair 2: they disagree; ann's later repeat agreeing with bob does not count
    first = _vote(wb, *pairs[2], "left", "ann")
    _vote(wb, *pairs[2], "right", "bob")
    _vote(wb, *pairs[2], "right", "ann", repeat_of=first)
    # pair 3: one rater only; and a vote on another criterion is another item
    _vote(wb, *pairs[3], "left", "ann")
    _vote(wb, *pairs[0], "left", "ann", criterion="realism")
    # imported votes name no images and cannot be matched
    wb.votes.add(NewVote(left_model=NB, right_model=FP, winner="right", criterion="overall",
                         rater="cy", source="import"))
    found = lb_service.agreement(wb, EVERYONE)
    assert (found.votes.same.hits, found.votes.same.n, found.votes.pairs) == (2, 3, 3)
    assert set(found.votes_by_criterion) == {"overall"}
    assert found.votes.text() == "not enough overlap yet (n = 3; needs 5)"
    only_ann = lb_service.agreement(wb, lb_service.leaderboard_filter(raters=["ann"]))
    assert only_ann.votes.pairs == 0


def test_consistency_is_given_per_rater(wb: Workbench) -> None:
    a = add_generation(wb, NB, "p")
    b = add_generation(wb, FP, "p", provider="bfl")
    ann_first = _vote(wb, a, b, "left", "ann")
    _vote(wb, b, a, "right", "ann", repeat_of=ann_first)  # same winner, sides swapped
    bob_first = _vote(wb, a, b, "left", "bob")
    _vote(wb, a, b, "right", "bob", repeat_of=bob_first)  # changed his mind
    rated = add_generation(wb, NB, "q")
    wb.ratings.add(rated, "overall", 3, rater="cy")  # no votes: no consistency row
    table = dict(lb_service.consistency_by_rater(wb, EVERYONE))
    assert set(table) == {"ann", "bob"}
    assert (table["ann"].agreement.hits, table["ann"].agreement.n) == (1, 1)
    assert (table["bob"].agreement.hits, table["bob"].agreement.n) == (0, 1)
    assert (table["bob"].position.hits, table["bob"].position.n) == (1, 2)
    chosen = lb_service.consistency_by_rater(wb, lb_service.leaderboard_filter(raters=["bob"]))
    assert [name for name, _ in chosen] == ["bob"]
    assert lb_service.rater_names(wb) == ["ann", "bob", "cy"]


@pytest.mark.parametrize(("raters", "mean"), [((), 3.0), (("ann",), 5.0), (("bob",), 1.0)])
def test_the_rater_filter_reaches_the_star_means(
    wb: Workbench, raters: tuple[str, ...], mean: float
) -> None:
    gid = add_generation(wb, NB, "p")
    wb.ratings.add(gid, "overall", 5, rater="ann")
    wb.ratings.add(gid, "overall", 1, rater="bob")
    board = lb_service.build_leaderboard(wb, lb_service.leaderboard_filter(raters=raters))
    assert board.stars[(NB, "overall")].mean == mean


def test_a_filter_on_the_log_reaches_the_star_agreement(wb: Workbench) -> None:
    """A category lives on the generation, not the rating: the log is joined for it."""
    portrait = add_generation(wb, NB, "p", category="portrait")
    text = add_generation(wb, NB, "q", category="text")
    for gid in (portrait, text):
        for rater, stars in (("ann", 2), ("bob", 4)):
            wb.ratings.add(gid, "overall", stars, rater=rater)
    assert lb_service.agreement(wb, EVERYONE).stars["overall"].units == 2
    only_text = lb_service.leaderboard_filter(categories=["text"])
    assert lb_service.agreement(wb, only_text).stars["overall"].units == 1
