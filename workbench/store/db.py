"""The DuckDB connection: opened for a unit of work, shared by the threads of one process as
cursors, and handed to another process as soon as one waits.

DuckDB lets one process at a time open a database file, so workbench processes take turns
(`store.file_lock`): a process opens the file when a unit of work starts (a page's queries, one
write of a run) and closes it when no cursor is lent any more and either another process is
waiting or `idle_close_s` has passed. Threads of one process that keep the file busy without a
gap give way too once they have held it `max_hold_s` while someone waits. A reader therefore
sees another process's committed rows at its next unit of work. Opening waits up to
`lock_timeout_s` and then raises `DatabaseLocked` naming the holder. "Opening" attaches the file
to the one DuckDB instance the process keeps, and "closing" detaches it (docs/storage.md).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

import duckdb

from workbench.paths import DEFAULT_DATA_UMASK, make_private_dir, make_private_files
from workbench.store.db_turn import (
    CATALOG,
    DRAIN_WAIT_S,
    FIRST_UNIT_GRACE_S,
    DatabaseTurn,
)
from workbench.store.db_turn import (
    DatabaseLocked as DatabaseLocked,
)
from workbench.store.errors import StoreError
from workbench.store.file_lock import FileTurn
from workbench.store.migrations import NewerSchema, apply_migrations
from workbench.store.records import DatabaseSession

log = logging.getLogger(__name__)

def utcnow() -> datetime:
    """Now in UTC without a zone: every timestamp column is UTC wall time."""
    return datetime.now(UTC).replace(tzinfo=None)


class Backend(Protocol):
    """What the store modules and services use of a database, on either backend: the embedded
    `Database` here, or `store.postgres.PgDatabase` in team mode."""

    dialect: str  # "duckdb" | "postgres": for the few statements that differ
    conflicts: tuple[type[Exception], ...]  # a write that raced another one (may be retried)
    transient: tuple[type[Exception], ...]  # the server went away (retry once it is back)
    migrations_applied: list[str]

    def cursor(self) -> AbstractContextManager[Any]: ...
    def transaction(self) -> AbstractContextManager[Any]: ...
    def kept_open(self) -> AbstractContextManager[None]: ...
    def exclusive(self, cur: Any, name: str) -> None: ...
    def wait_until_reachable(self, deadline_s: float) -> bool: ...
    def sessions(self) -> list[DatabaseSession]: ...
    def size_bytes(self) -> int: ...
    def write_stamp(self) -> tuple[Any, ...] | None: ...
    def close(self, wait_s: float = 10.0) -> None: ...
    @property
    def backend(self) -> str: ...
    @property
    def location(self) -> str: ...
    @property
    def is_open(self) -> bool: ...


_T = TypeVar("_T")
RACE_DELAYS = (0.005, 0.02, 0.05, 0.1, 0.25, 0.5)


def retry_conflicts(
    conflicts: tuple[type[Exception], ...],
    work: Callable[[], _T],
    delays: tuple[float, ...] = RACE_DELAYS,
) -> _T:
    """`work()` (one whole transaction), done again after a short pause each time it raced
    another write (`Backend.conflicts`); the last conflict is raised when the pauses run out."""
    for delay in (*delays, None):
        try:
            return work()
        except conflicts:
            if delay is None:
                raise
            time.sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")


def one_row(row: tuple[Any, ...] | None, what: str) -> tuple[Any, ...]:
    """The row of a statement that always yields exactly one (an aggregate without GROUP BY,
    INSERT ... RETURNING): DuckDB's `fetchone()` is typed as possibly None, and None here would
    mean the database broke that guarantee, so say which statement did rather than fail on
    indexing None."""
    if row is None:
        raise StoreError(f"The database returned no row for {what}; expected exactly one.")
    return row


class Database:
    dialect = "duckdb"
    # What a write that raced another one raises (a retry may succeed); nothing here is lost to
    # a dropped connection, there is none.
    conflicts: tuple[type[Exception], ...] = (
        duckdb.ConstraintException, duckdb.TransactionException,
    )
    transient: tuple[type[Exception], ...] = ()

    def __init__(
        self,
        path: Path,
        *,
        lock_timeout_s: float = 10.0,
        idle_close_s: float = 2.0,
        max_hold_s: float = 0.05,
        data_umask: int = DEFAULT_DATA_UMASK,
    ) -> None:
        self.path = Path(path)
        self.lock_timeout_s = lock_timeout_s
        self.idle_close_s = idle_close_s
        self.max_hold_s = max_hold_s
        self._mine = threading.local()  # this thread's lease depth (nested cursors)
        try:
            # Private by default (workbench/paths.py): created 0700, an existing one narrowed.
            make_private_dir(self.path.parent, data_umask, fix_existing=True)
        except OSError as exc:
            raise StoreError(
                f"Cannot use the data directory {self.path.parent}: cannot create it "
                f"({exc.strerror}). "
                "Set WORKBENCH_DATA_DIR to a folder you can write to."
            ) from exc
        try:
            file = FileTurn(self.path)
            file.others_waiting()  # creates the lock files: fails here if unwritable
        except OSError as exc:
            raise StoreError(
                f"Cannot use the data directory {self.path.parent}: cannot write its lock "
                f"files ({exc.strerror}). "
                "Set WORKBENCH_DATA_DIR to a folder you can write to."
            ) from exc
        self._turns = DatabaseTurn(
            self.path, file, lock_timeout_s=lock_timeout_s, idle_close_s=idle_close_s,
            max_hold_s=max_hold_s,
        )
        # Migrations run inside one turn: a second process starting at the same moment waits
        # for the file and then finds them applied.
        with self.cursor() as cur:
            try:
                self.migrations_applied = apply_migrations(cur)
            except NewerSchema as exc:
                raise StoreError(f"{exc} Database: {self.path}") from None
            self._turns.first_unit_by = time.monotonic() + FIRST_UNIT_GRACE_S
        # DuckDB and the lock files are created 0666 less the umask: the data's own mask.
        make_private_files(
            [
                self.path,
                Path(f"{self.path}.wal"),
                file.lock_path,
                file.wait_path,
            ],
            data_umask,
        )
        # Close on interpreter exit so the file lock and WAL are released cleanly.
        atexit.register(self.close)

    # -- lending ---------------------------------------------------------------------------------
    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor for this thread; the file stays open while any cursor is lent."""
        depth = getattr(self._mine, "depth", 0)
        turns = self._turns
        with turns.cond:
            if depth == 0:
                # Another process is owed a turn: let the cursors already lent finish first.
                # Bounded, because a lent cursor may itself wait for this thread's work.
                give_up = time.monotonic() + DRAIN_WAIT_S
                while turns.draining and (left := give_up - time.monotonic()) > 0:
                    turns.cond.wait(left)
            if turns.con is None:
                turns.con = turns.open()
            elif depth == 0 and turns.leases == 0:
                turns.first_unit_by = 0.0  # the caller's first unit has begun
            turns.leases += 1
            self._mine.depth = depth + 1
            try:
                cur = self._cursor_for(depth)
            except BaseException:
                self._release_lease()
                raise
        try:
            yield cur
        except BaseException:
            if not depth:  # whatever state it was left in, the next unit starts afresh
                with turns.cond:
                    self._mine.cursor = None
                    turns.drop_kept(cur)
            raise
        finally:
            if depth:
                cur.close()
            with turns.cond:
                self._release_lease()

    def _cursor_for(self, depth: int) -> duckdb.DuckDBPyConnection:
        """This thread's kept cursor of this turn for its outermost unit of work (a nested
        one gets its own, as its own connection); with `cond` held."""
        turns, mine = self._turns, self._mine
        assert turns.con is not None
        if depth:
            cur = turns.con.cursor()
            try:
                cur.execute(f"USE {CATALOG}")  # a cursor starts in the instance's own catalog
            except BaseException:
                cur.close()
                raise
            return cur
        if getattr(mine, "turn", None) != turns.turn or mine.cursor is None:
            mine.cursor, mine.turn = turns.kept_cursor(turns.con), turns.turn
        return mine.cursor

    def _release_lease(self) -> None:
        self._turns.leases -= 1
        self._mine.depth -= 1
        if not self._turns.leases:
            self._turns.none_lent()

    @contextmanager
    def kept_open(self) -> Iterator[None]:
        """Between the units of work inside this block (a run's writes), keep the file open
        while no other process waits, instead of paying to reopen it for each one; a waiting
        process still gets it at the end of the current unit."""
        turns = self._turns
        with turns.cond:
            turns.keep += 1
        try:
            yield
        finally:
            with turns.cond:
                turns.keep -= 1
                if not turns.keep and not turns.leases and self.idle_close_s <= 0:
                    turns.close_locked()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.cursor() as cur:
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def close(self, wait_s: float = 10.0) -> None:
        """Close once no cursor is lent; wait up to `wait_s` for one still at work (closing
        under a running query aborts the process), then give up and leave it open."""
        deadline = time.monotonic() + wait_s
        turns = self._turns
        with turns.cond:
            while turns.leases:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    log.warning("%s is still in use; not closing it", self.path)
                    return
                turns.cond.wait(min(remaining, 0.05))
            turns.close_for_good()

    def exclusive(self, cur: Any, name: str) -> None:
        """Inside a transaction: hold `name` until it ends. Nothing to do here, since one
        process at a time has the file and a store module orders its own threads."""

    def sessions(self) -> list[DatabaseSession]:
        """Sessions connected: an embedded file has none to list (processes take turns)."""
        return []

    def wait_until_reachable(self, deadline_s: float) -> bool:
        """A file is always there (the protocol's answer for a server that went away)."""
        return True

    @property
    def backend(self) -> str:
        """What the Status page says about the database in use."""
        return (
            "embedded DuckDB file; workbench processes on this machine take turns on it, "
            "one short unit of work at a time"
        )

    @property
    def is_open(self) -> bool:
        return self._turns.con is not None

    @property
    def location(self) -> str:
        return str(self.path)

    def size_bytes(self) -> int:
        total = 0
        for suffix in ("", ".wal"):
            candidate = Path(str(self.path) + suffix)
            if candidate.exists():
                total += candidate.stat().st_size
        return total

    def write_stamp(self) -> tuple[Any, ...] | None:
        """What changes whenever any process commits: the size and modification time of the
        database file and of its write-ahead log (store.memo)."""
        stamp: list[Any] = []
        for suffix in ("", ".wal"):
            try:
                found = Path(str(self.path) + suffix).stat()
            except FileNotFoundError:
                stamp.append(None)
            else:
                stamp.append((found.st_size, found.st_mtime_ns))
        return tuple(stamp)
