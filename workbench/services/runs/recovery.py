"""Recovery instead of loss: jobs a provider accepted before the workbench stopped are fetched
from the provider, never sent again.

When the process dies mid-run its in-flight attempts become `interrupted`; those whose provider
had already answered the submit have a request id and a status URL in the log. `recover_jobs`
polls each of them at the provider (through the adapter's `recover`): a finished job's image is
stored and the attempt becomes `succeeded` (or the real `moderated` / `failed` outcome), with its
cost; a result the provider no longer keeps (BFL sample links live 10 minutes, Replicate output
files an hour) is marked "expired at the provider". Nothing is sent twice: `recover` only reads.
Called on resume, by `workbench recover` and from the History page.

On the embedded database `recover_jobs` also reads the sent-requests ledger
(`store.sent_ledger`): a request the ledger says was sent but whose attempt the database does
not record as sent (the database lost its last writes) is listed in `unaccounted`, so nobody
sends it again believing it never left.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from workbench.domain.catalog import CatalogError, estimate_cost
from workbench.domain.plural import count
from workbench.providers.base import ImageResult, ProviderError, Resumable
from workbench.providers.registry import provider_label
from workbench.redact import redact
from workbench.services.runs import off_loop
from workbench.services.runs.generation import billed_failure, succeeded
from workbench.services.workbench import Workbench
from workbench.store.attempts import Outcome
from workbench.store.images import NotAnImage
from workbench.store.records import ResumableAttempt
from workbench.store.sent_ledger import SentEntry

log = logging.getLogger(__name__)
# Kinds that say the provider finished the job (with a real outcome to record).
_FINISHED_BADLY = frozenset({"moderated", "server", "no_image", "untrusted"})
_AT_ONCE = 8  # recoveries in flight per provider: polls are free but still count as requests


@dataclass
class RecoveryReport:
    recovered: list[str] = field(default_factory=list)  # now succeeded, with their image
    finished_badly: list[str] = field(default_factory=list)  # moderated / failed there
    expired: list[str] = field(default_factory=list)  # the provider no longer has the result
    still_open: list[str] = field(default_factory=list)  # could not be asked now; try later
    messages: list[str] = field(default_factory=list)
    # sent by the ledger, unknown to the log: now `uncertain` where the attempt's row is left
    unaccounted: list[SentEntry] = field(default_factory=list)

    @property
    def unaccounted_text(self) -> list[str]:
        """"gen_… (run run_…, cell …)" per request the log could not account for."""
        return [
            f"{e.generation_id}" + (f" (run {e.run_id}, cell {e.cell})" if e.run_id else "")
            for e in self.unaccounted
        ]

    @property
    def checked(self) -> int:
        return sum(map(len, (self.recovered, self.finished_badly, self.expired, self.still_open)))

    def summary(self) -> str:
        lost = (
            f" {count(len(self.unaccounted), 'request')} "
            f"{'was' if len(self.unaccounted) == 1 else 'were'} sent (the sent-requests ledger "
            "says so) but the database has no record of them; they are not sent again: "
            + ", ".join(self.unaccounted_text)
            if self.unaccounted
            else ""
        )
        if not self.checked:
            return "No interrupted job is waiting at a provider." + lost
        return (
            f"Checked {count(self.checked, 'interrupted job')} at their providers: "
            f"{len(self.recovered)} recovered, {len(self.finished_badly)} finished without an "
            f"image, {len(self.expired)} expired at the provider, {len(self.still_open)} left "
            "to try later." + lost
        )


async def recover_jobs(wb: Workbench, run_id: str | None = None) -> RecoveryReport:
    rows = await off_loop.run(wb.log.resumable, run_id)
    report = RecoveryReport()
    by_provider: dict[str, list[ResumableAttempt]] = {}
    for row in rows:
        by_provider.setdefault(row.provider, []).append(row)
    await asyncio.gather(*(_lane(wb, name, jobs, report) for name, jobs in by_provider.items()))
    report.unaccounted = await off_loop.run(reconcile_ledger, wb, run_id)
    return report


def reconcile_ledger(wb: Workbench, run_id: str | None = None) -> list[SentEntry]:
    """The sent-requests ledger's entries (of one run, or all) whose attempt the database does
    not record as sent: it lost its last writes. The request was about to leave when its entry
    was written, so it may or may not have reached the provider: an attempt row still there is
    marked `uncertain` (never sent again unless asked, `resend`); the entries returned are
    those the log could not account for."""
    ledger = wb.sent.ledger
    if ledger is None:
        return []
    entries = ledger.entries(run_id)
    known = wb.sent.recorded_as_sent([e.generation_id for e in entries])
    lost = [e for e in entries if e.generation_id not in known]
    for entry in lost:
        wb.sent.mark_uncertain(
            entry.generation_id, provider_label(entry.provider), entry.run_id
        )
    return lost


def waiting(wb: Workbench) -> int:
    """How many interrupted attempts could still be fetched from their providers."""
    return len(wb.log.resumable())


def recover_jobs_sync(wb: Workbench, run_id: str | None = None) -> RecoveryReport:
    """For callers without an event loop (the command line, a Streamlit rerun, a resume)."""
    return asyncio.run(recover_jobs(wb, run_id))


async def _lane(
    wb: Workbench, name: str, rows: list[ResumableAttempt], report: RecoveryReport
) -> None:
    provider = wb.open_provider(name)
    limit = asyncio.Semaphore(_AT_ONCE)
    try:
        fetch = getattr(provider, "recover", None)
        if fetch is None:
            report.still_open.extend(r.id for r in rows)
            report.messages.append(f"{name} cannot fetch an earlier job's result.")
            return

        async def one(row: ResumableAttempt) -> None:
            async with limit:
                await _recover_one(wb, fetch, row, report)

        await asyncio.gather(*(one(r) for r in rows))
    finally:
        await provider.aclose()


async def _recover_one(
    wb: Workbench, fetch: Any, row: ResumableAttempt, report: RecoveryReport
) -> None:
    gid = row.id
    resumable = Resumable(
        provider_request_id=row.provider_request_id,
        resume_url=row.resume_url,
        provider_model_id=row.provider_model_id,
        seed=row.seed,
    )
    try:
        result: ImageResult = await fetch(resumable)
        stored = await off_loop.run(wb.images.put, result.data)
    except ProviderError as exc:
        message = redact(exc.message, wb.settings)
        if exc.kind == "not_found":
            await off_loop.run(
                wb.queue.mark_expired,
                gid,
                f"Expired at the provider: the job finished, but its result can no longer be "
                f"fetched ({message}). It was not sent again.",
            )
            report.expired.append(gid)
        elif exc.kind in _FINISHED_BADLY:
            outcome = Outcome(
                status=exc.status,
                error_kind=exc.kind,
                error_message=message,
                provider_request_id=exc.provider_request_id,
                cost_usd=exc.cost_usd,
                cost_kind=exc.cost_kind,
            )
            await off_loop.run(wb.attempts.complete, gid, outcome)
            report.finished_badly.append(gid)
        else:  # auth, connection, still running past the deadline...: ask again later
            report.still_open.append(gid)
            report.messages.append(f"{gid}: {message}")
        return
    except NotAnImage as exc:
        # Delivered, so billed: at the cost a success would have recorded.
        outcome = billed_failure(result, _estimate(wb, row), None, "malformed",
                                 redact(str(exc), wb.settings))
        await off_loop.run(wb.attempts.complete, gid, outcome)
        report.finished_badly.append(gid)
        return
    outcome = succeeded(result, stored, _estimate(wb, row))
    await off_loop.run(wb.attempts.complete, gid, outcome)
    wb.images.recorded(stored)
    wb.succeeded(gid)
    report.recovered.append(gid)


def _estimate(wb: Workbench, row: ResumableAttempt) -> float | None:
    """The catalog estimate at the logged ratio and size (None when the catalog has no price,
    or no longer knows the model)."""
    if row.aspect_ratio is None or row.size is None:
        return None  # nothing to price it at
    try:
        model = wb.catalog.model(row.model)
        return estimate_cost(model, row.provider, row.aspect_ratio, row.size)
    except (CatalogError, TypeError, KeyError):
        return None
