"""The turn to open the DuckDB file, shared by every workbench process on one machine.

DuckDB lets one process at a time open a database file. Workbench processes therefore take turns
through two `flock` files beside the database (flock: Linux/macOS, released by the kernel when a
process dies, so a SIGKILLed holder never leaves a stale lock):

- `<db>.lock`: held exclusively by the process that has the file open. It also holds the
  holder's PID and command line, so a wait that times out can say who holds the file.
- `<db>.wait`: every process waiting for `<db>.lock` holds it shared; the holder probes it to
  learn that someone is waiting and gives the file up at the end of its current unit of work.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from pathlib import Path

# A waiter polls the lock this often: a holder that gives way lets go within a few ms, and a
# flock attempt costs microseconds.
POLL_S = 0.002


class LockTimeout(Exception):
    def __init__(self, holder: str, waited_s: float) -> None:
        super().__init__(holder)
        self.holder = holder
        self.waited_s = waited_s


def _describe_self() -> str:
    try:
        raw = Path("/proc/self/cmdline").read_bytes()
        cmd = " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)
    except OSError:
        cmd = ""
    return f"PID {os.getpid()}: {cmd[:120]}" if cmd else f"PID {os.getpid()}"


class FileTurn:
    """One process's handle on the lock files of one database (not thread-safe: `Database`
    calls it under its own guard)."""

    def __init__(self, db_path: Path) -> None:
        self.lock_path = Path(str(db_path) + ".lock")
        self.wait_path = Path(str(db_path) + ".wait")
        self._fd: int | None = None
        self._probe_fd: int | None = None

    @staticmethod
    def _open(path: Path) -> int:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def holder(self) -> str:
        try:
            text = self.lock_path.read_text(errors="replace").strip()
        except OSError:
            text = ""
        return text or "unknown process"

    def acquire(self, timeout_s: float) -> float:
        """Take the turn; return how long it took. Raises `LockTimeout` after `timeout_s`."""
        if self._fd is not None:
            return 0.0
        started = time.monotonic()
        fd = self._open(self.lock_path)
        try:
            if not _try_lock(fd, fcntl.LOCK_EX):
                self._wait(fd, started + timeout_s, started)
            os.ftruncate(fd, 0)
            os.pwrite(fd, _describe_self().encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return time.monotonic() - started

    def _wait(self, fd: int, deadline: float, started: float) -> None:
        wait_fd = self._open(self.wait_path)
        try:
            fcntl.flock(wait_fd, fcntl.LOCK_SH)  # "someone is waiting", seen by the holder
            while not _try_lock(fd, fcntl.LOCK_EX):
                if time.monotonic() >= deadline:
                    raise LockTimeout(self.holder(), time.monotonic() - started)
                time.sleep(POLL_S)
        finally:
            os.close(wait_fd)

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        os.close(fd)  # closing the descriptor drops the flock

    def others_waiting(self) -> bool:
        if self._probe_fd is None:
            self._probe_fd = self._open(self.wait_path)
        if _try_lock(self._probe_fd, fcntl.LOCK_EX):
            fcntl.flock(self._probe_fd, fcntl.LOCK_UN)
            return False
        return True

    def close(self) -> None:
        self.release()
        if self._probe_fd is not None:
            os.close(self._probe_fd)
            self._probe_fd = None


def _try_lock(fd: int, kind: int) -> bool:
    try:
        fcntl.flock(fd, kind | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise
    return True
