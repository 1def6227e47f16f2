"""`workbench db copy`: a history moves to another data directory (and back) with every row,
rating, vote, measurement, library version and image; copying twice doubles nothing; a target
that already holds other people's rows keeps them; a copy that does not match says so and
exits 1. The same copy into a team database is in the PostgreSQL tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.arena_data import add_generation
from workbench import cli
from workbench.config import load_settings
from workbench.domain.filters import HistoryFilter
from workbench.imaging.specs import MetricResult
from workbench.services.team import dbcopy
from workbench.services.workbench import Workbench, open_workbench
from workbench.store.measurements import MetricLog
from workbench.store.prompt_library import NewVersion
from workbench.store.spending import Caps
from workbench.store.votes import NewVote

NB, FP = "nano-banana-2", "flux-2-pro"


def _open(data: Path) -> Workbench:
    settings = load_settings(env={"WORKBENCH_DATA_DIR": str(data)},
                             secrets_file=data / "none.toml")
    return open_workbench(settings, idle_close_s=0)


def _fill(wb: Workbench, tag: str = "") -> dict[str, str]:
    """A small history with one of everything."""
    wb.runs.create(f"run_{tag}1", "compare", "kettles", {"models": [NB, FP]}, 1.0)
    draft = add_generation(wb, NB, f"a kettle{tag}")
    final = add_generation(wb, FP, f"a kettle{tag}, 85mm", provider="bfl", parent_id=draft)
    failed = add_generation(wb, FP, f"a kettle{tag}", provider="bfl", status="failed")
    wb.ratings.add(final, "overall", 5, rater="ann")
    wb.ratings.add(final, "overall", 4, rater="bob")
    first = wb.votes.add(NewVote(left_model=NB, right_model=FP, left_provider="gemini",
                                 right_provider="bfl", left_generation_id=draft,
                                 right_generation_id=final, winner="right",
                                 criterion="overall", prompt=f"a kettle{tag}", rater="ann"))
    wb.votes.add(NewVote(left_model=FP, right_model=NB, left_provider="bfl",
                         right_provider="gemini", left_generation_id=final,
                         right_generation_id=draft, winner="left", criterion="overall",
                         prompt=f"a kettle{tag}", rater="ann", is_repeat=True, repeat_of=first,
                         swapped=True))
    MetricLog(wb.db).record(final, [MetricResult("warmth", 1, 0.25, {"kelvin": 5200})])
    wb.library.save(NewVersion(name=f"kettle{tag}", model=NB, prompt=f"a kettle{tag}",
                               slots={"subject": "kettle"}, params={"seed": 3}))
    wb.library.mark(f"kettle{tag}", ["product"], "for the client", True)
    wb.spending.reserve(final, "ann", 0.05, Caps())
    return {"draft": draft, "final": final, "failed": failed}


def _counts(wb: Workbench) -> dict[str, int]:
    with wb.db.cursor() as cur:
        return {t: cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in dbcopy.transfer.tables()}


def test_a_history_moves_whole_and_twice_doubles_nothing(tmp_path: Path) -> None:
    here, there = tmp_path / "here", tmp_path / "there"
    wb = _open(here)
    ids = _fill(wb)
    before = _counts(wb)
    image = wb.log.get(ids["final"]).image_path
    wb.close()

    report = dbcopy.copy(dbcopy.directory_place(here), dbcopy.directory_place(there))
    assert report.ok, report.lines()
    assert all(t.source_rows == t.target_rows == t.copied for t in report.tables)
    assert all(t.source_checksum == t.target_checksum for t in report.tables)
    assert report.images.copied == 2 and not report.images.missing
    assert (there / image).read_bytes() == (here / image).read_bytes()

    again = dbcopy.copy(dbcopy.directory_place(here), dbcopy.directory_place(there))
    assert again.ok and sum(t.copied for t in again.tables) == 0
    assert again.images.copied == 0 and again.images.present == 2

    copy = _open(there)
    try:
        assert _counts(copy) == before
        assert copy.log.count(HistoryFilter()) == 3
        assert copy.log.get(ids["final"]).parent_id == ids["draft"]
        assert copy.ratings.latest_for(ids["final"], "bob") == {"overall": 4}
        repeat = [v for v in copy.votes.frame(HistoryFilter()).to_dict("records")
                  if v["is_repeat"]]
        first = copy.votes.get(int(repeat[0]["repeat_of"]))
        assert first.left_generation_id == ids["draft"]  # the link still finds its vote
        version = copy.library.find("kettle")
        assert version is not None and version.version == 1
        assert copy.library.marks("kettle").note == "for the client"
    finally:
        copy.close()


def test_a_target_with_other_peoples_rows_keeps_them(tmp_path: Path) -> None:
    here, team = tmp_path / "here", tmp_path / "team"
    wb = _open(here)
    mine = _fill(wb, "-mine")
    wb.close()
    other = _open(team)
    theirs = _fill(other, "-theirs")  # the same rating and vote numbers as mine
    other.close()

    report = dbcopy.copy(dbcopy.directory_place(here), dbcopy.directory_place(team))
    assert report.ok, report.lines()
    votes = next(t for t in report.tables if t.table == "votes")
    assert votes.copied == 2 and votes.target_rows == 4
    both = _open(team)
    try:
        assert both.log.count(HistoryFilter()) == 6
        assert both.ratings.latest_for(mine["final"], "ann") == {"overall": 5}
        assert both.ratings.latest_for(theirs["final"], "ann") == {"overall": 5}
        repeats = [v for v in both.votes.frame(HistoryFilter()).to_dict("records")
                   if v["is_repeat"]]
        firsts = {both.votes.get(int(v["repeat_of"])).prompt for v in repeats}
        assert firsts == {"a kettle-mine", "a kettle-theirs"}  # each repeat keeps its own first
    finally:
        both.close()


def test_a_row_held_differently_under_the_same_key_is_a_mismatch(tmp_path: Path) -> None:
    here, there = tmp_path / "here", tmp_path / "there"
    wb = _open(here)
    ids = _fill(wb)
    wb.close()
    dbcopy.copy(dbcopy.directory_place(here), dbcopy.directory_place(there))
    target = _open(there)
    with target.db.cursor() as cur:
        cur.execute("UPDATE generations SET prompt = 'changed' WHERE id = ?", [ids["draft"]])
    target.close()
    report = dbcopy.copy(dbcopy.directory_place(here), dbcopy.directory_place(there))
    generations = next(t for t in report.tables if t.table == "generations")
    assert not report.ok and generations.missing == 1
    assert generations.source_checksum != generations.target_checksum
    assert any("MISMATCH (1 source rows" in line for line in report.lines())


def test_a_corrupt_image_at_the_source_is_reported_not_copied(tmp_path: Path) -> None:
    here, there = tmp_path / "here", tmp_path / "there"
    wb = _open(here)
    ids = _fill(wb)
    image = wb.log.get(ids["final"]).image_path
    wb.close()
    (here / image).write_bytes(b"not the image")
    report = dbcopy.copy(dbcopy.directory_place(here), dbcopy.directory_place(there))
    assert not report.ok and len(report.images.corrupt) == 1
    assert not (there / image).exists()


# -- the command line ------------------------------------------------------------------------------
def test_the_command_copies_there_and_back(
    data_dir: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    wb = _open(data_dir)
    _fill(wb)
    wb.close()
    elsewhere = tmp_path / "elsewhere"
    assert cli.main(["db", "copy", "--to", str(elsewhere)]) == 0
    out = capsys.readouterr().out
    assert "All rows and checksums match." in out
    assert "generations" in out and "ratings" in out
    back = tmp_path / "back"
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(back))
    assert cli.main(["db", "copy", "--from", str(elsewhere)]) == 0
    assert "images: 2 copied" in capsys.readouterr().out


def test_the_command_refuses_bad_places(data_dir: Path, tmp_path: Path, capsys) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    assert cli.main(["db", "copy", "--to", str(a_file)]) == 2
    assert "is a file" in capsys.readouterr().err
    assert cli.main(["db", "copy", "--to", str(data_dir)]) == 2
    assert "the same history" in capsys.readouterr().err
    assert cli.main(["db", "copy", "--from", str(tmp_path / "nowhere")]) == 2
    assert "no history" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()  # nothing created by looking


# -- with the team's PostgreSQL server ---------------------------------------------------------
def test_local_to_postgres_to_a_new_local_copy_round_trips(
    data_dir: Path, tmp_path: Path, pg_url: str, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    wb = _open(data_dir)
    ids = _fill(wb)
    before = _counts(wb)
    image = wb.log.get(ids["final"]).image_path
    wb.close()
    team_images = tmp_path / "team-images"

    assert cli.main(["db", "copy", "--to", pg_url, "--images-dir", str(team_images)]) == 0
    out = capsys.readouterr().out
    assert "All rows and checksums match." in out and "images: 2 copied" in out
    assert (team_images / image).read_bytes() == (data_dir / image).read_bytes()
    assert cli.main(["db", "copy", "--to", pg_url, "--images-dir", str(team_images)]) == 0
    assert "images: 0 copied, 2 already there" in capsys.readouterr().out  # nothing doubles

    fresh = tmp_path / "fresh"
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(fresh))
    assert cli.main(["db", "copy", "--from", pg_url, "--images-dir", str(team_images)]) == 0
    first = {line.split()[0]: line.split()[1:6] for line in out.splitlines()
             if line.split() and line.split()[0] in dbcopy.transfer.tables()}
    back = capsys.readouterr().out
    again = {line.split()[0]: line.split()[1:6] for line in back.splitlines()
             if line.split() and line.split()[0] in dbcopy.transfer.tables()}
    # the same rows and checksums on the way out and on the way back
    assert {t: v[3] for t, v in first.items()} == {t: v[3] for t, v in again.items()}
    copy = _open(fresh)
    try:
        assert _counts(copy) == before
        assert copy.log.get(ids["final"]).parent_id == ids["draft"]
    finally:
        copy.close()
    assert (fresh / image).read_bytes() == (data_dir / image).read_bytes()


def test_a_bad_team_url_is_refused_without_showing_its_password(data_dir: Path, capsys) -> None:
    _open(data_dir).close()  # a history to copy from
    assert cli.main(["db", "copy", "--to", "mysql://ann:s3cret-pw@db:3306/x"]) == 2
    err = capsys.readouterr().err
    assert "postgresql://" in err and "s3cret-pw" not in err
    import socket

    with socket.socket() as s:  # a free port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert cli.main(["db", "copy", "--to", f"postgresql://ann:s3cret-pw@127.0.0.1:{port}/x"]) == 3
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}" in err and "s3cret-pw" not in err


def test_every_table_of_the_schema_is_copied_or_named_as_bookkeeping(tmp_path: Path) -> None:
    # A new table that db copy does not know would be left behind without a word.
    wb = _open(tmp_path / "here")
    try:
        with wb.db.cursor() as cur:
            schema = {row[0] for row in cur.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_type = 'BASE TABLE' AND table_catalog = current_database()"
            ).fetchall()}
    finally:
        wb.close()
    assert schema == set(dbcopy.transfer.tables()) | set(dbcopy.transfer.NOT_COPIED)


def test_a_table_keyed_by_several_columns_pages_past_a_batch_and_copies_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # judge_scores is keyed by (image, question set, judge model): paging must go on after a
    # batch by the whole key, or rows sharing the first column are skipped or read twice.
    monkeypatch.setattr(dbcopy.transfer, "BATCH", 2)
    here, there = tmp_path / "here", tmp_path / "there"
    wb = _open(here)
    with wb.db.transaction() as cur:
        for image in ("a" * 64, "b" * 64):
            for qs in ("q1", "q2", "q3"):
                cur.execute(
                    "INSERT INTO judge_scores (image_sha256, question_set_id, judge_model, score,"
                    " answers, call_id, created_at) VALUES (?, ?, 'm', 0.5, '[]', ?,"
                    " current_timestamp)", [image, qs, f"{image[0]}{qs}"])
    wb.close()
    for _ in range(2):
        report = dbcopy.copy(dbcopy.directory_place(here), dbcopy.directory_place(there))
        assert report.ok, report.lines()
    scores = next(t for t in report.tables if t.table == "judge_scores")
    assert (scores.source_rows, scores.target_rows, scores.copied) == (6, 6, 0)
    assert scores.source_checksum == scores.target_checksum
