"""One generation, start to finish: validate, plan, log pending, call the provider, store the
image, complete the log row. Every attempt that reaches a provider leaves exactly one row, with
its outcome or its error; a request that fails validation reaches no provider and no row.

Money, in the order it happens for one request:
1. `plan` works out the estimate and the most the request can cost by the provider's documented
   pricing (`most_cost`: for a token-billed offer, every documented token maximum at its
   price; otherwise the price at the size sent).
2. That maximum is reserved against the daily caps (`store.spending`) and, on the embedded
   database, the request is appended to the sent-requests ledger (`store.sent_ledger`), both
   before the request leaves; a ledger that cannot be written stops it there.
3. The answer's billed cost replaces the reservation (`AttemptLog.complete`). An answer billed
   above the documented maximum is flagged (`GenerationOutcome.over_max`): a run stops sending.
An attempt that stops before anything leaves (no key, a setting the provider refuses) is
`not_sent`: no reservation, cost 0, and it counts in no model's failure rate. An attempt still
with its provider when the caller stops waiting (a second Ctrl-C) is recorded `interrupted`
with its request id, or `uncertain` without one; `resend` sends an uncertain one again on
purpose.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from workbench.domain.catalog import (
    OFFLINE,
    CatalogError,
    ModelSpec,
    Offer,
    bills_input,
    estimate_cost,
    megapixels_sent,
    offer_notes,
    providers_for,
    ratios_for,
    sizes_for,
    wire_size,
)
from workbench.domain.ids import new_id
from workbench.domain.model_options import InvalidOptions, validate_options
from workbench.domain.prompt_checks import PreparedPrompt, lint
from workbench.domain.templates import FREE_TEXT
from workbench.errors import InvalidInput
from workbench.imaging.reference import ReferenceImage
from workbench.providers.base import (
    ErrorKind,
    ImageRequest,
    ImageResult,
    Provider,
    ProviderError,
)
from workbench.providers.registry import provider_label
from workbench.redact import redact
from workbench.services.runs import handoff, off_loop, shared_loop
from workbench.services.workbench import Workbench
from workbench.store.attempts import NewGeneration, Outcome
from workbench.store.images import NotAnImage, StoredImage
from workbench.store.records import CachedImage, Generation
from workbench.store.sent_ledger import LedgerUnwritable, SentEntry
from workbench.store.spending import Caps

log = logging.getLogger(__name__)


class GenerateRequest(BaseModel):
    """What a page or the command line asks for. Validated at the edge."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1)
    provider: str = "offline"
    prompt: str = Field(max_length=200_000)
    template_id: str | None = None
    slots: dict[str, str] | None = None
    aspect_ratio: str | None = None
    size: str | None = None
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)
    options: dict[str, Any] = {}
    run_id: str | None = None
    cell: str | None = None
    category: str | None = None
    prompt_key: str | None = Field(default=None, max_length=300)
    expected_text: str | None = Field(default=None, max_length=500)
    library_version_id: str | None = Field(default=None, max_length=100)  # loaded from the library
    parent_id: str | None = Field(default=None, max_length=64)  # the generation it refines
    send_reference: bool = False  # send the parent's image as a reference image
    created_by: str | None = Field(default=None, max_length=200)  # default: Settings.user

    @field_validator("aspect_ratio", "size", "template_id", "category")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if isinstance(value, str) else value


class InvalidRequest(InvalidInput):
    """The request cannot be sent; `problems` are sentences for a person."""

    def __init__(self, problems: list[str], prepared: PreparedPrompt | None = None) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
        self.prepared = prepared


class DailyCapReached(InvalidRequest):
    """Sending would pass a shared daily spending cap; nothing was sent or logged."""


class CannotResend(InvalidInput):
    """`resend` refused: the message says why."""


NOT_SENT = "not_sent"  # status and cost kind of an attempt that never left


@dataclass(frozen=True)
class Plan:
    """What will be sent, decided before anything is sent."""

    request: GenerateRequest
    model: ModelSpec
    prepared: PreparedPrompt
    image_request: ImageRequest
    estimated_cost_usd: float | None
    notes: tuple[str, ...] = ()  # how the request is adapted to the provider (custom size...)
    # The most it can cost by the provider's documented pricing: what is reserved before it
    # is sent (None when no source gives a price).
    max_cost_usd: float | None = None

    @property
    def reserve_usd(self) -> float:
        if self.max_cost_usd is not None:
            return self.max_cost_usd
        return self.estimated_cost_usd or 0.0

    @property
    def send_hash(self) -> str:
        """Identifies what goes on the wire (whatever the seed): the sent-requests ledger's
        key."""
        r = self.image_request
        payload = [
            self.request.provider, r.offer.model_id, r.prompt, r.aspect_ratio, r.size,
            r.width, r.height, r.seed, r.options, [ref.sha256 for ref in r.references],
        ]
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()

    @property
    def request_hash(self) -> str | None:
        """Identifies an identical request (same provider, model, text, parameters and an
        explicit seed), whose earlier image may be reused instead of paying again."""
        r = self.image_request
        if r.seed is None:
            return None
        payload = [
            self.request.provider,
            r.model.id,
            r.offer.model_id,
            r.prompt,
            r.aspect_ratio,
            r.size,
            r.width,
            r.height,
            r.seed,
            r.options,
        ]
        if r.references:  # an image made from a reference is not the one made without
            payload.append([ref.sha256 for ref in r.references])
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()

    def row(
        self,
        generation_id: str,
        params: dict[str, Any],
        status: str = "pending",
        resend_of: str | None = None,
    ) -> NewGeneration:
        """The log row for this plan: `pending` when it is about to be sent, `queued` for a
        cell of a run (its wire parameters are known only when it starts)."""
        r, img = self.request, self.image_request
        return NewGeneration(
            id=generation_id,
            model=self.model.id,
            provider=r.provider,
            provider_model_id=img.offer.model_id,
            prompt=img.prompt,
            prompt_written=r.prompt,
            template_id=r.template_id,
            slots=r.slots,
            params=params,
            aspect_ratio=img.aspect_ratio,
            size=img.size,
            seed=r.seed,
            run_id=r.run_id,
            cell=r.cell,
            category=r.category,
            status=status,
            request_hash=self.request_hash,
            prompt_key=r.prompt_key,
            expected_text=r.expected_text,
            library_version_id=r.library_version_id,
            parent_id=r.parent_id,
            created_by=r.created_by,
            resend_of=resend_of,
        )

    @property
    def warnings(self) -> list[str]:
        return [f.message for f in self.prepared.findings if f.severity == "warning"] + list(
            self.notes
        )


@dataclass(frozen=True)
class GenerationOutcome:
    id: str
    status: str
    model: str
    provider: str
    prompt: str
    params: dict[str, Any]
    image_path: str | None
    width: int | None
    height: int | None
    cost_usd: float | None
    cost_kind: str
    latency_ms: float | None
    error_kind: str | None
    error: str | None
    seed: int | None
    cached_from: str | None = None
    retries: int = 0
    retry_wait_s: float = 0.0
    max_cost_usd: float | None = None  # what was reserved: the most it could cost
    over_max: str | None = None  # why the bill passed the documented maximum, if it did

    @property
    def retry_note(self) -> str | None:
        """"Retried 2 times, waited 9 s in all." or None: shown by the CLI and the pages."""
        if not self.retries:
            return None
        times = "once" if self.retries == 1 else f"{self.retries} times"
        return f"Retried {times}, waited {self.retry_wait_s:g} s in all."

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "model": self.model,
            "provider": self.provider,
            "image_path": self.image_path,
            "cost_usd": self.cost_usd,
            "cost_kind": self.cost_kind,
            "latency_ms": self.latency_ms,
            "error_kind": self.error_kind,
            "error": self.error,
            "seed": self.seed,
            "width": self.width,
            "height": self.height,
            "cached_from": self.cached_from,
            "retries": self.retries,
            "retry_wait_s": self.retry_wait_s,
            "max_cost_usd": self.max_cost_usd,
            "over_max": self.over_max,
        }


SEED_PROBLEM = "Seed: a whole number from 0 to 4294967295, or empty for a random seed."


def _problem(error: Any) -> str:
    where = ".".join(str(p) for p in error["loc"])
    if where == "seed":  # one wording on every page, not the validator's ("Input should be…")
        return SEED_PROBLEM
    return f"{where or 'request'}: {error['msg']}"


def parse_request(data: dict[str, Any]) -> GenerateRequest:
    try:
        return GenerateRequest.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest([_problem(e) for e in exc.errors()]) from None


def plan(wb: Workbench, request: GenerateRequest) -> Plan:
    """Validate against the catalog and templates; raise InvalidRequest with every problem."""
    if request.created_by is None:
        request = request.model_copy(update={"created_by": wb.settings.user})
    if request.parent_id is not None and wb.log.get(request.parent_id) is None:
        raise InvalidRequest([f"No generation {request.parent_id} to refine from."])
    try:
        model = wb.catalog.model(request.model)
        offer = model.offer(request.provider)
    except CatalogError as exc:
        raise InvalidRequest([str(exc)]) from None
    template_id = request.template_id or FREE_TEXT
    try:
        template = wb.templates.get(template_id)
    except KeyError as exc:
        raise InvalidRequest([str(exc).strip("'\"")]) from None
    prepared = lint(request.prompt, model, template, wb.templates, request.slots)
    problems = list(prepared.errors)
    aspect_ratio = prepared.aspect_ratio or request.aspect_ratio or model.default_aspect_ratio
    if aspect_ratio not in model.aspect_ratios and not prepared.aspect_ratio:
        problems.append(
            f"{model.name} does not take aspect ratio {aspect_ratio}; it takes "
            f"{', '.join(model.aspect_ratios)}."
        )
    size = request.size or model.default_size
    if size not in model.sizes:
        problems.append(
            f"{model.name} does not take size {size}; it takes {', '.join(model.sizes)}."
        )
    elif aspect_ratio in model.aspect_ratios:
        problems.extend(_offer_problems(wb, model, request.provider, aspect_ratio, size))
    try:
        options = validate_options(model.options, model.name, dict(request.options))
    except InvalidOptions as exc:
        options = {}
        problems.extend(exc.problems)
    references = _references(wb, request, model, offer, problems)
    if problems:
        raise InvalidRequest(problems, prepared)
    sent = wire_size(model, request.provider, aspect_ratio, size)
    width, height = sent.width, sent.height
    notes: tuple[str, ...] = ()
    if sent.custom:
        label = provider_label(request.provider)
        notes = (
            f"{label} has no {aspect_ratio} for {model.name}: it is sent as a custom size "
            f"of {width}×{height} px.",
        )
    input_mp = sum(megapixels_sent(offer, r.width, r.height) for r in references)
    estimated = estimate_cost(model, request.provider, aspect_ratio, size, input_mp)
    notes += tuple(_reference_note(model, offer, r, input_mp) for r in references)
    notes += offer_notes(model, offer, options)
    image_request = ImageRequest(
        model=model,
        offer=offer,
        prompt=prepared.text,
        aspect_ratio=aspect_ratio,
        size=size,
        width=width,
        height=height,
        seed=request.seed,
        options=options,
        references=references,
    )
    return Plan(
        request=request,
        model=model,
        prepared=prepared,
        image_request=image_request,
        estimated_cost_usd=estimated,
        notes=notes,
        max_cost_usd=most_cost(offer, estimated),
    )


def most_cost(offer: Offer, estimated: float | None) -> float | None:
    """The most one request can cost by the provider's documented pricing.

    Token-billed offers (Gemini) bill every input and output token: the most is the documented
    input-token limit at the input price, plus the image tokens one image takes at most at the
    image price, plus the rest of the documented output-token limit (text and thinking) at the
    text price. The figures and their sources are data (`most_tokens` in the catalog); the
    Vertex AI model page of Gemini 3.1 Flash Image, for one, says it "consumes up to 2520
    tokens for each image generated" with at most 32,768 output tokens. Every other offer bills
    a price fixed by the size sent (per image or per megapixel), so the estimate is the most.
    """
    limits, prices = offer.most_tokens, offer.token_usd_per_million
    if limits is None or prices is None:
        return estimated
    cost = (
        limits.input * prices.input
        + limits.image_output * prices.image_output
        + (limits.output - limits.image_output) * prices.text_output
    ) / 1_000_000
    return round(max(cost, estimated or 0.0), 6)


def over_maximum(planned: Plan, cost_usd: float | None, meta: dict[str, Any]) -> str | None:
    """Why a billed answer passes what the provider documents as the most (None when it does
    not): its cost above the reserved maximum, or more image tokens than one image takes."""
    model, offer = planned.model, planned.image_request.offer
    limits = offer.most_tokens
    tokens = meta.get("tokens") if isinstance(meta, dict) else None
    label = provider_label(offer.provider)
    if limits is not None and isinstance(tokens, dict):
        image = tokens.get("image")
        if isinstance(image, int) and image > limits.image_output:
            return (
                f"{label} billed {image:,} image tokens for one {model.name} image; its "
                f"documentation says one image takes at most {limits.image_output:,}."
            )
    most = planned.max_cost_usd
    if cost_usd is not None and most is not None and cost_usd > most + 1e-9:
        return (
            f"{label} billed ${cost_usd:,.4f} for one {model.name} image, more than the "
            f"${most:,.4f} its documented pricing allows at most."
        )
    return None


def _references(
    wb: Workbench, request: GenerateRequest, model: ModelSpec, offer: Offer, problems: list[str]
) -> tuple[ReferenceImage, ...]:
    """The draft's image made ready for this offer, when asked to send it; a reason it cannot
    be sent goes to `problems`, so nothing is sent or paid."""
    if not request.send_reference:
        return ()
    if request.parent_id is None:
        problems.append("A reference image needs the draft it comes from (parent_id).")
        return ()
    try:
        return (handoff.reference_for(wb, request.parent_id, model, offer),)
    except InvalidInput as exc:
        problems.append(str(exc))
        return ()


def _reference_note(model: ModelSpec, offer: Offer, ref: ReferenceImage, input_mp: float) -> str:
    what = f"The draft goes along as a reference image ({ref.width}×{ref.height} px"
    what += f"; {ref.converted})." if ref.converted else ")."
    label = provider_label(offer.provider)
    if offer.provider == OFFLINE:  # costs nothing either way
        return what
    if bills_input(offer):
        return (
            f"{what} The estimate counts its {input_mp:.2f} input megapixels: {label} bills "
            f"input megapixels for {model.name}."
        )
    if offer.token_usd_per_million is not None:
        return (
            f"{what} {label} bills it as input tokens, which the logged cost counts and the "
            "estimate leaves out."
        )
    return f"{what} {label}'s price for {model.name} does not count input images."


def _offer_problems(
    wb: Workbench, model: ModelSpec, provider: str, aspect_ratio: str, size: str
) -> list[str]:
    """What this provider cannot make of the model, naming the providers that can."""
    what = []
    if aspect_ratio not in ratios_for(model, provider):
        what.append(f"aspect ratio {aspect_ratio}")
    if size not in sizes_for(model, provider):
        what.append(f"size {size}")
    if not what:
        return []
    others = [provider_label(p) for p in providers_for(model, aspect_ratio, size)]
    can = f" {', '.join(others)} can." if others else " No provider can."
    return [
        f"{provider_label(provider)} does not offer {' at '.join(what)} for {model.name}."
        + can
    ]


@dataclass(frozen=True)
class Preview:
    """The live view of a request while it is being written: checks, and the plan if valid."""

    prepared: PreparedPrompt | None
    plan: Plan | None
    problems: list[str]


def preview(wb: Workbench, request: GenerateRequest) -> Preview:
    try:
        planned = plan(wb, request)
    except InvalidRequest as exc:
        return Preview(exc.prepared, None, exc.problems)
    return Preview(planned.prepared, planned, [])


async def execute(
    wb: Workbench,
    planned: Plan,
    provider: Provider,
    *,
    generation_id: str | None = None,
    reuse: CachedImage | None = None,
    new_id_hint: str | None = None,
    resend_of: str | None = None,
) -> GenerationOutcome:
    """Run a planned generation on an open provider, logging before and after.

    `generation_id` names a queued row of a run to start instead of inserting a new one
    (`new_id_hint`: the id of the new row otherwise). `reuse` is an earlier identical success
    (`GenerationLog.find_cached`): its image is reused, nothing is sent and nothing is paid.
    `resend_of` names the uncertain attempt this one sends again.

    When the task is cancelled while the request is with the provider (the caller stopped
    waiting), the attempt is recorded `interrupted` with its request id (or `uncertain`)
    before the cancellation goes on.
    """
    req = planned.request
    queued = generation_id is not None
    gid = generation_id or new_id_hint or new_id("gen")

    # The write that keeps the provider's job id runs while the job is polled; the outcome's
    # write waits for it (both change the same row).
    accepted: list[concurrent.futures.Future[None]] = []

    def submitted(rid: str | None, url: str | None) -> None:
        # Only an id is worth a write: the row already says the request may have gone out.
        if rid:
            accepted.append(off_loop.later(wb.attempts.mark_submitted, gid, rid, url))

    image_request = dataclasses.replace(planned.image_request, on_submitted=submitted)
    try:
        params = provider.wire_params(image_request)
    except ProviderError as exc:
        # Nothing can leave (no key, a setting this provider refuses): not the model's failure.
        params = {"aspect_ratio": image_request.aspect_ratio, "size": image_request.size}
        return await _not_sent(wb, planned, gid, queued, params, exc)

    def log_attempt(cur: Any = None) -> None:
        if queued:
            wb.attempts.start(gid, params, cur)
        else:
            wb.attempts.insert_pending(planned.row(gid, params, resend_of=resend_of), cur)

    def reserve_and_log() -> str | None:
        # Reserved in the database before the request leaves (the caps hold across
        # processes), in one transaction with the attempt's row (one commit to disk), then
        # the sent-requests ledger.
        refusal = wb.spending.reserve(
            gid,
            wb.settings.user,
            planned.reserve_usd,
            Caps(wb.settings.daily_budget_usd, wb.settings.user_daily_budget_usd),
            then=log_attempt,
            fresh=not queued,
        )
        if refusal is None:
            _ledger(wb, planned, gid, queued)
        return refusal

    if reuse is None:
        refusal = await off_loop.run(reserve_and_log)
        if refusal:
            raise DailyCapReached([refusal], planned.prepared)
    else:
        await off_loop.run(log_attempt)
    if reuse is not None:
        attempted = _Attempted(_reused(reuse))
    else:
        started = time.perf_counter()
        try:
            attempted = await _attempt(wb, planned, image_request, provider, started)
        except asyncio.CancelledError:
            # The caller stopped waiting: keep what is known, so `recover` can fetch it. If
            # even that write fails, the row stays `pending` and the next start marks it.
            for write in accepted:
                off_loop.finish(write, f"recording that {gid} was accepted")
            try:
                wb.queue.abandon(gid, provider_label(req.provider), req.run_id)
            except Exception:
                log.exception("could not record that %s was left with its provider", gid)
            raise
    # Writes run off the event loop so that many jobs in flight do not queue behind them; the
    # outcome's write after the job id's, in one piece of work no cancellation can split.
    outcome = await off_loop.run(_complete, wb, gid, attempted, accepted)
    if outcome.image is not None and attempted.data is not None:
        # Decoding for the thumbnail starts only now, so it never competes with the writes
        # above for the CPU (the attempt's critical path).
        wb.images.recorded(outcome.image, attempted.data)
    if outcome.status == "succeeded":
        wb.succeeded(gid)
    return _reported(wb, planned, gid, params, outcome, attempted.over)


def _complete(
    wb: Workbench, gid: str, attempted: _Attempted,
    accepted: list[concurrent.futures.Future[None]],
) -> Outcome:
    """Write the outcome, and return the one written. It waits for the write of the
    provider's job id (both change the same row; that write's failure loses nothing the
    outcome does not carry, so it is only logged) and commits only once the image is stored:
    an image that could not be stored leaves the attempt failed, at what was billed."""
    for write in accepted:
        off_loop.finish(write, f"recording that {gid} was accepted")
    outcome, storing = attempted.outcome, attempted.storing
    if storing is None:
        wb.attempts.complete(gid, outcome)
        return outcome
    try:
        wb.attempts.complete(gid, outcome, before_commit=storing.result)
        return outcome
    except Exception as exc:
        if not storing.done() or storing.exception() is not exc:
            raise  # the database's own failure
        message = redact(f"The image arrived but could not be stored: {exc}", wb.settings)
        log.error("%s: %s", gid, message)
    failed = dataclasses.replace(
        outcome, status="failed", image=None, error_kind="storage", error_message=message,
        may_be_billed=True,  # delivered, so billed: at the success's cost
    )
    wb.attempts.complete(gid, failed)
    return failed


def _ledger(wb: Workbench, planned: Plan, gid: str, queued: bool) -> None:
    """Append the request to the sent-requests ledger before it leaves; a ledger that cannot
    be written takes the reservation back and stops the request here: a run's cell is queued
    again, a single attempt is recorded as not sent, with the reason."""
    ledger = wb.sent.ledger
    if ledger is None or planned.request.provider == OFFLINE:  # durable commits; nothing paid
        return
    req = planned.request
    entry = SentEntry(gid, planned.send_hash, req.provider, req.run_id, req.cell)
    try:
        ledger.append(entry)
    except LedgerUnwritable as exc:
        wb.spending.release(gid)
        if queued:
            wb.attempts.unstart(gid)
        else:
            wb.attempts.complete(gid, Outcome(
                status=NOT_SENT, cost_usd=0.0, cost_kind=NOT_SENT, error_kind="ledger",
                error_message=redact(str(exc), wb.settings)))
        raise


async def _not_sent(
    wb: Workbench,
    planned: Plan,
    gid: str,
    queued: bool,
    params: dict[str, Any],
    error: ProviderError,
) -> GenerationOutcome:
    outcome = Outcome(
        status=NOT_SENT,
        cost_usd=0.0,
        cost_kind=NOT_SENT,
        error_kind=error.kind,
        error_message=redact(f"Not sent: {error.message}", wb.settings),
    )
    if queued:
        await off_loop.run(wb.attempts.complete, gid, outcome)
    else:
        await off_loop.run(
            wb.attempts.insert_pending, planned.row(gid, params, status=NOT_SENT)
        )
        await off_loop.run(wb.attempts.complete, gid, outcome)
    return _reported(wb, planned, gid, params, outcome, None)


def _reported(
    wb: Workbench,
    planned: Plan,
    gid: str,
    params: dict[str, Any],
    outcome: Outcome,
    over: str | None,
) -> GenerationOutcome:
    req, image = planned.request, outcome.image
    return GenerationOutcome(
        id=gid,
        status=outcome.status,
        model=planned.model.id,
        provider=req.provider,
        prompt=planned.image_request.prompt,
        params=params,
        image_path=str(wb.images.absolute(image.path)) if image else None,
        width=image.width if image else None,
        height=image.height if image else None,
        cost_usd=outcome.cost_usd,
        cost_kind=outcome.cost_kind,
        latency_ms=outcome.latency_ms,
        error_kind=outcome.error_kind,
        error=outcome.error_message,
        seed=outcome.seed_returned if outcome.seed_returned is not None else req.seed,
        cached_from=outcome.cached_from,
        retries=outcome.retries,
        retry_wait_s=outcome.retry_wait_s,
        max_cost_usd=planned.max_cost_usd,
        over_max=over,
    )


def _reused(cached: CachedImage) -> Outcome:
    image = StoredImage(
        sha256=cached.image_sha256,
        path=cached.path,
        thumb_path=cached.thumb_path,
        mime=cached.mime,
        bytes=cached.bytes,
        width=cached.width,
        height=cached.height,
    )
    return Outcome(
        status="succeeded",
        latency_ms=0.0,
        cost_usd=0.0,
        cost_kind="cached",
        seed_returned=cached.seed_returned,
        image=image,
        cached_from=cached.id,
    )


@dataclass
class _Attempted:
    """What `_attempt` learnt: the outcome, why its bill passes the documented maximum (None
    when it does not), and the image being stored meanwhile (`ImageStore.store` on the
    write pool), whose thumbnail is made once the outcome is recorded."""

    outcome: Outcome
    over: str | None = None
    data: bytes | None = None
    storing: concurrent.futures.Future[StoredImage] | None = None


async def _attempt(
    wb: Workbench,
    planned: Plan,
    image_request: ImageRequest,
    provider: Provider,
    started: float,
) -> _Attempted:
    def elapsed() -> float:
        return round((time.perf_counter() - started) * 1000, 3)

    result: ImageResult | None = None
    try:
        result = await provider.generate(image_request)
        checked = await off_loop.run(wb.images.check, result.data)
    except ProviderError as exc:
        return _Attempted(Outcome(
            status=exc.status,
            latency_ms=elapsed(),
            error_kind=exc.kind,
            error_message=redact(exc.message, wb.settings),
            provider_request_id=exc.provider_request_id,
            cost_usd=exc.cost_usd,
            cost_kind=exc.cost_kind,
            retries=getattr(exc, "retries", 0),
            retry_wait_s=getattr(exc, "retry_wait_s", 0.0),
            # an adapter that says the failed job may be paid keeps its reservation
            may_be_billed=exc.billed in ("billed", "may_be_billed"),
        ), over_maximum(planned, exc.cost_usd, {}))
    except NotAnImage as exc:
        assert result is not None  # only checking the delivered bytes raises it
        return _Attempted(billed_failure(result, planned.estimated_cost_usd, elapsed(),
                                         "malformed", redact(str(exc), wb.settings)))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a workbench bug must still leave a completed, explained row
        log.exception("generation failed unexpectedly")
        message = redact(f"Unexpected error: {type(exc).__name__}: {exc}", wb.settings)
        if result is not None:  # delivered, so billed all the same
            return _Attempted(billed_failure(
                result, planned.estimated_cost_usd, elapsed(), "internal", message))
        return _Attempted(Outcome(
            status="failed", latency_ms=elapsed(), error_kind="internal", error_message=message,
        ))
    # Written while the outcome's row is: that write commits once this one has ended.
    storing = off_loop.later(wb.images.store, checked, thumbnail_later=True)
    outcome = succeeded(result, checked.stored, planned.estimated_cost_usd, latency_ms=elapsed())
    return _Attempted(
        outcome, over_maximum(planned, outcome.cost_usd, result.meta), result.data, storing
    )


def billed_failure(
    result: ImageResult,
    estimated_cost_usd: float | None,
    latency_ms: float | None,
    kind: ErrorKind,
    message: str,
) -> Outcome:
    """A delivered image the workbench could not keep: failed, at the cost a success would
    have recorded (the provider billed the work); without any figure the reservation stays."""
    delivered = succeeded(result, None, estimated_cost_usd, latency_ms=latency_ms)
    return dataclasses.replace(
        delivered, status="failed", error_kind=kind, error_message=message, may_be_billed=True
    )


def succeeded(
    result: ImageResult,
    stored: StoredImage | None,
    estimated_cost_usd: float | None,
    *,
    latency_ms: float | None = None,
) -> Outcome:
    """The log's outcome for an image a provider delivered: the provider's reported cost wins,
    else the catalog estimate (marked as such)."""
    if result.cost_usd is not None:
        cost, cost_kind = result.cost_usd, "known" if result.cost_confirmed else "estimated"
    elif estimated_cost_usd is not None:
        cost, cost_kind = estimated_cost_usd, "estimated"
    else:
        cost, cost_kind = None, "unknown"
    return Outcome(
        status="succeeded",
        latency_ms=latency_ms,
        queue_ms=result.queue_ms,
        cost_usd=cost,
        cost_kind=cost_kind,
        provider_model_id=result.provider_model_id,
        provider_request_id=result.provider_request_id,
        seed_returned=result.seed,
        image=stored,
        retries=result.retries,
        retry_wait_s=result.retry_wait_s,
        prompt_used=result.prompt_used,
    )


async def generate(wb: Workbench, request: GenerateRequest) -> GenerationOutcome:
    planned = plan(wb, request)
    provider = wb.open_provider(request.provider)
    try:
        return await execute(wb, planned, provider)
    finally:
        await provider.aclose()


def generate_sync(wb: Workbench, request: GenerateRequest) -> GenerationOutcome:
    """For callers without an event loop (a Streamlit rerun): on the process's shared loop,
    with the provider's client kept open for the next image (`shared_loop`)."""

    async def on_shared_loop() -> GenerationOutcome:
        planned = plan(wb, request)
        return await execute(wb, planned, await shared_loop.provider_for(wb, request.provider))

    return shared_loop.run(on_shared_loop)


_ID = re.compile(r"[A-Za-z0-9_.-]{1,100}")


def resend_plan(wb: Workbench, generation_id: str) -> tuple[Plan, Generation]:
    """What `resend` would send for `generation_id`, and the attempt it repeats. Raises
    `CannotResend` with the reason when that attempt is not one to send again: only one cut
    off while sending (`uncertain`: it may or may not have reached its provider) is."""
    gid = generation_id.strip()
    if not _ID.fullmatch(gid):
        raise CannotResend(f"{generation_id[:100]!r} is not an attempt id (gen_...).")
    record = wb.log.get(gid)
    if record is None:
        raise CannotResend(
            f"No attempt {gid} in this database ({wb.db.location}): it belongs to another "
            "data directory or team database. Set WORKBENCH_DATA_DIR (or "
            "WORKBENCH_DATABASE_URL) to the one it belongs to and send it again from there."
        )
    label = provider_label(record.provider)
    if record.status == "succeeded":
        raise CannotResend(
            f"Attempt {gid} succeeded: its image is stored and was paid for. Sending it again "
            "would pay for a second image; to make another, generate it anew (History's Open "
            "in builder, or `workbench generate`)."
        )
    if record.status == "interrupted" and record.error_kind == "resent":
        raise CannotResend(f"Attempt {gid} was already sent again: {record.error_message}")
    if record.status == "interrupted" and record.error_kind == "interrupted" and (
        record.provider_request_id
    ):
        raise CannotResend(
            f"Attempt {gid} reached {label} (request {record.provider_request_id}), so it is "
            "not sent again: `workbench recover` fetches its result while the provider keeps "
            "it."
        )
    if record.status != "interrupted" or record.error_kind != "uncertain":
        raise CannotResend(
            f"Attempt {gid} is {record.status}; only an attempt cut off while sending (it may "
            "or may not have reached its provider) is sent again by hand."
        )
    planned = plan(wb, _request_of(wb, record))
    return planned, record


def _request_of(wb: Workbench, record: Generation) -> GenerateRequest:
    """The request an attempt was made from: its run's cell as the run was started, else
    what its row records (options are kept by runs only)."""
    if record.run_id and record.cell:
        run = wb.runs.get(record.run_id)
        for cell in ((run.spec if run else None) or {}).get("cells", []):
            if cell.get("key") == record.cell:
                data = {**cell["request"], "run_id": record.run_id, "cell": record.cell}
                return parse_request(data)
    return parse_request(
        {
            "model": record.model,
            "provider": record.provider,
            "prompt": record.prompt_written or record.prompt,
            "template_id": record.template_id,
            "slots": record.slots,
            "aspect_ratio": record.aspect_ratio,
            "size": record.size,
            "seed": record.seed,
            "run_id": record.run_id,
            "cell": record.cell,
            "category": record.category,
            "prompt_key": record.prompt_key,
            "expected_text": record.expected_text,
            "library_version_id": record.library_version_id,
            "parent_id": record.parent_id,
        }
    )


async def resend_async(wb: Workbench, generation_id: str) -> GenerationOutcome:
    planned, record = resend_plan(wb, generation_id)
    new = new_id("gen")
    # Marked first: a crash after this point never offers the old attempt again.
    await off_loop.run(wb.sent.mark_resent, record.id, new)
    provider = wb.open_provider(planned.request.provider)
    try:
        return await execute(wb, planned, provider, new_id_hint=new, resend_of=record.id)
    finally:
        await provider.aclose()


def resend(wb: Workbench, generation_id: str) -> GenerationOutcome:
    """History's "Send again" (and `workbench generate --resend`): send once more an attempt
    that may or may not have reached its provider. The caller has told the person that it
    may then be billed twice. The new attempt names the old one (`resend_of`); the old one
    says it was sent again and is not offered again. Refused with a reason (`CannotResend`)
    for an attempt that succeeded, reached its provider, is of another database, or was not
    cut off while sending."""
    return asyncio.run(resend_async(wb, generation_id))
