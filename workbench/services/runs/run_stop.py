"""How a run stops. `cancel()` stops sending: queued cells become `cancelled`, jobs in flight
finish and are logged. `abandon()` (a second Ctrl-C) stops waiting as well: the run's tasks are
cancelled on its event loop, and each records its attempt `interrupted`. A run also stops sending
for a reason of its own (its budget, the daily cap, a bill above its maximum, the sent-requests
ledger unwritable): the first reason given is kept. Both may be called from any thread (a
signal handler's).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class RunStop:
    """A run's stop requests, its first stop reason, and the tasks `abandon` cancels."""

    def __init__(self) -> None:
        self._cancel = threading.Event()
        self._abandon = threading.Event()
        self._lock = threading.Lock()
        self.reason: str | None = None  # why the run stopped sending by itself
        self.loop: asyncio.AbstractEventLoop | None = None  # the loop the run's tasks are on
        self._tasks: set[asyncio.Task[None]] = set()

    def cancel(self) -> None:
        self._cancel.set()

    def abandon(self) -> None:
        self._cancel.set()
        self._abandon.set()
        loop = self.loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # a loop closed in between: the run ended
                loop.call_soon_threadsafe(self._cancel_tasks)

    def _cancel_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def track(self, task: asyncio.Task[None]) -> None:
        """A job's task, cancelled by `abandon` while it runs."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def abandoned(self) -> bool:
        return self._abandon.is_set()

    def should_stop(self) -> bool:
        return self._cancel.is_set() or self.reason is not None

    def stop(self, reason: str) -> None:
        """Stop sending for `reason`, unless a reason was given first."""
        with self._lock:
            self.reason = self.reason or reason
