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
from the providers the jobs they had accepted (services/runs/recovery.py: their images are stored,
nothing is sent again), then sends only the cells that have no result and were never sent, each
on its own earlier row (so a crash of the workbench leaves no extra failed attempt). A cell whose
request had started to go out without an answer may have been billed, so it is not sent again
(History can resend it by hand).
"""

from __future__ import annotations

import asyncio
import atexit
import dataclasses
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from workbench.domain.ids import new_id
from workbench.domain.plural import count
from workbench.errors import InvalidInput
from workbench.providers.registry import default_concurrency, provider_label
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
from workbench.services.runs.run_stop import RunStop
from workbench.services.runs.run_tally import Progress, RunTally
from workbench.services.workbench import Workbench
from workbench.store.records import Run, RunCell, RunSummary
from workbench.store.sent_ledger import LedgerUnwritable

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
    most_usd: float = 0.0  # the most it can cost by documented pricing (what is reserved)


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
        # what the daily cap counts: billed, or reserved by a request still out
        spent_today_usd=wb.spending.spent_today(wb.settings.user)[0],
        most_usd=round(sum(p.reserve_usd for p in plans), 4),
    )


class RunHandle:
    """A run in progress. `run()` (async) or `run_sync()` drives it; `cancel()` and `abandon()`
    may be called from any thread (a signal handler's); `progress` is a consistent snapshot at
    any time; `done` is set once the run has ended and every attempt is recorded.

    Stopping has two steps. `cancel()` stops sending: queued cells become `cancelled`, jobs in
    flight finish and are logged with their images and costs, and the run ends `cancelled`.
    `abandon()` (a second Ctrl-C) stops waiting as well: jobs still with their provider are
    recorded `interrupted` with their request ids (`recover` fetches them later), and the run
    ends `interrupted`.

    The handle schedules: one lane per provider, each job's reservation, the daily cap's
    wait. Its stop requests and reason are `stopping` (`run_stop.RunStop`); its counts and the
    money held against the budget are `tally` (`run_tally.RunTally`)."""

    def __init__(
        self,
        wb: Workbench,
        run_id: str,
        jobs: list[tuple[str, Cell, Plan]],
        settings: RunSettings,
        on_event: Callable[[Progress, GenerationOutcome | None], None] | None = None,
        *,
        resend_of: dict[str, str] | None = None,
        unaccounted: list[str] | None = None,
    ) -> None:
        self.wb = wb
        self.run_id = run_id
        self.jobs = jobs  # (generation id, cell, plan)
        self.settings = settings
        self.on_event = on_event
        self.resend_of = resend_of or {}  # cell key -> the uncertain attempt it sends again
        # Cells the ledger says were sent but the database has no record of (not sent again).
        self.unaccounted = unaccounted or []
        self.billed_over_max: str | None = None  # the first bill above its documented maximum
        self.ledger_error: str | None = None  # the sent-requests ledger could not be written
        self.done = threading.Event()
        self.stopping = RunStop()
        self.tally = RunTally(len(jobs), self.stopping)
        self._changed: asyncio.Event | None = None  # set whenever a job ends (money settles)
        self.thread: threading.Thread | None = None

    # -- control --------------------------------------------------------------------------------
    def cancel(self) -> None:
        """Stop sending; jobs in flight finish and are logged."""
        self.stopping.cancel()

    def abandon(self) -> None:
        """Stop sending and stop waiting: jobs in flight are recorded `interrupted`."""
        self.stopping.abandon()

    @property
    def cancelled(self) -> bool:
        return self.stopping.cancelled

    @property
    def progress(self) -> Progress:
        return self.tally.snapshot()

    def run_sync(self) -> Progress:
        try:
            return asyncio.run(self.run())
        finally:
            self.done.set()

    def start_in_thread(self) -> threading.Thread:
        self.thread = threading.Thread(target=self.run_sync, name=f"run-{self.run_id}", daemon=True)
        self.thread.start()
        return self.thread

    # -- work -----------------------------------------------------------------------------------
    async def run(self) -> Progress:
        self.stopping.loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        lanes: dict[str, list[tuple[str, Cell, Plan]]] = {}
        for job in self.jobs:
            lanes.setdefault(job[2].request.provider, []).append(job)
        # Each write is its own short unit of work: other processes (the app, `history`, a
        # second run) use the database between them instead of waiting for the run to end.
        # While nobody waits, the file stays open between writes (reopening costs more).
        with self.wb.db.kept_open():
            await asyncio.gather(*(self._lane(name, jobs) for name, jobs in lanes.items()))
        stop_reason = self.stopping.reason
        reason = stop_reason or (
            "Cancelled by the user." if self.stopping.cancelled else None
        )
        if reason:
            kind = "budget" if stop_reason else "cancelled"
            skipped = self.wb.queue.cancel_queued(self.run_id, reason, kind=kind)
            self.tally.cancelled(skipped, reason)
        spent, left_with_provider = self.tally.finish()
        if self.stopping.abandoned and left_with_provider:
            status = "interrupted"  # resumable: its jobs at the providers are fetched then
        elif self.stopping.cancelled:
            status = "cancelled"
        else:
            status = "stopped" if self.stopping.reason else "finished"
        self.wb.runs.finish(self.run_id, status, round(spent, 6))
        self._emit(None)
        return self.progress

    async def _lane(self, provider_name: str, jobs: list[tuple[str, Cell, Plan]]) -> None:
        limit = asyncio.Semaphore(self.settings.limit(provider_name))
        provider = self.wb.open_provider(provider_name)
        tasks: list[asyncio.Task[None]] = []
        try:
            for gid, cell, planned in jobs:
                await limit.acquire()
                if not await self._room_for(planned):
                    limit.release()
                    break
                task = asyncio.create_task(self._one(gid, cell, planned, provider, limit))
                self.stopping.track(task)
                tasks.append(task)
            # A job cancelled by `abandon` has recorded itself; the others are awaited.
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            await provider.aclose()

    async def _room_for(self, planned: Plan) -> bool:
        """Whether the job may go: its maximum is held against the run's budget. While it does
        not fit but jobs of the run are in flight, wait for one to end (it may cost less than
        its maximum); with none in flight, stop sending."""
        while not self.stopping.should_stop():
            verdict = self.tally.reserve(planned.reserve_usd, self.settings.budget_usd)
            if verdict != "wait":
                return verdict == "ok"
            await self._job_ended()
        return False

    async def _job_ended(self) -> None:
        assert self._changed is not None
        self._changed.clear()  # no await before the wait: no job can end in between
        await self._changed.wait()

    async def _one(
        self, gid: str, cell: Cell, planned: Plan, provider: Any, limit: asyncio.Semaphore
    ) -> None:
        reserved = planned.reserve_usd
        outcome: GenerationOutcome | None = None
        counted = True
        abandoned = False
        try:
            cached = None
            if self.settings.allow_cache and planned.request_hash:
                cached = self.wb.log.find_cached(planned.request_hash)
            outcome = await self._execute(gid, cell, planned, provider, cached)
            if outcome.over_max:
                self.billed_over_max = self.billed_over_max or outcome.over_max
                self.stopping.stop(
                    f"Stopped sending: {outcome.over_max} The daily caps and the budget "
                    "reserve that maximum, so they could no longer be guaranteed. Check the "
                    f"provider's pricing before `workbench run --resume {self.run_id}`."
                )
        except DailyCapReached as exc:
            # Nothing was sent; the cell stays queued and is cancelled with this reason.
            counted = False
            self.stopping.stop(f"Stopped sending: {exc.problems[0]}")
        except LedgerUnwritable as exc:
            counted = False  # nothing was sent; the cell stays queued
            self.ledger_error = self.ledger_error or str(exc)
            self.stopping.stop(f"Stopped sending: {exc}")
        except asyncio.CancelledError:
            counted, abandoned = False, True  # `abandon`: execute recorded it interrupted
        finally:
            limit.release()
            self.tally.settle(reserved, outcome, counted=counted, abandoned=abandoned)
            if counted:
                self._emit(outcome)
            if self._changed is not None:
                self._changed.set()

    async def _execute(
        self, gid: str, cell: Cell, planned: Plan, provider: Any, cached: Any
    ) -> GenerationOutcome:
        """`execute`, waiting for the run's own jobs in flight to end (and settle below their
        maximum) while the shared daily cap has no room; DailyCapReached when none is left."""
        while True:
            try:
                return await execute(
                    self.wb, planned, provider, generation_id=gid, reuse=cached,
                    resend_of=self.resend_of.get(cell.key),
                )
            except DailyCapReached:
                if self.tally.others_in_flight() <= 0 or self.stopping.should_stop():
                    raise
            with self.tally.waiting_for_cap():
                await self._job_ended()

    def _emit(self, outcome: GenerationOutcome | None) -> None:
        if self.on_event is not None:
            self.on_event(self.progress, outcome)


def _queue(
    wb: Workbench,
    plans: list[Plan],
    unsent: dict[str, str] | None = None,
    resend_of: dict[str, str] | None = None,
) -> list[str]:
    """A `queued` row per planned cell, so the log shows the whole grid from the start; a cell
    with an earlier row that never left (`unsent`, by cell key) is queued on that row; a cell
    sent again on purpose (`resend_of`, by cell key) gets a new row naming the old one, which
    is marked as sent again. The grid is then written into the database file itself
    (`checkpoint`), so losing the write-ahead log later cannot lose the run."""
    ids = []
    with wb.db.cursor():  # one unit of work for the whole grid, not one per row
        for planned in plans:
            cell = planned.request.cell or ""
            earlier = (unsent or {}).get(cell)
            if earlier is not None:
                wb.queue.requeue(earlier)
                ids.append(earlier)
                continue
            gid = new_id("gen")
            again = (resend_of or {}).get(cell)
            wb.attempts.insert_pending(
                planned.row(gid, {}, status="queued", resend_of=again)
            )
            if again is not None:
                wb.sent.mark_resent(again, gid)
            ids.append(gid)
    wb.attempts.checkpoint()
    return ids


def _check_ledger(wb: Workbench) -> None:
    """A run whose requests cannot be written to the sent-requests ledger does not start."""
    if wb.sent.ledger is None:
        return
    try:
        wb.sent.ledger.check()
    except LedgerUnwritable as exc:
        raise RunRefused([str(exc)]) from None


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
            f"{count(est.unpriced, 'image')} {'has' if est.unpriced == 1 else 'have'} no known "
            "price, so a budget cannot be guaranteed: "
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
    _check_ledger(wb)
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
    *,
    resend_uncertain: bool = False,
) -> RunHandle:
    """A handle for the cells of `run_id` that have no result yet.

    Jobs a provider had accepted are fetched from it first (`recovery`). A cell whose request
    may have gone out is not sent again (it could be paid twice): one whose row says so, and
    one the sent-requests ledger names although the database has no record of it being sent
    (the database lost its last writes); those are listed in `handle.unaccounted`. With
    `resend_uncertain`, cells cut off while sending (they may or may not have reached their
    provider) are sent again on purpose, each as a new attempt naming the old one; the caller
    has said they may be billed twice (`uncertain_cells` counts them first)."""
    record = wb.runs.get(run_id)
    if record is None:
        raise RunRefused([f"No run {run_id} in this database."])
    _check_ledger(wb)
    recover(wb)
    found = recover_jobs_sync(wb, run_id)  # reconciles the sent-requests ledger too
    lost = {e.cell for e in found.unaccounted if e.cell is not None}
    spec = record.spec or {}
    settings = settings or RunSettings.model_validate(spec.get("settings", {}))
    rows = wb.log.run_cells(run_id)
    settled = {r.cell for r in rows if r.status in DONE_STATUSES}
    paid = {
        r.cell
        for r in rows
        if r.submitted_at is not None and r.status in ("interrupted", "pending")
    }
    again: dict[str, str] = {}
    if resend_uncertain:
        again = {
            r.cell: r.id
            for r in rows
            if r.cell is not None and r.status == "interrupted" and r.error_kind == "uncertain"
            and r.cell not in settled
        }
        paid -= set(again)
    lost -= set(again)
    cells = [
        Cell(
            c["key"],
            GenerateRequest.model_validate({**c["request"], "run_id": run_id, "cell": c["key"]}),
            c.get("labels", {}),
        )
        for c in spec["cells"]
        if c["key"] not in settled and c["key"] not in paid and c["key"] not in lost
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
    ids = _queue(wb, plans, unsent, again)
    return RunHandle(
        wb, run_id, list(zip(ids, cells, plans, strict=True)), settings, on_event,
        resend_of=again, unaccounted=sorted(lost),
    )


def run_record(wb: Workbench, run_id: str) -> Run | None:
    """The run as recorded (its name, spec and status); None when this database has none."""
    return wb.runs.get(run_id)


def recent_runs(wb: Workbench, limit: int = 20) -> list[RunSummary]:
    """The newest runs with their cell counts, newest first."""
    return wb.runs.recent(limit)


def saved_settings_with(
    wb: Workbench, run_id: str, overrides: dict[str, Any]
) -> RunSettings:
    """The run's saved settings with `overrides` (from a resume's options) put over them."""
    record = run_record(wb, run_id)
    base = ((record.spec if record else None) or {}).get("settings", {})
    return RunSettings.model_validate({**base, **overrides})


def providers_of(wb: Workbench, generation_ids: list[str]) -> set[str]:
    """The providers these attempts went to (to name them before sending again)."""
    return {r.provider for gid in generation_ids if (r := wb.log.get(gid)) is not None}


def uncertain_cells(wb: Workbench, run_id: str) -> list[RunCell]:
    """The run's attempts cut off while sending: they may or may not have reached their
    provider (shown before `--resend-uncertain` sends them again)."""
    rows = wb.log.run_cells(run_id)
    settled = {r.cell for r in rows if r.status in DONE_STATUSES}
    return [
        r for r in rows
        if r.status == "interrupted" and r.error_kind == "uncertain" and r.cell not in settled
    ]


_ACTIVE: dict[str, RunHandle] = {}
_ACTIVE_LOCK = threading.Lock()


def launch(handle: RunHandle) -> RunHandle:
    """Runs the handle in a background thread of this process (the app's server) and keeps it
    findable by run id, so a page can show its progress and cancel it across reruns and
    sessions: a browser session that closes leaves the run going. When the process itself
    ends, its runs stop as if cancelled (`_stop_launched`), never half-recorded."""
    global _STOP_REGISTERED
    with _ACTIVE_LOCK:
        _ACTIVE[handle.run_id] = handle
        if not _STOP_REGISTERED:
            atexit.register(_stop_launched)
            _STOP_REGISTERED = True
    handle.start_in_thread()
    return handle


_STOP_REGISTERED = False
STOP_WAIT_S = 20.0  # at process exit: how long jobs in flight may take to finish and be logged


def _stop_launched(wait_s: float = STOP_WAIT_S) -> None:
    """At process exit (before the database closes): cancel every launched run, let its jobs
    in flight finish for up to `wait_s`, then record those still out as interrupted."""
    with _ACTIVE_LOCK:
        handles = [h for h in _ACTIVE.values() if not h.done.is_set()]
    for handle in handles:
        handle.cancel()
    deadline = time.monotonic() + wait_s
    for handle in handles:
        if not handle.done.wait(max(0.0, deadline - time.monotonic())):
            handle.abandon()
            handle.done.wait(5.0)


def active(run_id: str) -> RunHandle | None:
    with _ACTIVE_LOCK:
        return _ACTIVE.get(run_id)


def recover(wb: Workbench) -> tuple[int, int]:
    """After a crash: rows and runs owned by a dead process become `interrupted`."""
    labels = {name: provider_label(name) for name in default_concurrency()}
    return wb.queue.mark_interrupted(labels), wb.runs.mark_interrupted()
