"""Ctrl-C and SIGTERM for commands that spend money (`run`, `generate`): the first signal asks
the work to stop sending, the second to stop waiting; a third one interrupts at once.

Real signal handlers instead of a `KeyboardInterrupt` caught around a join: a
KeyboardInterrupt raised inside `Thread.join(timeout)` on Python 3.11 can leave the thread
marked as stopped, so the next `join()` returned at once and the process ended under a run
still sending and recording. Here the handler only calls back and returns; the main thread
keeps waiting on an `Event` (a lock wait that a signal interrupts and Python resumes), until the
work says it has recorded everything.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class GracefulStop:
    """`with GracefulStop(first, second):` calls `first()` on the first SIGINT/SIGTERM and
    `second()` on the next one, then leaves a third to Python's default (KeyboardInterrupt for
    SIGINT). Outside the main thread (where handlers cannot be set) it does nothing."""

    def __init__(self, first: Callable[[], None], second: Callable[[], None]) -> None:
        self.first = first
        self.second = second
        self.count = 0
        self._old: dict[int, Any] = {}

    def __enter__(self) -> GracefulStop:
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if self.count == 1:
            self.first()
            return
        # From now on a signal interrupts at once (the work has been told to stop waiting).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        self.second()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()
