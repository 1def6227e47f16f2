"""Runs many generations as one run: per-provider concurrency, a hard budget, cancel, resume,
and reuse of identical earlier requests.

A run is planned whole before anything is sent: every cell is validated, the cost is estimated
and a run over its budget is refused. Every cell then gets a `queued` row linked to the run, so
the log always shows the whole grid. Each provider has its own lane with its own concurrency
limit. Before a cell is sent its estimated cost is reserved; a cell that would take spent plus
reserved past the budget is not sent, and neither is anything after it: a budget is exceeded at
most by the difference between estimates and what in-flight jobs really cost. Cancel stops
sending: queued cells become `cancelled`, in-flight ones finish and are logged. If the process
dies, `recover` turns its `pending`/`queued` rows into `interrupted`; `resume` first fetches
from the providers the jobs they had accepted (services/recovery.py: their images are stored,
nothing is sent again), then sends only the cells that have no result and were never sent, each
on its own earlier row (so a crash of the workbench leaves no extra failed attempt). A cell whose
request had started to go out without an answer may have been billed, so it is not sent again
(History can resend it by hand).
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from workbench.domain.ids import new_id
from workbench.errors import InvalidInput
from workbench.providers.registry import default_concurrency
from workbench.services.runs.generation import (
    DailyCapReached,
    GenerateRequest,
    GenerationOutcome,
    InvalidRequest,
    Plan,
    execute,
    plan,
)
from workbench.services.runs.recovery import recover_jobs_sync
from workbench.services.workbench import Workbench

# Simultaneous jobs per provider, from each adapter's descriptor (with its source there).
DEFAULT_CONCURRENCY: dict[str, int] = default_concurrency()
DONE_STATUSES = ("succeeded", "moderated")


class RunSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    budget_usd: float | None = Field(default=None, ge=0)
    concurrency: dict[str, int] = {}
    allow_cache: bool = False

    def limit(self, provider: str) -> int:
        default = default_concurrency().get(provider, 4)  # providers discovered since import too
        return max(1, min(64, self.concurrency.get(provider, default)))


@dataclass(frozen=True)
class Cell:
    """One generation of a run: its stable key, the request and its labels on the grid axes."""

    key: str
    request: GenerateRequest
    labels: dict[str, str] = field(default_factory=dict)


class RunRefused(InvalidInput):
    """The run cannot start; `problems` say why, one sentence each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Estimate:
    images: int
    cost_usd: float
    unpriced: int  # cells whose price no source gives
    duration_s: float
    spent_today_usd: float


@dataclass
class Progress:
    total: int
    done: int = 0
    succeeded: int = 0
    failed: int = 0
    moderated: int = 0
    cancelled: int = 0
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


def _planned(wb: Workbench, cells: list[Cell]) -> list[Plan]:
    problems: list[str] = []
    plans: list[Plan] = []
    keys = Counter(c.key for c in cells)
    if dupes := [k for k, n in keys.items() if n > 1]:
        raise RunRefused([f"two cells share the key {dupes[0]!r}"])
    for cell in cells:
        try:
            plans.append(plan(wb, cell.request))
        except InvalidRequest as exc:
            problems.extend(f"{cell.key}: {p}" for p in exc.problems)
    if problems:
        raise RunRefused(
            problems[:20] + ([f"…and {len(problems) - 20} more"] if len(problems) > 20 else [])
        )
    return plans


def _today_utc() -> datetime:
    now = datetime.now(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)


def estimate(wb: Workbench, cells: list[Cell], settings: RunSettings | None = None) -> Estimate:
    """Images, cost from catalog prices, and a duration from the log's median latencies."""
    settings = settings or RunSettings()
    plans = _planned(wb, cells)
    cost = sum(p.estimated_cost_usd or 0.0 for p in plans)
    unpriced = sum(1 for p in plans if p.estimated_cost_usd is None)
    per_lane: dict[str, float] = {}
    medians: dict[str, dict[str, float]] = {}
    for p in plans:
        lane = p.request.provider
        if lane not in medians:  # per offer: the median of its last 20 measured latencies
            medians[lane] = {
                model: ms / 1000 for model, ms in wb.performance.recent_latency_ms(lane).items()
            }
        typical = 0.05 if lane == "offline" else p.model.typical_seconds
        per_lane[lane] = per_lane.get(lane, 0.0) + medians[lane].get(p.model.id, typical)
    duration = max((total / settings.limit(lane) for lane, total in per_lane.items()), default=0.0)
    return Estimate(
        images=len(plans),
        cost_usd=round(cost, 4),
        unpriced=unpriced,
        duration_s=round(duration, 1),
        spent_today_usd=wb.log.spent_since(_today_utc()),
    )


class RunHandle:
    """A run in progress. `run()` (async) or `run_sync()` drives it; `cancel()` may be called
    from any thread; `progress` is a consistent snapshot at any time."""

    def __init__(
        self,
        wb: Workbench,
        run_id: str,
        jobs: list[tuple[str, Cell, Plan]],
        settings: RunSettings,
        on_event: Callable[[Progress, GenerationOutcome | None], None] | None = None,
    ) -> None:
        self.wb = wb
        self.run_id = run_id
        self.jobs = jobs  # (generation id, cell, plan)
        self.settings = settings
        self.on_event = on_event
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._progress = Progress(total=len(jobs))
        self._reserved = 0.0
        self._stop_reason: str | None = None
        self.thread: threading.Thread | None = None

    # -- control --------------------------------------------------------------------------------
    def cancel(self) -> None:
        self._cancel.set()

    @property
    def progress(self) -> Progress:
        with self._lock:
            return Progress(
                **{k: getattr(self._progress, k) for k in Progress.__dataclass_fields__}
            )

    def run_sync(self) -> Progress:
        return asyncio.run(self.run())

    def start_in_thread(self) -> threading.Thread:
        self.thread = threading.Thread(target=self.run_sync, name=f"run-{self.run_id}", daemon=True)
        self.thread.start()
        return self.thread

    # -- work -----------------------------------------------------------------------------------
    async def run(self) -> Progress:
        lanes: dict[str, list[tuple[str, Cell, Plan]]] = {}
        for job in self.jobs:
            lanes.setdefault(job[2].request.provider, []).append(job)
        # Each write is its own short unit of work: other processes (the app, `history`, a
        # second run) use the database between them instead of waiting for the run to end.
        # While nobody waits, the file stays open between writes (reopening costs more).
        with self.wb.db.kept_open():
            await asyncio.gather(*(self._lane(name, jobs) for name, jobs in lanes.items()))
        reason = self._stop_reason or (
            "Cancelled by the user." if self._cancel.is_set() else None
        )
        if reason:
            kind = "budget" if self._stop_reason else "cancelled"
            skipped = self.wb.attempts.cancel_queued(self.run_id, reason, kind=kind)
            with self._lock:
                self._progress.cancelled += skipped
                self._progress.stop_reason = reason
        status = (
            "cancelled"
            if self._cancel.is_set()
            else ("stopped" if self._stop_reason else "finished")
        )
        with self._lock:
            self._progress.finished = True
            spent = self._progress.spent_usd
        self.wb.runs.finish(self.run_id, status, round(spent, 6))
        self._emit(None)
        return self.progress

    def _should_stop(self) -> bool:
        return self._cancel.is_set() or self._stop_reason is not None

    async def _lane(self, provider_name: str, jobs: list[tuple[str, Cell, Plan]]) -> None:
        limit = asyncio.Semaphore(self.settings.limit(provider_name))
        provider = self.wb.open_provider(provider_name)
        tasks: list[asyncio.Task[None]] = []
        try:
            for gid, _cell, planned in jobs:
                await limit.acquire()
                if self._should_stop() or not self._reserve(planned):
                    limit.release()
                    break
                tasks.append(asyncio.create_task(self._one(gid, planned, provider, limit)))
            await asyncio.gather(*tasks)
        finally:
            await provider.aclose()

    def _reserve(self, planned: Plan) -> bool:
        budget = self.settings.budget_usd
        cost = planned.estimated_cost_usd or 0.0
        with self._lock:
            if budget is not None and (
                self._progress.spent_usd + self._reserved + cost > budget + 1e-9
            ):
                self._stop_reason = (
                    f"Stopped sending: the next image would take the run past its budget of "
                    f"${budget:,.2f} (spent ${self._progress.spent_usd:,.4f})."
                )
                return False
            self._reserved += cost
            self._progress.in_flight += 1
        return True

    async def _one(self, gid: str, planned: Plan, provider: Any, limit: asyncio.Semaphore) -> None:
        reserved = planned.estimated_cost_usd or 0.0
        outcome: GenerationOutcome | None = None
        refused = False
        try:
            cached = None
            if self.settings.allow_cache and planned.request_hash:
                cached = self.wb.log.find_cached(planned.request_hash)
            outcome = await execute(self.wb, planned, provider, generation_id=gid, reuse=cached)
        except DailyCapReached as exc:
            # Nothing was sent; the cell stays queued and is cancelled with this reason.
            refused = True
            with self._lock:
                self._stop_reason = self._stop_reason or f"Stopped sending: {exc.problems[0]}"
        finally:
            limit.release()
            with self._lock:
                p = self._progress
                self._reserved -= reserved
                p.in_flight -= 1
                if not refused:
                    self._count(outcome)
            if not refused:
                self._emit(outcome)

    def _count(self, outcome: GenerationOutcome | None) -> None:
        """Called with `self._lock` held."""
        p = self._progress
        p.done += 1
        if outcome is None:
            p.failed += 1
        else:
            p.spent_usd += outcome.cost_usd or 0.0
            if outcome.cached_from:
                p.cached += 1
            if outcome.status == "succeeded":
                p.succeeded += 1
            elif outcome.status == "moderated":
                p.moderated += 1
            else:
                p.failed += 1

    def _emit(self, outcome: GenerationOutcome | None) -> None:
        if self.on_event is not None:
            self.on_event(self.progress, outcome)


def _queue(wb: Workbench, plans: list[Plan], unsent: dict[str, str] | None = None) -> list[str]:
    """A `queued` row per planned cell, so the log shows the whole grid from the start; a cell
    with an earlier row that never left (`unsent`, by cell key) is queued on that row."""
    ids = []
    with wb.db.cursor():  # one unit of work for the whole grid, not one per row
        for planned in plans:
            earlier = (unsent or {}).get(planned.request.cell or "")
            if earlier is not None:
                wb.attempts.requeue(earlier)
                ids.append(earlier)
                continue
            gid = new_id("gen")
            wb.attempts.insert_pending(planned.row(gid, {}, status="queued"))
            ids.append(gid)
    return ids


def check_budget(est: Estimate, settings: RunSettings) -> None:
    if settings.budget_usd is None:
        return
    problems = []
    if est.cost_usd > settings.budget_usd + 1e-9:
        problems.append(
            f"The run is estimated at ${est.cost_usd:,.4f}, over its budget of "
            f"${settings.budget_usd:,.2f}: raise the budget or run fewer images."
        )
    if est.unpriced:
        problems.append(
            f"{est.unpriced} image(s) have no known price, so a budget cannot be guaranteed: "
            "remove the budget or choose a priced provider."
        )
    if problems:
        raise RunRefused(problems)


def start_run(
    wb: Workbench,
    kind: str,
    name: str,
    cells: list[Cell],
    settings: RunSettings | None = None,
    on_event: Callable[[Progress, GenerationOutcome | None], None] | None = None,
) -> RunHandle:
    """Validate, estimate, refuse over budget, then log the run and a queued row per cell."""
    settings = settings or RunSettings()
    if not cells:
        raise RunRefused(["The run has no cells: choose at least one prompt and one model."])
    plans = _planned(wb, cells)
    check_budget(estimate(wb, cells, settings), settings)
    run_id = new_id("run")
    spec = {
        "cells": [
            {
                "key": c.key,
                "labels": c.labels,
                "request": c.request.model_dump(exclude={"run_id", "cell"}),
            }
            for c in cells
        ],
        "settings": settings.model_dump(),
    }
    wb.runs.create(run_id, kind, name, spec, settings.budget_usd)
    cells = [
        Cell(c.key, c.request.model_copy(update={"run_id": run_id, "cell": c.key}), c.labels)
        for c in cells
    ]
    plans = [dataclasses.replace(p, request=c.request) for p, c in zip(plans, cells, strict=True)]
    ids = _queue(wb, plans)
    return RunHandle(wb, run_id, list(zip(ids, cells, plans, strict=True)), settings, on_event)


def resume_run(
    wb: Workbench,
    run_id: str,
    settings: RunSettings | None = None,
    on_event: Callable[[Progress, GenerationOutcome | None], None] | None = None,
) -> RunHandle:
    """A handle for the cells of `run_id` that have no result yet. Cells whose request had
    started to go out before a crash are not sent again (they could be paid twice)."""
    record = wb.runs.get(run_id)
    if record is None:
        raise RunRefused([f"No run {run_id}."])
    recover(wb)
    recover_jobs_sync(wb, run_id)
    spec = record.spec or {}
    settings = settings or RunSettings.model_validate(spec.get("settings", {}))
    rows = wb.log.run_cells(run_id)
    settled = {r.cell for r in rows if r.status in DONE_STATUSES}
    paid = {
        r.cell
        for r in rows
        if r.submitted_at is not None and r.status in ("interrupted", "pending")
    }
    cells = [
        Cell(
            c["key"],
            GenerateRequest.model_validate({**c["request"], "run_id": run_id, "cell": c["key"]}),
            c.get("labels", {}),
        )
        for c in spec["cells"]
        if c["key"] not in settled and c["key"] not in paid
    ]
    plans = _planned(wb, cells)
    if cells:
        remaining = Estimate(
            len(plans),
            sum(p.estimated_cost_usd or 0 for p in plans),
            sum(1 for p in plans if p.estimated_cost_usd is None),
            0,
            0,
        )
        spent_before = sum(r.cost_usd or 0 for r in rows)
        if settings.budget_usd is not None:
            left = max(0.0, settings.budget_usd - spent_before)
            check_budget(remaining, settings.model_copy(update={"budget_usd": left}))
            settings = settings.model_copy(update={"budget_usd": left})
    wb.runs.reopen(run_id)
    unsent = {  # the newest row per cell that never left: the resumed job completes it
        r.cell: r.id
        for r in rows
        if r.cell is not None
        and r.submitted_at is None
        and r.status in ("interrupted", "cancelled", "queued")
    }
    ids = _queue(wb, plans, unsent)
    return RunHandle(wb, run_id, list(zip(ids, cells, plans, strict=True)), settings, on_event)


_ACTIVE: dict[str, RunHandle] = {}
_ACTIVE_LOCK = threading.Lock()


def launch(handle: RunHandle) -> RunHandle:
    """Runs the handle in a background thread and keeps it findable by run id, so a page can
    show its progress and cancel it across reruns and sessions."""
    with _ACTIVE_LOCK:
        _ACTIVE[handle.run_id] = handle
    handle.start_in_thread()
    return handle


def active(run_id: str) -> RunHandle | None:
    with _ACTIVE_LOCK:
        return _ACTIVE.get(run_id)


def recover(wb: Workbench) -> tuple[int, int]:
    """After a crash: rows and runs owned by a dead process become `interrupted`."""
    return wb.attempts.mark_interrupted(), wb.runs.mark_interrupted()
