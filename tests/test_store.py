"""The store on temporary databases, on both backends where the behaviour is the store's (the
`db` fixture runs each test on a DuckDB file and on a fresh PostgreSQL database): migrations,
the log's round trip, filters with hostile text, paging, append-only ratings. Embedded-only:
two processes on one file (file turns, locks). Team-mode faults: tests/test_store_postgres.py."""

import fcntl
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.lock_holder import database_held, workbench_holding
from workbench.config import parse_database_url
from workbench.domain.filters import SORTS, HistoryFilter
from workbench.store.attempt_queue import AttemptQueue
from workbench.store.attempts import AttemptLog, NewGeneration, Outcome
from workbench.store.db import (
    FIRST_UNIT_GRACE_S,
    Database,
    DatabaseLocked,
    StoreError,
    one_row,
)
from workbench.store.generations import GenerationLog
from workbench.store.images import ImageStore, NotAnImage
from workbench.store.migrations import migration_files
from workbench.store.postgres import PgDatabase
from workbench.store.ratings import RatingLog


@pytest.fixture
def db(backend: str, request: pytest.FixtureRequest, tmp_path: Path):
    if backend == "duckdb":
        database = Database(tmp_path / "wb.duckdb", lock_timeout_s=1, idle_close_s=0)
    else:
        database = PgDatabase(parse_database_url(request.getfixturevalue("pg_url")))
    yield database
    database.close()


def _add(log: GenerationLog, gid: str, prompt: str, model: str = "nano-banana-2", **kw) -> None:
    AttemptLog(log.db).insert_pending(
        NewGeneration(
            id=gid,
            model=model,
            provider=kw.pop("provider", "offline"),
            prompt=prompt,
            prompt_written=prompt,
            **kw,
        )
    )


def test_a_blank_database_gets_every_migration_once(db: Database) -> None:
    expected = [p.stem for p in migration_files()]
    assert db.migrations_applied == expected
    db.close()
    again = (
        Database(db.path, idle_close_s=0) if isinstance(db, Database) else PgDatabase(db.url)
    )
    assert again.migrations_applied == expected
    with again.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM _migrations").fetchone()[0] == len(expected)
    again.close()


def test_pending_then_completed_round_trip(db: Database, tmp_path: Path) -> None:
    log = GenerationLog(db)
    _add(
        log,
        "g1",
        "A red kettle",
        slots={"subject": "A red kettle"},
        params={"aspect_ratio": "1:1", "seed": 3},
        aspect_ratio="1:1",
        size="1K",
        seed=3,
        template_id="nano-banana-scene",
    )
    assert log.get("g1").status == "pending"
    store = ImageStore(tmp_path)
    image = store.put(_png())
    AttemptLog(log.db).complete(
        "g1",
        Outcome(
            status="succeeded",
            latency_ms=12.5,
            cost_usd=0.067,
            cost_kind="estimated",
            seed_returned=3,
            image=image,
            provider_request_id="req-1",
        ),
    )
    row = log.get("g1")
    assert row.status == "succeeded" and row.finished_at is not None
    assert row.slots == {"subject": "A red kettle"}
    assert row.params == {"aspect_ratio": "1:1", "seed": 3}
    assert (row.width, row.height, row.image_path) == (8, 6, image.path)
    assert row.cost_kind == "estimated" and row.latency_ms == 12.5
    store.thumbs.wait_all()  # the thumbnail is made after the image is stored, off the path
    assert (tmp_path / row.thumb_path).exists()


def test_failed_attempt_keeps_its_error(db: Database) -> None:
    log = GenerationLog(db)
    _add(log, "g1", "x")
    AttemptLog(log.db).complete(
        "g1", Outcome(status="failed", error_kind="auth", error_message="check your key")
    )
    row = log.get("g1")
    assert (row.status, row.error_kind, row.error_message) == (
        "failed",
        "auth",
        "check your key",
    )


@pytest.mark.parametrize(
    "hostile", ["'; DROP TABLE generations; --", "%_\\", "%", "_", "\\", "' OR 1=1 --"]
)
def test_hostile_filter_text_is_only_ever_a_literal(db: Database, hostile: str) -> None:
    log = GenerationLog(db)
    _add(log, "plain", "A quiet harbour at dawn")
    _add(log, "match", f"Sign reads {hostile} in neon")
    rows = log.page(HistoryFilter(text=hostile))
    assert [r.id for r in rows] == ["match"]
    assert log.count(HistoryFilter(text=hostile)) == 1
    assert log.count(HistoryFilter()) == 2  # the table is still there


def test_filters_combine_and_paging_happens_in_sql(db: Database) -> None:
    log = GenerationLog(db)
    for i in range(30):
        _add(
            log,
            f"g{i:02d}",
            f"prompt {i}",
            model="flux-2-pro" if i % 3 else "nano-banana-2",
            provider="bfl" if i % 2 else "offline",
            template_id="free-text",
        )
    f = HistoryFilter(models=("flux-2-pro",), providers=("bfl",))
    total = log.count(f)
    assert total == len([i for i in range(30) if i % 3 and i % 2])
    first = log.page(f, limit=4, offset=0)
    second = log.page(f, limit=4, offset=4)
    assert len(first) == 4 and not {r.id for r in first} & {r.id for r in second}
    assert log.count(HistoryFilter(include_offline=False)) == 15
    today = date.today()
    assert (
        log.count(
            HistoryFilter(date_from=today - timedelta(days=1), date_to=today + timedelta(days=1))
        )
        == 30
    )
    assert log.count(HistoryFilter(date_to=today - timedelta(days=2))) == 0
    choices = log.choices()
    assert choices["models"] == ["flux-2-pro", "nano-banana-2"]
    assert choices["templates"] == ["free-text"]


def test_ratings_are_append_only_and_the_latest_wins(db: Database) -> None:
    log, ratings = GenerationLog(db), RatingLog(db)
    _add(log, "g1", "x")
    _add(log, "g2", "y")
    ratings.add("g1", "overall", 2)
    ratings.add("g1", "overall", 5)
    ratings.add("g2", "overall", 3)
    assert ratings.latest_for("g1") == {"overall": 5}
    with db.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM ratings").fetchone()[0] == 3
    assert [r.id for r in log.page(HistoryFilter(min_rating=4))] == ["g1"]
    with pytest.raises(KeyError):
        ratings.add("missing", "overall", 4)


def test_unwritable_data_directory_gets_a_clear_message(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="WORKBENCH_DATA_DIR"):
        Database(blocker / "sub" / "wb.duckdb")


def test_a_second_process_waits_a_bounded_time_then_names_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "held.duckdb"
    Database(path, idle_close_s=0).close()
    with database_held(path) as holder:
        started = time.monotonic()
        with pytest.raises(DatabaseLocked) as caught:
            Database(path, lock_timeout_s=0.5, idle_close_s=0)
        assert time.monotonic() - started < 10
        assert f"PID {holder.pid}" in str(caught.value)
        assert "python" in str(caught.value)
    reopened = Database(path, lock_timeout_s=5, idle_close_s=0)  # free again once it is gone
    reopened.close()


def test_idle_connection_is_released_for_other_processes(tmp_path: Path) -> None:
    db = Database(tmp_path / "idle.duckdb", idle_close_s=0.05)
    with db.cursor() as cur:
        cur.execute("SELECT 1")
    time.sleep(0.3)
    assert not db.is_open
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import duckdb; duckdb.connect({str(db.path)!r}).close(); print('ok')",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.stdout.strip() == "ok"
    db.close()


def test_image_store_refuses_bytes_that_are_not_an_image(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    with pytest.raises(NotAnImage) as html:
        store.put(b"<html>error</html>")
    assert str(html.value) == (
        "The provider returned data that is not an image (18 bytes, type HTML or XML text)."
    )
    with pytest.raises(NotAnImage) as cut:
        store.put(_png(noisy=True)[:3000])  # a download cut short
    assert "(3,000 bytes, type PNG, cut short or damaged)" in str(cut.value)
    assert "object at 0x" not in str(cut.value)
    with pytest.raises(NotAnImage):
        store.put(b"")
    first = store.put(_png())
    assert store.put(_png()) == first  # content-addressed: stored once
    assert store.thumbs.data_uri(first.thumb_path).startswith("data:image/jpeg;base64,")


def _png(noisy: bool = False) -> bytes:
    import io
    import os

    from PIL import Image

    buffer = io.BytesIO()
    if noisy:
        Image.frombytes("RGB", (128, 128), os.urandom(128 * 128 * 3)).save(buffer, format="PNG")
    else:
        Image.new("RGB", (8, 6), (200, 100, 50)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_two_attempts_storing_the_same_image_at_once_both_complete(
    db: Database, tmp_path: Path
) -> None:
    import threading

    log = GenerationLog(db)
    image = ImageStore(tmp_path).put(_png())
    ids = [f"g{i}" for i in range(8)]
    for gid in ids:
        _add(log, gid, "same picture")
    barrier = threading.Barrier(len(ids))
    errors: list[BaseException] = []

    def finish(gid: str) -> None:
        barrier.wait()
        try:
            AttemptLog(log.db).complete(gid, Outcome(status="succeeded", image=image))
        except BaseException as exc:  # collected: a failure must fail the test below
            errors.append(exc)

    threads = [threading.Thread(target=finish, args=(gid,)) for gid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert {log.get(gid).status for gid in ids} == {"succeeded"}
    with db.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM images").fetchone()[0] == 1


def test_a_later_migration_upgrades_a_database_with_data(tmp_path: Path) -> None:
    import shutil

    import duckdb

    from workbench.store.migrations import MIGRATIONS_DIR, apply_migrations

    early = tmp_path / "early"
    early.mkdir()
    files = migration_files()
    for path in files:  # the schema before 0007 gave ratings their model and provider
        if path.name < "0007":
            shutil.copy(path, early / path.name)
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    try:
        apply_migrations(con, early)
        con.execute(
            "INSERT INTO generations (id, created_at, status, model, provider, prompt)"
            " VALUES ('g1', now(), 'succeeded', 'flux-2-pro', 'bfl', 'a kettle')"
        )
        con.execute(
            "INSERT INTO ratings (id, generation_id, criterion, stars)"
            " VALUES (nextval('ratings_id_seq'), 'g1', 'overall', 4)"
        )
        applied = apply_migrations(con, MIGRATIONS_DIR)
        assert applied == [p.stem for p in files]
        row = con.execute("SELECT model, provider, stars FROM latest_ratings").fetchone()
        assert row == ("flux-2-pro", "bfl", 4)  # the upgrade kept and completed the old rating
    finally:
        con.close()


def test_star_aggregates_agree_with_and_without_the_log_join(db: Database) -> None:
    log, ratings = GenerationLog(db), RatingLog(db)
    for i, (model, provider) in enumerate(
        [("flux-2-pro", "bfl"), ("flux-2-pro", "offline"), ("nano-banana-2", "gemini")] * 3
    ):
        _add(log, f"g{i}", "p", model=model, provider=provider, category="portrait")
        ratings.add(f"g{i}", "overall", 1 + i % 5)
        ratings.add(f"g{i}", "overall", 2 + i % 4)  # the newer one counts
    fast = ratings.by_model(HistoryFilter(include_offline=False))
    joined = ratings.by_model(HistoryFilter(include_offline=False, categories=("portrait",)))
    # the same rows; sd may differ in its last bits (DuckDB sums in parallel, in any order), and
    # rounding both sides can still split such a pair across a rounding boundary: compare within
    # a relative tolerance instead
    assert len(fast) == len(joined)
    for a, b in zip(map(asdict, fast), map(asdict, joined), strict=True):
        for key, value in a.items():
            if isinstance(value, float):
                assert b[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
            else:
                assert b[key] == value, key
    assert {r.model: r.n for r in fast} == {"flux-2-pro": 3, "nano-banana-2": 3}


@pytest.mark.parametrize("sort", list(SORTS))
def test_paging_loses_nothing_even_when_rows_share_a_second(db: Database, sort: str) -> None:
    log = GenerationLog(db)
    for i in range(10):
        _add(log, f"p{i:02d}", f"prompt {i}")
    with db.transaction() as cur:  # a fast run: every row in the same instant
        cur.execute("UPDATE generations SET created_at = (SELECT min(created_at) FROM generations)")
    f = HistoryFilter(sort=sort)
    seen = [r.id for offset in (0, 4, 8) for r in log.page(f, limit=4, offset=offset)]
    assert sorted(seen) == [f"p{i:02d}" for i in range(10)]  # all 10, each once
    assert len(seen) == 10


def test_an_idle_workbench_process_gives_the_file_to_another_at_once(tmp_path: Path) -> None:
    path = tmp_path / "shared.duckdb"
    Database(path, idle_close_s=0).close()
    with workbench_holding(path, busy=False):
        started = time.monotonic()
        db = Database(path, lock_timeout_s=5, idle_close_s=0)
        log = GenerationLog(db)
        _add(log, "g1", "written while the other process keeps its connection")
        assert log.count(HistoryFilter()) == 1
        db.close()
        # the holder polls every few ms; far below the 5 s it would wait for a busy holder
        assert time.monotonic() - started < 3


@contextmanager
def _someone_waits(path: Path) -> Iterator[None]:
    """A new database at `path`, and what a process waiting for it holds meanwhile
    (store.file_lock): a shared lock on `.wait`."""
    Database(path, idle_close_s=0).close()
    fd = os.open(Path(str(path) + ".wait"), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_SH)
    try:
        yield
    finally:
        os.close(fd)


def test_a_command_does_its_first_unit_in_the_turn_that_checked_the_schema(
    tmp_path: Path,
) -> None:
    """Opening checks the schema in one turn; the caller's first query (a command's page, ~15 ms
    later) must not give that turn away to a waiting process and queue for a second one, which
    doubled `workbench history`'s wait while runs write."""
    with _someone_waits(tmp_path / "turns.duckdb"):
        db = Database(tmp_path / "turns.duckdb", lock_timeout_s=5, idle_close_s=0.25)
        opens = []
        original = db._turns._connect
        db._turns._connect = (  # type: ignore[method-assign]  # counts reopenings
            lambda started: opens.append(started) or original(started)
        )
        with db.cursor() as cur:
            assert cur.execute("SELECT count(*) FROM generations").fetchone() == (0,)
        assert opens == []  # the schema check's connection served the first unit
        assert not db.is_open  # and the waiting process gets the file right after it
    db.close()


def test_a_process_that_opens_and_does_nothing_gives_way_after_the_grace(tmp_path: Path) -> None:
    with _someone_waits(tmp_path / "grace.duckdb"):
        # Open within the grace: only a look taken less than FIRST_UNIT_GRACE_S after opening
        # began proves it (a busy machine may pause this process longer: then look again).
        for _ in range(10):
            began = time.monotonic()
            db = Database(tmp_path / "grace.duckdb", lock_timeout_s=5, idle_close_s=60)
            open_now, looked = db.is_open, time.monotonic()
            if looked - began < FIRST_UNIT_GRACE_S:
                break
            db.close()
        else:
            pytest.fail("this machine never opened the file within the grace; cannot check")
        assert open_now
        time.sleep(FIRST_UNIT_GRACE_S + 0.2)
        assert not db.is_open  # not the 60 s idle time: someone waits
    db.close()


def test_a_unit_of_work_longer_than_the_timeout_names_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "busy.duckdb"
    Database(path, idle_close_s=0).close()
    with workbench_holding(path, busy=True) as holder:
        with pytest.raises(DatabaseLocked) as caught:
            Database(path, lock_timeout_s=0.5, idle_close_s=0)
        assert f"PID {holder.pid}" in str(caught.value)
        assert "python" in str(caught.value)
    Database(path, lock_timeout_s=5, idle_close_s=0).close()  # a killed holder leaves no lock


def test_a_database_migrated_by_a_newer_workbench_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "newer.duckdb"
    Database(path, idle_close_s=0).close()
    import duckdb

    con = duckdb.connect(str(path))
    con.execute("INSERT INTO _migrations (name) VALUES ('9999_from_the_future')")
    con.close()
    with pytest.raises(StoreError, match="newer version") as caught:
        Database(path, idle_close_s=0)
    assert "9999_from_the_future" in str(caught.value)
    con = duckdb.connect(str(path))  # untouched: nothing was dropped or rolled back
    assert con.execute("SELECT count(*) FROM _migrations").fetchone()[0] == len(
        migration_files()
    ) + 1
    con.close()


def test_two_processes_starting_on_a_new_directory_migrate_once(tmp_path: Path) -> None:
    path = tmp_path / "fresh.duckdb"
    code = (
        "import sys; from workbench.store.db import Database; "
        "db = Database(sys.argv[1], idle_close_s=0); print(len(db.migrations_applied)); db.close()"
    )
    starters = [
        subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    results = [p.communicate(timeout=120) for p in starters]
    assert [p.returncode for p in starters] == [0, 0, 0], results
    assert {out.strip() for out, _ in results} == {str(len(migration_files()))}
    db = Database(path, idle_close_s=0)
    with db.cursor() as cur:
        names = [r[0] for r in cur.execute("SELECT name FROM _migrations").fetchall()]
    db.close()
    assert sorted(names) == [p.stem for p in migration_files()]  # each applied once


def test_one_row_names_the_statement_when_the_database_returns_none() -> None:
    assert one_row((3, 4), "a count") == (3, 4)
    with pytest.raises(StoreError, match="no row for the vote count"):
        one_row(None, "the vote count")


def test_only_this_machines_dead_workers_are_marked_interrupted(db: Database) -> None:
    """A team database is shared by machines: a PID from another machine says nothing here."""
    from workbench.store.attempts import HOST
    from workbench.store.runs import RunLog

    log, runs = GenerationLog(db), RunLog(db)
    dead = 2**22 + 12345  # above Linux's pid_max default: no such process
    for gid, host in (("mine", HOST), ("theirs", "another-machine"), ("old", None)):
        _add(log, gid, "a kite")
        runs.create(f"run-{gid}", "suite", gid, {}, None)
        with db.cursor() as cur:
            cur.execute("UPDATE generations SET worker_pid = ?, worker_host = ? WHERE id = ?",
                        [dead, host, gid])
            cur.execute("UPDATE runs SET worker_pid = ?, worker_host = ? WHERE id = ?",
                        [dead, host, f"run-{gid}"])
    assert AttemptQueue(log.db).mark_interrupted() == 2
    assert runs.mark_interrupted() == 2
    assert {g: log.get(g).status for g in ("mine", "theirs", "old")} == {
        "mine": "interrupted", "theirs": "pending", "old": "interrupted"}
    assert runs.get("run-theirs").status == "running"
