"""The flags every board and History read filters by, kept beside their records: a generation's
`archived` (the annotation is the record) and a vote's `undone` (`vote_undos` is the record).
They must follow every way the record changes, on both backends: archive and restore, an undo,
a vote added again after its undo (one by one and in bulk), and `db copy`."""

from __future__ import annotations

from pathlib import Path

from tests.arena_data import add_generation
from workbench.config import load_settings
from workbench.domain.filters import HistoryFilter
from workbench.services.workbench import Workbench, open_workbench
from workbench.store.transfer import copy_all
from workbench.store.votes import NewVote

NB, FP = "nano-banana-2", "flux-2-pro"


def _flag(wb: Workbench, sql: str, key: object) -> bool:
    with wb.db.cursor() as cur:
        return bool(cur.execute(sql, [key]).fetchone()[0])


def _archived(wb: Workbench, gid: str) -> bool:
    return _flag(wb, "SELECT archived FROM generations WHERE id = ?", gid)


def _ids(wb: Workbench, f: HistoryFilter) -> set[str]:
    return {r.id for r in wb.log.page(f, limit=100)}


def test_archive_and_restore_move_the_logs_flag_and_every_filter_follows(
    backend_wb: Workbench,
) -> None:
    wb = backend_wb
    kept = add_generation(wb, NB, "a kite")
    hidden = add_generation(wb, FP, "a kite")
    left = add_generation(wb, NB, "a boat")
    right = add_generation(wb, FP, "a boat")
    wb.votes.add(NewVote(NB, FP, "left", "overall", left_generation_id=left,
                         right_generation_id=right))
    wb.votes.add(NewVote(NB, FP, "left", "overall", left_generation_id=kept,
                         right_generation_id=hidden))
    wb.ratings.add(hidden, "overall", 5)
    wb.annotations.archive(hidden, "me")
    assert _archived(wb, hidden) and not _archived(wb, kept)
    assert hidden not in _ids(wb, HistoryFilter())
    assert _ids(wb, HistoryFilter(archived="only")) == {hidden}
    assert wb.log.count(HistoryFilter()) == 3
    assert wb.votes.count(HistoryFilter()) == 1  # the vote showing the archived image goes
    assert wb.votes.count(HistoryFilter(archived="only")) == 1
    assert wb.ratings.by_model(HistoryFilter()) == []  # its stars go with it
    wb.annotations.restore(hidden, "me")
    assert not _archived(wb, hidden)
    assert hidden in _ids(wb, HistoryFilter())
    assert wb.votes.count(HistoryFilter()) == 2
    assert [s.n for s in wb.ratings.by_model(HistoryFilter())] == [1]


def test_an_undo_flags_the_vote_and_a_vote_added_again_after_its_undo_stays_undone(
    backend_wb: Workbench,
) -> None:
    wb = backend_wb
    vote = NewVote(NB, FP, "left", "overall").completed()
    first = wb.votes.add(vote)
    wb.votes.add(NewVote(NB, FP, "right", "overall"))
    assert wb.votes.count(HistoryFilter()) == 2
    assert wb.votes.undo(first, "me") is True
    assert wb.votes.is_undone(first)
    assert wb.votes.count(HistoryFilter()) == 1
    again = wb.votes.add(vote)  # the same vote imported again: still undone
    assert wb.votes.is_undone(again)
    wb.votes.add_many([vote])
    assert wb.votes.count(HistoryFilter()) == 1
    assert [v.winner for v in wb.votes.for_generation("none")] == []


def test_a_copy_rebuilds_both_flags_from_their_records(wb: Workbench, tmp_path: Path) -> None:
    gid = add_generation(wb, NB, "a kite")
    vote_id = wb.votes.add(NewVote(NB, FP, "left", "overall"))
    target = open_workbench(load_settings(
        env={"WORKBENCH_DATA_DIR": str(tmp_path / "target")},
        secrets_file=tmp_path / "none.toml",
    ), idle_close_s=0)
    try:
        copy_all(wb.db, target.db)  # first copy: nothing archived or undone yet
        wb.annotations.archive(gid, "me")
        wb.votes.undo(vote_id, "me")
        copy_all(wb.db, target.db)  # the records arrive for rows the target already holds
        assert _archived(target, gid)
        assert target.votes.count(HistoryFilter()) == 0
        assert target.log.count(HistoryFilter()) == 0
    finally:
        target.close()
