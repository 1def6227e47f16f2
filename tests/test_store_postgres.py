"""Team mode's faults against the session's real PostgreSQL server: a malformed URL, a server
that is down, wrong credentials, a port that does not speak PostgreSQL, a newer schema, two
processes migrating at once, an unwritable data directory, the server dying in the middle of a
run (outcomes retried, or journalled and replayed), and the password kept out of everything
shown."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from harness.pg_cluster import SECRET_PASSWORD, SECRET_ROLE, PgCluster, free_port
from workbench.config import ConfigError, load_settings, parse_database_url
from workbench.domain.filters import HistoryFilter
from workbench.redact import redact
from workbench.services.team.status import status
from workbench.services.workbench import open_workbench
from workbench.store.attempts import AttemptLog, NewGeneration, Outcome
from workbench.store.backend import _check_writable
from workbench.store.db import StoreError
from workbench.store.journal import JOURNAL_NAME
from workbench.store.migrations import MIGRATION_LOCK_KEY, migration_files
from workbench.store.postgres import PgDatabase, process_label, to_pyformat


def _settings(tmp_path: Path, url: str, **env: str):
    return load_settings(
        env={"WORKBENCH_DATA_DIR": str(tmp_path / "data"), "WORKBENCH_DATABASE_URL": url,
             "WORKBENCH_LOCK_TIMEOUT_S": "3", **env},
        secrets_file=tmp_path / "none.toml",
    )


def _secret_url(pg_server: PgCluster, pg_url: str, password: str = SECRET_PASSWORD) -> str:
    """The URL of a database owned by the role that needs a password (PostgreSQL 15 lets only
    a database's owner create tables in its public schema)."""
    dbname = pg_url.rsplit("/", 1)[1]
    pg_server.sql(f"ALTER DATABASE {dbname} OWNER TO {SECRET_ROLE}")
    pg_server.sql(f"ALTER SCHEMA public OWNER TO {SECRET_ROLE}", dbname)
    return pg_server.url(dbname, user=SECRET_ROLE, password=password)


# -- the URL -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("mysql://me:hunter22@db.example/log", "must start with postgresql://"),
        ("postgresql://db.example:5432/log", "names no user"),
        ("postgresql://me:hunter22@:5432/log", "names no host"),
        ("postgresql://me:hunter22@db.example:port/log", "host or port cannot be read"),
        ("postgresql://me:hunter22@db.example:5432/", "names no database"),
        ("postgresql://me:hunter22@db.example:99999/log", "host or port cannot be read"),
    ],
)
def test_a_malformed_url_is_refused_without_repeating_it(url: str, why: str,
                                                         tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _settings(tmp_path, url)
    assert why in str(caught.value)
    assert "hunter22" not in str(caught.value)
    assert "postgresql://user[:password]@host[:port]/database" in str(caught.value)


def test_the_url_is_shown_only_without_its_password() -> None:
    url = parse_database_url("postgresql://ann:s%40cret-9@db.example:6543/team?sslmode=require")
    assert (url.user, url.password, url.host, url.port, url.dbname) == (
        "ann", "s@cret-9", "db.example", 6543, "team")
    assert url.redacted == "postgresql://ann:***@db.example:6543/team?sslmode=require"
    assert "s@cret-9" not in repr(url) and "s@cret-9" not in url.redacted
    assert url.connect_kwargs()["password"] == "s@cret-9"  # only the driver gets it


def test_placeholders_become_pyformat_outside_literals() -> None:
    assert to_pyformat("SELECT ? WHERE a LIKE '50%?' AND b = ? -- why?\n") == (
        "SELECT %s WHERE a LIKE '50%%?' AND b = %s -- why?\n"
    )
    assert to_pyformat("SELECT 'it''s ?', \"odd?name\", ? % 2") == (
        "SELECT 'it''s ?', \"odd?name\", %s %% 2"
    )


# -- connecting ----------------------------------------------------------------------------------
def test_a_server_that_is_down_is_named_by_host_and_port(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    settings = _settings(tmp_path, f"postgresql://ann:hunter22@127.0.0.1:{port}/team")
    with pytest.raises(StoreError) as caught:
        open_workbench(settings)
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message
    assert "connection refused" in message and "Is the server running?" in message
    assert "hunter22" not in message


def test_wrong_credentials_get_a_clear_message(pg_server: PgCluster, pg_url: str,
                                               tmp_path: Path) -> None:
    url = _secret_url(pg_server, pg_url, password="not-the-password")
    with pytest.raises(StoreError) as caught:
        open_workbench(_settings(tmp_path, url))
    message = str(caught.value)
    assert f"refused user '{SECRET_ROLE}': wrong password or unknown user" in message
    assert "not-the-password" not in message
    assert f"127.0.0.1:{pg_server.port}" in message


@contextmanager
def _impostor(behaviour: str) -> Iterator[int]:
    """A TCP service that is not PostgreSQL: it closes at once, or answers like an HTTP
    server."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                con, _ = server.accept()
            except OSError:
                continue
            with con:
                if behaviour == "http":
                    con.recv(1024)
                    con.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        server.close()


@pytest.mark.parametrize("behaviour", ["close", "http"])
def test_a_port_that_is_not_postgresql_is_said_to_be_so(behaviour: str, tmp_path: Path) -> None:
    with _impostor(behaviour) as port:
        settings = _settings(tmp_path, f"postgresql://ann:hunter22@127.0.0.1:{port}/team")
        with pytest.raises(StoreError) as caught:
            open_workbench(settings)
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message
    assert "did not answer as a PostgreSQL server" in message, message
    assert "hunter22" not in message


def test_a_database_that_does_not_exist_says_how_to_create_it(pg_server: PgCluster,
                                                              tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"has no database 'nowhere'\. Create it"):
        open_workbench(_settings(tmp_path, pg_server.url("nowhere")))


def test_an_unwritable_data_directory_is_refused_in_team_mode(pg_url: str,
                                                              tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings = load_settings(
        env={"WORKBENCH_DATA_DIR": str(blocker / "data"), "WORKBENCH_DATABASE_URL": pg_url},
        secrets_file=tmp_path / "none.toml",
    )
    with pytest.raises(StoreError, match="the images still live there"):
        open_workbench(settings)


# -- migrations ----------------------------------------------------------------------------------
def test_a_team_database_migrated_by_a_newer_workbench_is_refused(pg_url: str,
                                                                  tmp_path: Path) -> None:
    PgDatabase(parse_database_url(pg_url)).close()
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("INSERT INTO _migrations (name) VALUES ('9999_from_the_future')")
    with pytest.raises(StoreError, match="newer version") as caught:
        open_workbench(_settings(tmp_path, pg_url))
    assert "9999_from_the_future" in str(caught.value)
    with psycopg.connect(pg_url) as con:  # untouched: nothing dropped or rolled back
        count = con.execute("SELECT count(*) FROM _migrations").fetchone()
    assert count == (len(migration_files()) + 1,)


def test_an_older_team_database_is_migrated_forward_with_its_data(pg_url: str,
                                                                  tmp_path: Path) -> None:
    import shutil

    from workbench.store.migrations import MIGRATIONS_DIR, apply_migrations
    from workbench.store.postgres import PgCursor

    early = tmp_path / "early"
    (early / "postgres").mkdir(parents=True)
    for path in migration_files():  # the schema before 0007 gave ratings their model
        if path.name < "0007":
            shutil.copy(path, early / path.name)
            override = MIGRATIONS_DIR / "postgres" / path.name
            if override.exists():
                shutil.copy(override, early / "postgres" / path.name)
    with psycopg.connect(pg_url, autocommit=True) as con:
        cur = PgCursor(con.cursor())
        apply_migrations(cur, early, dialect="postgres")
        cur.execute("INSERT INTO generations (id, created_at, status, model, provider, prompt)"
                    " VALUES ('g1', now(), 'succeeded', 'flux-2-pro', 'bfl', 'a kettle')")
        cur.execute("INSERT INTO ratings (id, generation_id, criterion, stars)"
                    " VALUES (nextval('ratings_id_seq'), 'g1', 'overall', 4)")
    db = PgDatabase(parse_database_url(pg_url))
    assert db.migrations_applied == [p.stem for p in migration_files()]
    with db.cursor() as cur:
        row = cur.execute("SELECT model, provider, stars FROM latest_ratings").fetchone()
    db.close()
    assert row == ("flux-2-pro", "bfl", 4)


def test_two_processes_migrating_at_once_apply_once_and_the_second_waits(pg_url: str) -> None:
    code = (
        "import sys; from workbench.config import parse_database_url;"
        " from workbench.store.postgres import PgDatabase;"
        " db = PgDatabase(parse_database_url(sys.argv[1])); print(len(db.migrations_applied));"
        " db.close()"
    )
    with psycopg.connect(pg_url, autocommit=True) as holder:
        # Hold the migrations' lock as a third process in the middle of migrating would.
        holder.execute("BEGIN")
        holder.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATION_LOCK_KEY])
        starters = [
            subprocess.Popen([sys.executable, "-c", code, pg_url], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        give_up = time.monotonic() + 120
        waiting = (0,)
        while waiting != (2,) and time.monotonic() < give_up:
            time.sleep(0.2)
            waiting = holder.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).fetchone()
        assert waiting == (2,)  # both wait for the lock
        assert [p.poll() for p in starters] == [None, None]
        holder.execute("COMMIT")
    results = [p.communicate(timeout=120) for p in starters]
    assert [p.returncode for p in starters] == [0, 0], results
    assert {out.strip() for out, _ in results} == {str(len(migration_files()))}
    with psycopg.connect(pg_url) as con:
        names = [r[0] for r in con.execute("SELECT name FROM _migrations").fetchall()]
    assert sorted(names) == [p.stem for p in migration_files()]  # each applied once


# -- the password is never shown -----------------------------------------------------------------
def test_status_and_errors_show_the_team_database_without_its_password(
    pg_server: PgCluster, pg_url: str, tmp_path: Path
) -> None:
    url = _secret_url(pg_server, pg_url)
    wb = open_workbench(_settings(tmp_path, url))
    try:
        facts = status(wb)
        shown = repr(facts) + repr(wb.settings) + repr(wb.db.url)
        assert SECRET_PASSWORD not in shown
        assert f"postgresql://{SECRET_ROLE}:***@127.0.0.1:{pg_server.port}/" in facts.backend
        assert facts.db_bytes > 1_000_000  # pg_database_size of a migrated database
        assert facts.migrations == [p.stem for p in migration_files()]
        assert any(s.application_name.startswith("workbench ") for s in facts.sessions)
        assert redact(f"failed: {url}", wb.settings) == f"failed: {url}".replace(
            SECRET_PASSWORD, "[redacted]")
    finally:
        wb.close()


def test_each_process_names_itself_for_the_sessions_list() -> None:
    assert process_label(["/x/.venv/bin/workbench", "run", "quick"]) == "workbench run"
    assert process_label(["/x/bin/streamlit", "run", "app.py"]) == "workbench app"
    assert process_label(["bench/history.py"]) == "workbench history.py"


# -- the server goes away in the middle of a run ------------------------------------------------
def _pending(log: AttemptLog, n: int) -> list[str]:
    ids = [f"paid{i}" for i in range(n)]
    for gid in ids:
        log.insert_pending(NewGeneration(id=gid, model="nano-banana-2", provider="gemini",
                                         prompt="a kite", prompt_written="a kite"))
    return ids


def _paid(gid: str) -> Outcome:
    return Outcome(status="succeeded", cost_usd=0.039, cost_kind="known", latency_ms=900.0,
                   provider_request_id=f"req-{gid}")


@pytest.fixture(scope="module")
def crashable_server() -> Iterator[PgCluster]:
    """A server of these tests' own, which they crash and start again (not the session's)."""
    server = PgCluster(crashable=True).start()
    yield server
    server.stop()


@pytest.fixture
def crashable(crashable_server: PgCluster) -> PgCluster:
    """The crashable server, running (a failed test may have left it down)."""
    if not crashable_server.running:
        crashable_server.resume()
    return crashable_server


def test_outcomes_written_while_the_server_restarts_are_kept(
    tmp_path: Path, crashable: PgCluster
) -> None:
    server = crashable
    url = server.create_database("restarts")
    wb = open_workbench(_settings(tmp_path, url, WORKBENCH_DB_RECONNECT_S="60",
                                  WORKBENCH_LOCK_TIMEOUT_S="2"))
    ids = _pending(wb.attempts, 3)
    wb.attempts.complete(ids[0], _paid(ids[0]))
    server.halt("immediate")  # a crash: every connection cut, no shutdown
    writer = threading.Thread(
        target=lambda: [wb.attempts.complete(g, _paid(g)) for g in ids[1:]]
    )
    writer.start()
    # Away twice as long as the pool waits for a connection (WORKBENCH_LOCK_TIMEOUT_S=2 here):
    # only `complete`'s own retry keeps the outcome.
    time.sleep(4)
    assert writer.is_alive()  # waiting for the server, not failing the job
    server.resume()
    writer.join(60)
    assert not writer.is_alive()
    rows = {r.id: r for r in wb.log.page(HistoryFilter(), limit=10)}
    assert {g: rows[g].status for g in ids} == dict.fromkeys(ids, "succeeded")
    assert [rows[g].cost_usd for g in ids] == [0.039] * 3
    assert wb.attempts.journalled == 0
    assert not (tmp_path / "data" / JOURNAL_NAME).exists()
    wb.close()


def test_outcomes_are_journalled_when_the_server_stays_away_and_replayed_at_the_next_start(
    tmp_path: Path, crashable: PgCluster
) -> None:
    server = crashable
    url = server.create_database("journal")
    settings = _settings(tmp_path, url, WORKBENCH_DB_RECONNECT_S="1")
    wb = open_workbench(settings)
    ids = _pending(wb.attempts, 2)
    server.halt("immediate")
    for gid in ids:
        wb.attempts.complete(gid, _paid(gid))  # returns: kept in the journal, not lost
    assert wb.attempts.journalled == 2
    journal = tmp_path / "data" / JOURNAL_NAME
    assert len(journal.read_text().splitlines()) == 2
    wb.close()
    server.resume()
    again = open_workbench(settings)  # the next start replays the journal
    try:
        rows = {r.id: r for r in again.log.page(HistoryFilter(), limit=10)}
        assert {g: rows[g].status for g in ids} == dict.fromkeys(ids, "succeeded")
        assert rows[ids[0]].cost_usd == 0.039
        assert not journal.exists()
    finally:
        again.close()


# -- the Leaderboard's summary -------------------------------------------------------------------
def test_the_leaderboard_summary_follows_every_write_and_matches_the_log(pg_url: str,
                                                                        tmp_path: Path) -> None:
    from datetime import date

    wb = open_workbench(_settings(tmp_path, pg_url))
    try:
        log = wb.attempts
        for i in range(60):
            model = ("nano-banana-2", "flux-2-pro", "flux-2-max")[i % 3]
            log.insert_pending(NewGeneration(
                id=f"g{i}", model=model, provider="gemini" if i % 3 == 0 else "bfl",
                prompt=f"p{i}", prompt_written=f"p{i}", category=("portrait", None)[i % 2]))
            if i % 10 == 9:
                continue  # still pending: not in the table
            status = "failed" if i % 7 == 0 else "moderated" if i % 11 == 0 else "succeeded"
            log.complete(f"g{i}", Outcome(
                status=status, latency_ms=500.0 + 137.0 * i if status == "succeeded" else None,
                cost_usd=0.04 if status == "succeeded" and i % 4 else None,
                cost_kind="estimated" if i % 5 == 0 else "known"))
        log.complete("g1", Outcome(status="failed", error_kind="server"))  # rewritten later
        # the workbench's own failures leave the model's attempts, whichever way they arrive
        log.complete("g4", Outcome(status="failed", error_kind="storage", cost_usd=0.04))
        log.complete("g5", Outcome(status="failed", error_kind="internal"))
        log.complete("g5", Outcome(status="failed", error_kind="server"))  # the model's after all
        with wb.db.cursor() as cur:
            cur.execute("DELETE FROM generations WHERE id = 'g2'")
        for f in (HistoryFilter(), HistoryFilter(categories=("portrait",), include_offline=False)):
            summary = wb.performance.by_model(f)
            # a date bound the summary cannot answer: the same rows aggregated from the log
            exact = wb.performance.by_model(f.model_copy(update={"date_from": date(2000, 1, 1)}))
            assert [r.model for r in summary] == [r.model for r in exact]
            for s, e in zip(summary, exact, strict=True):
                for key in ("attempts", "succeeded", "failed", "moderated",
                            "cost_has_estimates"):
                    assert getattr(s, key) == getattr(e, key), (key, s, e)
                for key in ("cost_total_usd", "cost_per_image_usd"):
                    assert getattr(s, key) == pytest.approx(getattr(e, key), rel=1e-9), (key, s, e)
                for key in ("latency_median_ms", "latency_p95_ms"):
                    # each rank's value is its 2%-wide bucket's centre
                    assert getattr(s, key) == pytest.approx(getattr(e, key), rel=0.01), (key, s, e)
            assert sum(r.attempts for r in exact) > 20
        everyone = {r.model: r for r in wb.performance.by_model(HistoryFilter())}
        with wb.db.cursor() as cur:
            rows = cur.execute(
                "SELECT model, count(*) FILTER (WHERE status IN ('succeeded', 'failed',"
                " 'moderated') AND id <> 'g4') FROM generations GROUP BY model").fetchall()
        assert {m: r.attempts for m, r in everyone.items()} == dict(rows)
        # Rebuilt from the log (after a bulk load, and by the migration): the same figures.
        with wb.db.cursor() as cur:
            cur.execute("SELECT generation_summary_rebuild()")
        wb.performance.memo.forget()
        assert wb.performance.by_model(HistoryFilter()) == list(everyone.values())
    finally:
        wb.close()


def test_processes_starting_at_once_all_pass_the_data_directory_check(tmp_path: Path) -> None:
    """Team mode checks at start that the image folder is writable; with one shared probe
    name, one process removed another's probe and that one refused to start (seen as a run
    failing beside another in tests/test_spending.py)."""
    settings = load_settings(env={"WORKBENCH_DATA_DIR": str(tmp_path / "d")},
                             secrets_file=tmp_path / "none.toml")
    failures: list[StoreError] = []

    def start_many() -> None:
        for _ in range(300):
            try:
                _check_writable(settings)
            except StoreError as exc:
                failures.append(exc)

    starters = [threading.Thread(target=start_many) for _ in range(4)]
    for starter in starters:
        starter.start()
    for starter in starters:
        starter.join()
    assert failures == []
    assert list((tmp_path / "d").iterdir()) == []  # no probe left behind
