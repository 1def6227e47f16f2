"""Tags, notes, archive and delete for good: an archived generation is hidden from History, the
boards and the Arena until restored; tags and notes are searchable; deleting for good removes
the row, what hangs on it and its image files (only files the image store wrote, and only when
no other generation shows the same image), and never an attempt still with its provider."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.arena_data import add_generation
from workbench.domain.filters import HistoryFilter
from workbench.services import history as history_service
from workbench.services.evidence import arena, leaderboard
from workbench.services.runs.generation import GenerateRequest, generate_sync
from workbench.services.workbench import Workbench
from workbench.store.votes import NewVote

NB, FP = "nano-banana-2", "flux-2-pro"


def _ids(wb: Workbench, f: HistoryFilter) -> set[str]:
    return {r.id for r in wb.log.page(f, limit=1000)}


def test_an_archived_generation_is_hidden_everywhere_until_restored(wb: Workbench) -> None:
    left = add_generation(wb, NB, "a kite", provider="gemini")
    right = add_generation(wb, FP, "a kite", provider="bfl")
    wb.ratings.add(left, "overall", 5)
    wb.votes.add(NewVote(left_model=NB, right_model=FP, left_provider="gemini",
                         right_provider="bfl", left_generation_id=left,
                         right_generation_id=right, winner="left", criterion="overall",
                         prompt="a kite"))
    board = leaderboard.leaderboard_filter()
    assert leaderboard.stars(wb, board)[(NB, "overall")].n == 1
    history_service.archive(wb, left)
    assert _ids(wb, HistoryFilter()) == {right}
    assert wb.log.count(HistoryFilter()) == 1
    assert _ids(wb, HistoryFilter(archived="only")) == {left}
    assert _ids(wb, HistoryFilter(archived="include")) == {left, right}
    assert (NB, "overall") not in leaderboard.stars(wb, board)
    assert wb.votes.count(board) == 0
    assert [r.model for r in wb.performance.by_model(board)] == [FP]
    with pytest.raises(arena.NoPairAvailable):
        arena.draw_pair(wb, "overall", arena.arena_filter(), rater="me")
    history_service.restore(wb, left)
    assert _ids(wb, HistoryFilter()) == {left, right}
    assert leaderboard.stars(wb, board)[(NB, "overall")].n == 1
    assert wb.votes.count(board) == 1


def test_tags_and_notes_are_searchable_and_taken_literally(wb: Workbench) -> None:
    tagged = add_generation(wb, NB, "a kite", provider="gemini")
    noted = add_generation(wb, NB, "a boat", provider="gemini")
    plain = add_generation(wb, NB, "a 100% cotton shirt", provider="gemini")
    history_service.annotate(wb, tagged, [" Client A ", "sunset", "sunset"], "")
    history_service.annotate(wb, noted, [], "send to the printer on Monday")
    assert wb.annotations.get(tagged).tags == ("client a", "sunset")
    assert history_service.tags(wb) == ["client a", "sunset"]
    assert _ids(wb, HistoryFilter(tags=("sunset",))) == {tagged}
    assert _ids(wb, HistoryFilter(tags=("client",))) == set()  # a whole tag, not a part
    assert _ids(wb, HistoryFilter(text="printer")) == {noted}
    assert _ids(wb, HistoryFilter(text="client a")) == {tagged}
    assert _ids(wb, HistoryFilter(text="100%")) == {plain}
    assert _ids(wb, HistoryFilter(text="%")) == {plain}  # a wildcard is a character here
    with pytest.raises(history_service.AnnotationRefused):
        history_service.annotate(wb, tagged, ["x" * 41], "")
    with pytest.raises(history_service.AnnotationRefused):
        history_service.annotate(wb, tagged, ["bell\x07"], "")


def test_delete_for_good_removes_the_row_what_hangs_on_it_and_the_files(
    wb: Workbench,
) -> None:
    gid = generate_sync(wb, GenerateRequest(model=NB, prompt="a pear", seed=9)).id
    record = wb.log.get(gid)
    image = wb.images.absolute(record.image_path)
    thumb = wb.images.absolute(record.thumb_path)
    wb.ratings.add(gid, "overall", 4)
    history_service.annotate(wb, gid, ["fruit"], "keep?")
    assert image.is_file() and thumb.is_file()
    assert history_service.delete_for_good(wb, gid).files_removed is True
    assert wb.log.get(gid) is None
    assert not image.exists() and not thumb.exists()
    with wb.db.cursor() as cur:
        for table in ("ratings", "metrics", "annotations"):
            assert cur.execute(
                f"SELECT count(*) FROM {table} WHERE generation_id = ?", [gid]
            ).fetchone()[0] == 0
        assert cur.execute("SELECT count(*) FROM images").fetchone()[0] == 0


def test_an_image_another_generation_shows_is_kept(wb: Workbench) -> None:
    first = generate_sync(wb, GenerateRequest(model=NB, prompt="a plum", seed=4)).id
    second = generate_sync(wb, GenerateRequest(model=NB, prompt="a plum", seed=4)).id
    shared = wb.log.get(first)
    assert shared.image_sha256 == wb.log.get(second).image_sha256  # deterministic sketch
    assert history_service.delete_for_good(wb, first).files_removed is False
    assert wb.images.absolute(shared.image_path).is_file()
    assert wb.log.get(second).image_path == shared.image_path


def test_a_path_the_database_names_outside_the_image_folders_is_never_removed(
    wb: Workbench, tmp_path: Path
) -> None:
    gid = generate_sync(wb, GenerateRequest(model=NB, prompt="a fig", seed=2)).id
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    sha = wb.log.get(gid).image_sha256
    relative = Path("..") / ".." / victim.relative_to(victim.anchor)
    outside = "../" * 12 + str(victim).lstrip("/")
    with wb.db.cursor() as cur:  # a tampered row
        cur.execute("UPDATE images SET path = ?, thumb_path = ? WHERE sha256 = ?",
                    [outside, str(relative), sha])
    history_service.delete_for_good(wb, gid)
    assert victim.read_text() == "keep me"


def test_an_attempt_with_its_provider_is_not_deleted(wb: Workbench) -> None:
    gid = add_generation(wb, NB, "a kite", provider="gemini", status="pending")
    with pytest.raises(history_service.AnnotationRefused, match="with its provider"):
        history_service.delete_for_good(wb, gid)
    assert wb.log.get(gid) is not None


def test_a_missing_or_refused_image_is_a_placeholder_with_its_reason(wb: Workbench) -> None:
    gid = generate_sync(wb, GenerateRequest(model=NB, prompt="a pear", seed=4)).id
    record = wb.log.get(gid)
    wb.images.absolute(record.image_path).unlink()  # gone from the data directory
    found = history_service.detail(wb, gid)
    assert found.image_file is None and found.image_problem == "not in the data directory"
    assert found.placeholder.startswith("data:image/jpeg;base64,")
    with wb.db.cursor() as cur:  # a tampered row
        cur.execute("UPDATE images SET path = '../../etc/passwd' WHERE sha256 = ?",
                    [record.image_sha256])
    found = history_service.detail(wb, gid)
    assert found.image_file is None and found.image_problem.startswith("refused")
