"""A run's progress and money while it runs: the counts a page or the command line shows, what
it has spent, and what it holds for the jobs in flight against its budget (the most each can
cost, `Plan.reserve_usd`). One lock keeps them consistent; `snapshot` copies them under it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from workbench.services.runs.generation import NOT_SENT, GenerationOutcome
from workbench.services.runs.run_stop import RunStop


@dataclass
class Progress:
    total: int
    done: int = 0
    succeeded: int = 0
    failed: int = 0
    moderated: int = 0
    not_sent: int = 0  # stopped before anything left (no key...): nothing paid
    cancelled: int = 0
    interrupted: int = 0  # still with the provider when the run stopped waiting
    cached: int = 0
    in_flight: int = 0
    spent_usd: float = 0.0
    started: float = field(default_factory=time.monotonic)
    finished: bool = False
    stop_reason: str | None = None

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    @property
    def eta_s(self) -> float | None:
        if self.finished:
            return 0.0
        if not self.done:
            return None
        return self.elapsed_s / self.done * (self.total - self.done - self.cancelled)


class RunTally:
    """The run's `Progress`, the money its jobs in flight hold, and the jobs waiting for the
    daily cap to make room."""

    def __init__(self, total: int, stopping: RunStop) -> None:
        self._lock = threading.Lock()
        self._progress = Progress(total=total)
        self._reserved = 0.0
        self._waiting_cap = 0  # jobs waiting for the daily cap to make room
        self._stopping = stopping

    def snapshot(self) -> Progress:
        with self._lock:
            return Progress(
                **{k: getattr(self._progress, k) for k in Progress.__dataclass_fields__}
            )

    def reserve(self, cost: float, budget: float | None) -> str:
        """Hold the most this job can cost against the run's budget: "ok"; "wait" while it
        does not fit but other jobs hold money; "stop" (the reason kept) when it cannot fit."""
        with self._lock:
            if budget is not None and (
                self._progress.spent_usd + self._reserved + cost > budget + 1e-9
            ):
                if self._reserved > 1e-12:
                    return "wait"
                self._stopping.stop(
                    f"Stopped sending: the next image may cost up to ${cost:,.4f}, which would "
                    f"take the run past its budget of ${budget:,.2f} (spent "
                    f"${self._progress.spent_usd:,.4f}, ${self._reserved:,.4f} held for jobs "
                    "in flight)."
                )
                return "stop"
            self._reserved += cost
            self._progress.in_flight += 1
        return "ok"

    def settle(
        self, reserved: float, outcome: GenerationOutcome | None, *, counted: bool,
        abandoned: bool,
    ) -> None:
        """A job ended: its hold is released and its outcome counted (an abandoned job counts
        as interrupted; one that sent nothing is not counted)."""
        with self._lock:
            p = self._progress
            self._reserved -= reserved
            p.in_flight -= 1
            if abandoned:
                p.interrupted += 1
            elif counted:
                self._count(outcome)

    def others_in_flight(self) -> int:
        """Jobs in flight besides the caller's that are not themselves waiting for the cap."""
        with self._lock:
            return self._progress.in_flight - 1 - self._waiting_cap

    @contextmanager
    def waiting_for_cap(self) -> Iterator[None]:
        with self._lock:
            self._waiting_cap += 1
        try:
            yield
        finally:
            with self._lock:
                self._waiting_cap -= 1

    def cancelled(self, skipped: int, reason: str) -> None:
        """Queued cells were cancelled for `reason`."""
        with self._lock:
            self._progress.cancelled += skipped
            self._progress.stop_reason = reason

    def finish(self) -> tuple[float, int]:
        """Mark the run finished: (dollars spent, jobs left with their provider)."""
        with self._lock:
            self._progress.finished = True
            return self._progress.spent_usd, self._progress.interrupted

    def _count(self, outcome: GenerationOutcome | None) -> None:
        """Called with `self._lock` held."""
        p = self._progress
        p.done += 1
        if outcome is None:
            p.failed += 1
            return
        p.spent_usd += outcome.cost_usd or 0.0
        if outcome.cached_from:
            p.cached += 1
        if outcome.status == "succeeded":
            p.succeeded += 1
        elif outcome.status == "moderated":
            p.moderated += 1
        elif outcome.status == NOT_SENT:
            p.not_sent += 1
        else:
            p.failed += 1
