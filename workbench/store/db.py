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
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

import duckdb

from workbench.errors import WorkbenchError
from workbench.paths import DEFAULT_DATA_UMASK, make_private_dir, make_private_files
from workbench.store.file_lock import FileTurn, LockTimeout
from workbench.store.migrations import NewerSchema, apply_migrations

log = logging.getLogger(__name__)

# After giving the file to a waiting process, wait this long before asking for it again, so the
# waiter (which polls every few ms) gets its turn instead of this process taking it straight back.
GIVE_WAY_S = 0.01
# How often an open connection checks whether another process waits.
WATCH_S = 0.005
# The longest a new unit of work waits for this process's other cursors to let the file go.
DRAIN_WAIT_S = 1.0
# After opening (the schema check), how long the file stays this process's although another one
# waits, so the caller's first unit of work (a command's query, ~15 ms later) happens in the
# same turn instead of queueing behind every other process for a second one.
FIRST_UNIT_GRACE_S = 0.1


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
    def sessions(self) -> list[dict[str, Any]]: ...
    def size_bytes(self) -> int: ...
    def write_stamp(self) -> tuple[Any, ...] | None: ...
    def close(self, wait_s: float = 10.0) -> None: ...
    @property
    def backend(self) -> str: ...
    @property
    def location(self) -> str: ...
    @property
    def is_open(self) -> bool: ...


class StoreError(WorkbenchError, RuntimeError):
    """The data directory or database cannot be used; the message says why and what to do."""


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


class DatabaseLocked(StoreError):
    def __init__(self, path: Path, holder: str, waited_s: float) -> None:
        super().__init__(
            f"The database {path} is in use by another process ({holder}); waited "
            f"{waited_s:.0f} s. Finish or stop that process, or point WORKBENCH_DATA_DIR "
            "at another folder."
        )
        self.holder = holder


_LOCK_HOLDER = re.compile(r"PID (\d+)")
_CATALOG = "workbench"  # the name the file is attached under


def _describe_holder(message: str) -> str:
    match = _LOCK_HOLDER.search(message)
    if not match:
        return "unknown process"
    pid = match.group(1)
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        cmd = " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)
    except OSError:
        cmd = ""
    return f"PID {pid}: {cmd[:120]}" if cmd else f"PID {pid}"


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc)
    return "Could not set lock" in text or "Conflicting lock" in text


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
        self._cond = threading.Condition()
        # One DuckDB instance for the process's lifetime, the file attached to it for each turn:
        # creating an instance costs ~35 ms (even in memory), attaching and detaching a file
        # ~3 ms, and every process pays the difference once per turn.
        self._instance: duckdb.DuckDBPyConnection | None = None
        self._con: duckdb.DuckDBPyConnection | None = None  # the instance while the file is in
        self._leases = 0
        self._mine = threading.local()  # this thread's lease depth (nested cursors)
        self._opened_at = 0.0
        self._idle_since = 0.0
        self._draining = False
        self._gave_way_at = 0.0
        self._watcher: threading.Thread | None = None
        self._keep = 0  # units of work that asked to keep the file between them
        self._first_unit_by = 0.0  # until then, a waiting process does not take the file back
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
            self._turn = FileTurn(self.path)
            self._turn.others_waiting()  # creates the lock files: fails here if unwritable
        except OSError as exc:
            raise StoreError(
                f"Cannot use the data directory {self.path.parent}: cannot write its lock "
                f"files ({exc.strerror}). "
                "Set WORKBENCH_DATA_DIR to a folder you can write to."
            ) from exc
        # Migrations run inside one turn: a second process starting at the same moment waits
        # for the file and then finds them applied.
        with self.cursor() as cur:
            try:
                self.migrations_applied = apply_migrations(cur)
            except NewerSchema as exc:
                raise StoreError(f"{exc} Database: {self.path}") from None
            self._first_unit_by = time.monotonic() + FIRST_UNIT_GRACE_S
        # DuckDB and the lock files are created 0666 less the umask: the data's own mask.
        make_private_files(
            [
                self.path,
                Path(f"{self.path}.wal"),
                self._turn.lock_path,
                self._turn.wait_path,
            ],
            data_umask,
        )
        # Close on interpreter exit so the file lock and WAL are released cleanly.
        atexit.register(self.close)

    # -- opening and closing (called with self._cond held) --------------------------------------
    def _open(self) -> duckdb.DuckDBPyConnection:
        pause = self._gave_way_at + GIVE_WAY_S - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        started = time.monotonic()
        try:
            self._turn.acquire(self.lock_timeout_s)
        except LockTimeout as exc:
            raise DatabaseLocked(self.path, exc.holder, exc.waited_s) from None
        except OSError as exc:
            raise StoreError(
                f"Cannot lock the database {self.path}: {exc.strerror}. "
                "Set WORKBENCH_DATA_DIR to a folder you can write to."
            ) from exc
        try:
            con = self._connect(started)
        except BaseException:
            self._turn.release()
            raise
        self._opened_at = time.monotonic()
        if self._watcher is None:
            self._watcher = threading.Thread(
                target=self._watch, name=f"db-turn-{self.path.name}", daemon=True
            )
            self._watcher.start()
        return con

    def _connect(self, started: float) -> duckdb.DuckDBPyConnection:
        # A process outside this protocol (an older workbench, the duckdb shell) may still hold
        # the file: wait for it within the same time limit.
        deadline = started + self.lock_timeout_s
        delay = 0.05
        literal = "'" + str(self.path).replace("'", "''") + "'"  # ATTACH takes no parameter
        while True:
            try:
                if self._instance is None:
                    self._instance = duckdb.connect(":memory:")
                self._instance.execute(f"ATTACH {literal} AS {_CATALOG}")
                self._instance.execute(f"USE {_CATALOG}")
                return self._instance
            except duckdb.IOException as exc:
                if not _is_lock_error(exc):
                    raise StoreError(f"Cannot open the database {self.path}: {exc}") from exc
                if time.monotonic() >= deadline:
                    raise DatabaseLocked(
                        self.path, _describe_holder(str(exc)), time.monotonic() - started
                    ) from None
                time.sleep(min(delay, max(deadline - time.monotonic(), 0.01)))
                delay = min(delay * 2, 0.5)
            except duckdb.Error as exc:
                raise StoreError(f"Cannot open the database {self.path}: {exc}") from exc

    def _close_locked(self, *, giving_way: bool = False) -> bool:
        if self._con is not None:
            try:
                # Detaching writes the log's changes into the file (as closing did) and lets go
                # of DuckDB's own lock on it.
                self._con.execute("USE memory")
                self._con.execute(f"DETACH {_CATALOG}")
            except duckdb.Error as exc:  # still busy: leave it to the process's end
                log.warning("could not close %s: %s", self.path, exc)
                self._draining = False
                self._cond.notify_all()
                return False
            self._con = None
        self._turn.release()
        if giving_way:
            self._gave_way_at = time.monotonic()
        self._draining = False
        self._cond.notify_all()
        return True

    def _watch(self) -> None:
        """While the file is open: give it up when idle and another process waits (or after
        `idle_close_s`), and stop lending new cursors when threads of this process have kept it
        busy for `max_hold_s` while someone waits."""
        while True:
            time.sleep(WATCH_S)
            with self._cond:
                if self._con is None:
                    self._watcher = None
                    return
                now = time.monotonic()
                waiting = now >= self._first_unit_by and self._turn.others_waiting()
                if self._leases == 0:
                    idle_long = not self._keep and now - self._idle_since >= self.idle_close_s
                    if waiting or idle_long:
                        self._close_locked(giving_way=waiting)
                elif waiting and now - self._opened_at >= self.max_hold_s:
                    self._draining = True

    # -- lending ---------------------------------------------------------------------------------
    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor for this thread; the file stays open while any cursor is lent."""
        depth = getattr(self._mine, "depth", 0)
        with self._cond:
            if depth == 0:
                # Another process is owed a turn: let the cursors already lent finish first.
                # Bounded, because a lent cursor may itself wait for this thread's work.
                give_up = time.monotonic() + DRAIN_WAIT_S
                while self._draining and (left := give_up - time.monotonic()) > 0:
                    self._cond.wait(left)
            if self._con is None:
                self._con = self._open()
            elif depth == 0 and self._leases == 0:
                self._first_unit_by = 0.0  # the caller's first unit has begun
            self._leases += 1
            self._mine.depth = depth + 1
            try:
                cur = self._con.cursor()
                cur.execute(f"USE {_CATALOG}")  # a cursor starts in the instance's own catalog
            except BaseException:
                self._release_lease()
                raise
        try:
            yield cur
        finally:
            cur.close()
            with self._cond:
                self._release_lease()

    def _release_lease(self) -> None:
        self._leases -= 1
        self._mine.depth -= 1
        if self._leases:
            return
        self._idle_since = time.monotonic()
        if self._draining:
            self._close_locked(giving_way=True)
        elif self.idle_close_s <= 0 and not self._keep:
            self._close_locked()
        elif time.monotonic() >= self._first_unit_by and self._turn.others_waiting():
            self._close_locked(giving_way=True)

    @contextmanager
    def kept_open(self) -> Iterator[None]:
        """Between the units of work inside this block (a run's writes), keep the file open
        while no other process waits, instead of paying to reopen it for each one; a waiting
        process still gets it at the end of the current unit."""
        with self._cond:
            self._keep += 1
        try:
            yield
        finally:
            with self._cond:
                self._keep -= 1
                if not self._keep and not self._leases and self.idle_close_s <= 0:
                    self._close_locked()

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
        with self._cond:
            while self._leases:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    log.warning("%s is still in use; not closing it", self.path)
                    return
                self._cond.wait(min(remaining, 0.05))
            if self._close_locked():
                self._turn.close()
                if self._instance is not None:
                    self._instance.close()
                    self._instance = None

    def exclusive(self, cur: Any, name: str) -> None:
        """Inside a transaction: hold `name` until it ends. Nothing to do here, since one
        process at a time has the file and a store module orders its own threads."""

    def sessions(self) -> list[dict[str, Any]]:
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
        return self._con is not None

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
