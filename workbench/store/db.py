"""The DuckDB connection: one per process, lent out as cursors, closed when idle.

DuckDB lets one process hold a database file read-write and no other process open it at all.
So the connection is opened on first use, shared by every thread of the process as separate
cursors (one connection object used from two threads fails), and closed after `idle_close_s`
without a lease, which lets the app and the command line take turns on one data directory.
Opening waits up to `lock_timeout_s` for another process to let go, then raises
`DatabaseLocked` naming the process that holds the file.
"""

from __future__ import annotations

import atexit
import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from workbench.errors import WorkbenchError
from workbench.store.migrations import apply_migrations

log = logging.getLogger(__name__)


class StoreError(WorkbenchError, RuntimeError):
    """The data directory or database cannot be used; the message says why and what to do."""


class DatabaseLocked(StoreError):
    def __init__(self, path: Path, holder: str, waited_s: float) -> None:
        super().__init__(
            f"The database {path} is in use by another process ({holder}); waited "
            f"{waited_s:.0f} s. Finish or stop that process, or point WORKBENCH_DATA_DIR "
            "at another folder."
        )
        self.holder = holder


_LOCK_HOLDER = re.compile(r"PID (\d+)")


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
    def __init__(
        self, path: Path, *, lock_timeout_s: float = 10.0, idle_close_s: float = 2.0
    ) -> None:
        self.path = Path(path)
        self.lock_timeout_s = lock_timeout_s
        self.idle_close_s = idle_close_s
        self._guard = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._leases = 0
        self._timer: threading.Timer | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"Cannot create the data directory {self.path.parent}: {exc.strerror}. "
                "Set WORKBENCH_DATA_DIR to a folder you can write to."
            ) from exc
        with self.cursor() as cur:
            self.migrations_applied = apply_migrations(cur)
        # Close on interpreter exit so the file lock and WAL are released cleanly.
        atexit.register(self.close)

    def _open(self) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.05
        started = time.monotonic()
        while True:
            try:
                return duckdb.connect(str(self.path))
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

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor for this thread; the connection stays open while any cursor is lent."""
        with self._guard:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._con is None:
                self._con = self._open()
            self._leases += 1
            cur = self._con.cursor()
        try:
            yield cur
        finally:
            cur.close()
            with self._guard:
                self._leases -= 1
                if self._leases == 0 and self._con is not None:
                    if self.idle_close_s <= 0:
                        self._close_locked()
                    else:
                        self._timer = threading.Timer(self.idle_close_s, self._close_if_idle)
                        self._timer.daemon = True
                        self._timer.start()

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

    def _close_if_idle(self) -> None:
        with self._guard:
            if self._leases == 0:
                self._close_locked()

    def _close_locked(self) -> None:
        if self._con is not None:
            try:
                self._con.close()
            except duckdb.Error as exc:  # still busy: leave it to the process's end
                log.warning("could not close %s: %s", self.path, exc)
                return
            self._con = None

    def close(self, wait_s: float = 10.0) -> None:
        """Close once no cursor is lent; wait up to `wait_s` for one still at work (closing
        under a running query aborts the process), then give up and leave it open."""
        deadline = time.monotonic() + wait_s
        while True:
            with self._guard:
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
                if self._leases == 0:
                    self._close_locked()
                    return
            if time.monotonic() >= deadline:
                log.warning("%s is still in use; not closing it", self.path)
                return
            time.sleep(0.02)

    @property
    def is_open(self) -> bool:
        return self._con is not None

    def size_bytes(self) -> int:
        total = 0
        for suffix in ("", ".wal"):
            candidate = Path(str(self.path) + suffix)
            if candidate.exists():
                total += candidate.stat().st_size
        return total
