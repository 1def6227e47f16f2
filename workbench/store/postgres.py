"""Team mode: the store on a PostgreSQL server (`WORKBENCH_DATABASE_URL`), with the surface the
store modules and services use on the embedded `Database` (`cursor()`, `transaction()`,
`kept_open()`, `close()`, `backend`, `size_bytes()`, `migrations_applied`, `is_open`).

Connections come from a `psycopg_pool.ConnectionPool` (autocommit, like DuckDB's cursors: a
store module opens a transaction itself with `BEGIN`). A thread's nested `cursor()` blocks share
one connection, so `with db.cursor(): ...` around several store calls is one unit of work here
too. `PgCursor` lets the store's DuckDB-style calls run unchanged: `?` placeholders become
`%s` outside string literals, `%` is escaped, and `fetchone/fetchall/description/df` behave as
there. NUMERIC results (PostgreSQL's `avg` of integers, `sum` of bigints) load as floats.

Faults: the server down at start, wrong credentials, a port that does not speak PostgreSQL and a
missing database each raise a `StoreError` naming host and port (never the password). A pooled
connection cut by a server restart is replaced at the next `cursor()` (the pool checks it).
`TRANSIENT` lists the errors a caller may retry once the server is back.
"""

from __future__ import annotations

import atexit
import logging
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import psycopg_pool
from psycopg.types.numeric import FloatLoader

from workbench.config import DatabaseUrl
from workbench.store.db import StoreError
from workbench.store.migrations import NewerSchema, apply_migrations
from workbench.store.records import DatabaseSession, records

log = logging.getLogger(__name__)

# Errors after which the same write may succeed once the server is back.
TRANSIENT: tuple[type[Exception], ...] = (psycopg.OperationalError, psycopg_pool.PoolTimeout)


def to_pyformat(sql: str) -> str:
    """DuckDB-style `?` placeholders to psycopg's `%s`, leaving string literals, quoted names
    and comments alone; every literal `%` is doubled (psycopg reads `%` as a placeholder)."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in ("'", '"'):
            end = i + 1
            while end < n:
                if sql[end] == ch:
                    if end + 1 < n and sql[end + 1] == ch:  # '' or "" inside the literal
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i:end + 1].replace("%", "%%"))
            i = end + 1
        elif ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif ch == "?":
            out.append("%s")
            i += 1
        elif ch == "%":
            out.append("%%")
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


class PgCursor:
    """A psycopg cursor that answers the store's DuckDB-style calls."""

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cur = cursor

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> PgCursor:
        if params is None:
            self._cur.execute(sql.encode())  # no parameters: may hold several statements
        else:
            self._cur.execute(to_pyformat(sql), list(params))
        return self

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> PgCursor:
        self._cur.executemany(to_pyformat(sql), [list(r) for r in rows])
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._cur.fetchone()

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._cur.fetchall()

    @property
    def description(self) -> list[tuple[Any, ...]] | None:
        found = self._cur.description
        return None if found is None else [(c.name, c.type_code) for c in found]

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    def df(self) -> pd.DataFrame:
        names = [c.name for c in self._cur.description or []]
        return pd.DataFrame(self._cur.fetchall(), columns=names)

    def close(self) -> None:
        self._cur.close()


def process_label(argv: Sequence[str] | None = None) -> str:
    """`workbench <command>` for the server's `application_name` (Status lists sessions by it)."""
    argv = list(sys.argv if argv is None else argv)
    base = Path(argv[0]).name if argv else "python"
    if "streamlit" in base or any(Path(a).name == "app.py" for a in argv[1:3]):
        label = "workbench app"
    elif base == "workbench" and len(argv) > 1:
        label = f"workbench {argv[1]}"
    else:
        label = f"workbench {base}"
    return label[:63]  # PostgreSQL keeps NAMEDATALEN - 1 bytes


def explain_connect_error(url: DatabaseUrl, exc: Exception) -> str:
    """A person's reading of why connecting failed: host and port, never the password."""
    text = str(exc)
    if url.password:
        text = text.replace(url.password, "***")
    lowered = text.lower()
    where = url.where
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        why = (f"the server refused user '{url.user}': wrong password or unknown user. Check "
               "the user and password in WORKBENCH_DATABASE_URL")
    elif f'database "{url.dbname}" does not exist' in text:
        why = (f"it has no database '{url.dbname}'. Create it (createdb {url.dbname}) or fix "
               "the database name in WORKBENCH_DATABASE_URL")
    elif "connection refused" in lowered:
        why = "nothing listens there (connection refused). Is the server running?"
    elif "timeout" in lowered or "timed out" in lowered:
        why = ("no answer in time. Is the server running, and is this its port? A service "
               "that is not PostgreSQL can hold the port without answering")
    elif ("server closed the connection unexpectedly" in lowered
          or "invalid response" in lowered or "unsupported frontend protocol" in lowered
          or "received invalid" in lowered or "expected authentication request" in lowered):
        why = "the service there did not answer as a PostgreSQL server. Is this its port?"
    elif "no pg_hba.conf entry" in lowered:
        why = f"the server does not let user '{url.user}' in from this machine (pg_hba.conf)"
    else:
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        why = first
    # A reason may end in a question ("Is the server running?"): no full stop after it.
    end = "" if why.endswith(("?", ".", "!")) else "."
    return f"Cannot use the team database at {where} ({url.redacted}): {why}{end}"


class PgDatabase:
    dialect = "postgres"
    conflicts: tuple[type[Exception], ...] = (
        psycopg.errors.IntegrityError, psycopg.errors.SerializationFailure,
        psycopg.errors.DeadlockDetected,
    )
    transient = TRANSIENT

    def __init__(
        self,
        url: DatabaseUrl,
        *,
        application_name: str | None = None,
        connect_timeout_s: float = 10.0,
        max_connections: int = 8,
    ) -> None:
        self.url = url
        self.application_name = application_name or process_label()
        self.connect_timeout_s = connect_timeout_s
        self._local = threading.local()
        self._closed = False
        kwargs: dict[str, Any] = {
            **url.connect_kwargs(),
            "application_name": self.application_name,
            "connect_timeout": max(round(connect_timeout_s), 2),
            "autocommit": True,
            # Every timestamp column holds UTC wall time (`utcnow`), defaults included.
            "options": f"{url.connect_kwargs().get('options', '')} -c TimeZone=UTC".strip(),
        }
        # Checked first with one plain connection, so a wrong password, a dead server or a
        # port that is not PostgreSQL gets its own message instead of a pool timeout.
        try:
            with psycopg.connect(**kwargs) as con:
                self._configure(con)
                self.migrations_applied = self._migrate(con)
        except psycopg.Error as exc:
            raise StoreError(explain_connect_error(url, exc)) from None
        except NewerSchema as exc:
            raise StoreError(f"{exc} Database: {url.redacted}") from None
        self._pool = psycopg_pool.ConnectionPool(
            kwargs=kwargs,
            min_size=1,
            max_size=max_connections,
            open=False,
            configure=self._configure,
            check=psycopg_pool.ConnectionPool.check_connection,
            timeout=connect_timeout_s,
            name="workbench",
        )
        self._pool.open(wait=False)
        # Closed on interpreter exit, so the pool's threads stop before the interpreter does.
        atexit.register(self.close)

    @staticmethod
    def _configure(con: psycopg.Connection[Any]) -> None:
        # PostgreSQL's avg() of integers and sum() of bigints are NUMERIC; the store (written
        # against DuckDB, which returns DOUBLE) and its callers expect floats.
        con.adapters.register_loader("numeric", FloatLoader)

    def _migrate(self, con: psycopg.Connection[Any]) -> list[str]:
        cur = PgCursor(con.cursor())
        try:
            return apply_migrations(cur, dialect="postgres")
        finally:
            cur.close()

    # -- lending -------------------------------------------------------------------------------
    @contextmanager
    def cursor(self) -> Iterator[Any]:
        """A cursor for this thread; nested blocks of one thread share its connection."""
        held = getattr(self._local, "con", None)
        if held is not None:
            cur = PgCursor(held.cursor())
            try:
                yield cur
            finally:
                cur.close()
            return
        if self._closed:
            raise StoreError(f"The team database {self.url.redacted} was closed.")
        with self._pool.connection() as con:
            self._local.con = con
            cur = PgCursor(con.cursor())
            try:
                yield cur
            finally:
                self._local.con = None
                cur.close()

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self.cursor() as cur:
            cur.execute("BEGIN")
            try:
                yield cur
            except BaseException:
                # The connection itself may be gone: then there is nothing to undo.
                with suppress(psycopg.Error):
                    cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    @contextmanager
    def kept_open(self) -> Iterator[None]:
        """Nothing to keep: the pool keeps connections open for every unit of work."""
        yield

    def exclusive(self, cur: Any, name: str) -> None:
        """Inside a transaction: wait until no other process holds `name`, then hold it until
        the transaction ends (PostgreSQL's transaction-level advisory lock)."""
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(?))", [f"workbench:{name}"])

    def close(self, wait_s: float = 10.0) -> None:
        if not self._closed:
            self._closed = True
            self._pool.close(timeout=wait_s)

    def wait_until_reachable(self, deadline_s: float) -> bool:
        """Poll the server until it answers or `deadline_s` passes; True once it answers."""
        end = time.monotonic() + deadline_s
        delay = 0.1
        while True:
            try:
                with self.cursor() as cur:
                    cur.execute("SELECT 1").fetchone()
                return True
            except TRANSIENT:
                if time.monotonic() >= end:
                    return False
                time.sleep(min(delay, max(end - time.monotonic(), 0.01)))
                delay = min(delay * 2, 1.0)

    # -- what the Status page shows ------------------------------------------------------------
    @property
    def backend(self) -> str:
        return f"PostgreSQL server {self.url.redacted} (team mode)"

    @property
    def is_open(self) -> bool:
        return not self._closed

    @property
    def location(self) -> str:
        """The server's URL without its password."""
        return self.url.redacted

    def write_stamp(self) -> tuple[Any, ...] | None:
        """The server's write-ahead log insert position (store.memo): every write moves it
        before its commit returns. (Not `pg_current_wal_lsn()`, the position written out so
        far: with `synchronous_commit = off` a commit returns before that moves.) Writes to the
        server's other databases and vacuuming move it too, so it says "maybe changed" more
        often than needed, never less. Any role may read it; a standby cannot (None: nothing
        is remembered there)."""
        try:
            with self.cursor() as cur:
                row = cur.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
        except psycopg.errors.ObjectNotInPrerequisiteState:  # "recovery is in progress"
            return None
        return (row[0],) if row else None

    def size_bytes(self) -> int:
        with self.cursor() as cur:
            row = cur.execute("SELECT pg_database_size(current_database())").fetchone()
        return int(row[0]) if row else 0

    def sessions(self) -> list[DatabaseSession]:
        """The sessions connected to this database: who, from where, since when, doing what."""
        with self.cursor() as cur:
            cursor = cur.execute(
                "SELECT application_name, usename AS user_name, client_addr::text AS client,"
                " backend_start, state FROM pg_stat_activity"
                " WHERE datname = current_database() AND backend_type = 'client backend'"
                " ORDER BY backend_start"
            )
            return records(DatabaseSession, cursor)
