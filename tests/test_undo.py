"""Undo without rewriting history: a rating action writes one row only when it changes what
counts, a cleared rating counts as none everywhere (the detail, History's rating and filter, the
Leaderboard, exports), and an undone vote stops counting everywhere (the Leaderboard, rater
consistency, the Library's win rate) while its row stays."""

from __future__ import annotations

import pytest

from tests.arena_data import add_generation
from workbench.domain.filters import HistoryFilter
from workbench.services.evidence import leaderboard
from workbench.services.evidence import ratings as rating_service
from workbench.services.workbench import Workbench
from workbench.store.votes import NewVote

NB, FP = "nano-banana-2", "flux-2-pro"


def _rows(wb: Workbench, generation_id: str) -> int:
    with wb.db.cursor() as cur:
        return int(cur.execute(
            "SELECT count(*) FROM ratings WHERE generation_id = ?", [generation_id]
        ).fetchone()[0])


def _rate(wb: Workbench, gid: str, stars: int | None, criterion: str = "overall") -> bool:
    return rating_service.rate(
        wb, rating_service.RatingInput(generation_id=gid, criterion=criterion, stars=stars)
    )


def test_the_same_stars_again_write_nothing_and_a_change_writes_one_row(wb: Workbench) -> None:
    gid = add_generation(wb, NB, "a kite", provider="gemini")
    assert _rate(wb, gid, 4) is True
    for _ in range(3):  # a replayed widget event, a double click
        assert _rate(wb, gid, 4) is False
    assert _rows(wb, gid) == 1
    assert _rate(wb, gid, 2) is True
    assert _rows(wb, gid) == 2
    assert wb.ratings.latest_for(gid, wb.settings.user) == {"overall": 2}


def test_a_cleared_rating_counts_as_none_everywhere(wb: Workbench) -> None:
    rated = add_generation(wb, NB, "a kite", provider="gemini")
    other = add_generation(wb, NB, "a boat", provider="gemini")
    _rate(wb, rated, 5)
    _rate(wb, rated, 3, "hair_detail")
    _rate(wb, other, 2)
    assert _rate(wb, rated, None) is True
    assert _rate(wb, rated, None) is False  # nothing left to clear: nothing written
    assert _rows(wb, rated) == 3  # append-only: the cleared row is a row
    assert wb.ratings.latest_for(rated, wb.settings.user) == {"hair_detail": 3}
    [row] = [r for r in wb.log.page(HistoryFilter()) if r.id == rated]
    assert row.rating == 3  # the page's mean leaves the cleared criterion out
    assert wb.ratings.means([rated]) == {rated: 3.0}
    matching = {r.id for r in wb.log.page(HistoryFilter(min_rating=4))}
    assert rated not in matching
    stars = leaderboard.stars(wb, leaderboard.leaderboard_filter())
    assert stars[(NB, "overall")].n == 1  # only `other`'s 2 stars
    assert stars[(NB, "overall")].mean == 2
    _rate(wb, rated, 1)  # rated again after clearing: the newest row counts
    assert wb.ratings.latest_for(rated, wb.settings.user)["overall"] == 1


def _vote(wb: Workbench, left: str, right: str, winner: str, rater: str = "me") -> int:
    return wb.votes.add(NewVote(
        left_model=NB, right_model=FP, left_provider="gemini", right_provider="bfl",
        left_generation_id=left, right_generation_id=right, winner=winner,
        criterion="overall", prompt="a kite", rater=rater,
    ))


def test_an_undone_vote_stops_counting_and_only_its_rater_may_undo_it(
    wb: Workbench, monkeypatch: pytest.MonkeyPatch
) -> None:
    left = add_generation(wb, NB, "a kite", provider="gemini")
    right = add_generation(wb, FP, "a kite", provider="bfl")
    f = leaderboard.leaderboard_filter()
    kept = _vote(wb, left, right, "left", rater=wb.settings.user)
    undone = _vote(wb, left, right, "right", rater=wb.settings.user)
    theirs = _vote(wb, left, right, "right", rater="somebody else")
    assert wb.votes.count(f) == 3
    assert rating_service.undo_vote(wb, theirs) is False  # not the user's own
    assert rating_service.undo_vote(wb, undone) is True
    assert rating_service.undo_vote(wb, undone) is False  # once
    assert wb.votes.count(f) == 2
    assert wb.votes.get(undone) is not None  # the row stays
    assert [v.id for v in rating_service.votes_for(wb, left)] == [theirs, kept]
    counts = {(a, b, w): n for _, a, b, w, n in wb.tallies.pair_counts(f)}
    assert counts == {(NB, FP, "left"): 1, (NB, FP, "right"): 1}
    board = leaderboard.build_leaderboard(wb, f, rounds=5)
    frame = board.bt_frame("overall")
    assert int(frame["votes"].sum()) == 2 * 2  # each vote counts for both of its models


def test_an_undone_vote_leaves_the_librarys_win_rate(wb: Workbench) -> None:
    from workbench.store.prompt_library import NewVersion

    version = wb.library.save(NewVersion(name="kite", model=NB, prompt="a kite"))
    left = add_generation(wb, NB, "a kite", provider="gemini")
    with wb.db.cursor() as cur:
        cur.execute("UPDATE generations SET library_version_id = ? WHERE id = ?",
                    [version.id, left])
    right = add_generation(wb, FP, "a kite", provider="bfl")
    vote = _vote(wb, left, right, "left", rater=wb.settings.user)
    assert wb.library.stats(version.id).arena_votes == 1
    rating_service.undo_vote(wb, vote)
    assert wb.library.stats(version.id).arena_votes == 0


def test_undos_and_annotations_are_copied_with_a_history() -> None:
    from workbench.store import transfer

    assert "vote_undos" in transfer.tables() and "annotations" in transfer.tables()
