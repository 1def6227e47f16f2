"""This process's turn on the DuckDB file (the protocol `store.db` describes): waiting for it
(`store.file_lock`), attaching the file to the one DuckDB instance the process keeps, detaching
it and giving the turn away, and the watcher thread that decides when: idle with another process
waiting (or after `idle_close_s`), or busy past `max_hold_s` while someone waits (then no new
cursor is lent until the ones out come back). `store.db.Database` lends cursors on top of it.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from pathlib import Path

import duckdb

from workbench.store.errors import StoreError
from workbench.store.file_lock import FileTurn, LockTimeout

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


class DatabaseLocked(StoreError):
    def __init__(self, path: Path, holder: str, waited_s: float) -> None:
        super().__init__(
            f"The database {path} is in use by another process ({holder}); waited "
            f"{waited_s:.0f} s. Finish or stop that process, or point WORKBENCH_DATA_DIR "
            "at another folder."
        )
        self.holder = holder


_LOCK_HOLDER = re.compile(r"PID (\d+)")
CATALOG = "workbench"  # the name the file is attached under


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


class DatabaseTurn:
    """Whether this process has the file, how many cursors it lends, and when it gives the file
    to another process. Its fields are read and changed with `cond` held."""

    def __init__(
        self, path: Path, file: FileTurn, *, lock_timeout_s: float, idle_close_s: float,
        max_hold_s: float,
    ) -> None:
        self.path = path
        self.file = file
        self.lock_timeout_s = lock_timeout_s
        self.idle_close_s = idle_close_s
        self.max_hold_s = max_hold_s
        self.cond = threading.Condition()
        # One DuckDB instance for the process's lifetime, the file attached to it for each turn:
        # creating an instance costs ~35 ms (even in memory), attaching and detaching a file
        # ~3 ms, and every process pays the difference once per turn.
        self._instance: duckdb.DuckDBPyConnection | None = None
        self.con: duckdb.DuckDBPyConnection | None = None  # the instance while the file is in
        self.leases = 0
        self._opened_at = 0.0
        self.idle_since = 0.0
        self.draining = False
        self._gave_way_at = 0.0
        self._watcher: threading.Thread | None = None
        self.keep = 0  # units of work that asked to keep the file between them
        # Cursors kept by threads between their units of work during this turn (`kept_cursor`).
        self._kept: list[duckdb.DuckDBPyConnection] = []
        self.turn = 0  # counts the turns: a kept cursor of an earlier one is not reused
        self.first_unit_by = 0.0  # until then, a waiting process does not take the file back

    def open(self) -> duckdb.DuckDBPyConnection:
        pause = self._gave_way_at + GIVE_WAY_S - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        started = time.monotonic()
        try:
            self.file.acquire(self.lock_timeout_s)
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
            self.file.release()
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
                self._instance.execute(f"ATTACH {literal} AS {CATALOG}")
                self._instance.execute(f"USE {CATALOG}")
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

    def kept_cursor(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        """A new cursor on the file that its thread keeps for its next units of work in this
        turn: making one and choosing the file's catalog costs ~0.6 ms, three times a
        generation. Every kept cursor is closed before the file is detached."""
        cur = con.cursor()
        try:
            cur.execute(f"USE {CATALOG}")  # a cursor starts in the instance's own catalog
        except BaseException:
            cur.close()
            raise
        self._kept.append(cur)
        return cur

    def drop_kept(self, cur: duckdb.DuckDBPyConnection) -> None:
        """A kept cursor whose unit of work failed is closed, not reused."""
        if cur in self._kept:
            self._kept.remove(cur)
        with contextlib.suppress(duckdb.Error):
            cur.close()

    def close_locked(self, *, giving_way: bool = False) -> bool:
        if self.con is not None:
            # No cursor is lent now: the ones threads keep go before the file does.
            for kept in self._kept:
                with contextlib.suppress(duckdb.Error):
                    kept.close()
            self._kept.clear()
            self.turn += 1
            try:
                # Detaching writes the log's changes into the file (as closing did) and lets go
                # of DuckDB's own lock on it.
                self.con.execute("USE memory")
                self.con.execute(f"DETACH {CATALOG}")
            except duckdb.Error as exc:  # still busy: leave it to the process's end
                log.warning("could not close %s: %s", self.path, exc)
                self.draining = False
                self.cond.notify_all()
                return False
            self.con = None
        self.file.release()
        if giving_way:
            self._gave_way_at = time.monotonic()
        self.draining = False
        self.cond.notify_all()
        return True

    def _watch(self) -> None:
        """While the file is open: give it up when idle and another process waits (or after
        `idle_close_s`), and stop lending new cursors when threads of this process have kept it
        busy for `max_hold_s` while someone waits."""
        while True:
            time.sleep(WATCH_S)
            with self.cond:
                if self.con is None:
                    self._watcher = None
                    return
                now = time.monotonic()
                waiting = now >= self.first_unit_by and self.file.others_waiting()
                if self.leases == 0:
                    idle_long = not self.keep and now - self.idle_since >= self.idle_close_s
                    if waiting or idle_long:
                        self.close_locked(giving_way=waiting)
                elif waiting and now - self._opened_at >= self.max_hold_s:
                    self.draining = True

    def none_lent(self) -> None:
        """The last cursor lent came back: give the file away now if another process is owed
        it, or if it is not to be kept idle."""
        self.idle_since = time.monotonic()
        if self.draining:
            self.close_locked(giving_way=True)
        elif self.idle_close_s <= 0 and not self.keep:
            self.close_locked()
        elif time.monotonic() >= self.first_unit_by and self.file.others_waiting():
            self.close_locked(giving_way=True)

    def close_for_good(self) -> None:
        """Detach the file, release the turn's lock files and close the DuckDB instance."""
        if self.close_locked():
            self.file.close()
            if self._instance is not None:
                self._instance.close()
                self._instance = None
