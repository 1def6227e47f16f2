"""The generation in flight, as the HTTP layer sees it: its request id, reported cost, deadline
and retries (`Job`), how a provider stops it at the deadline (`Job.stop` -> `Stopped`), and the
hand-off that tells the log the job may now be billed (`mark_submitted`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workbench.domain.catalog import MEGAPIXEL, dimensions

if TYPE_CHECKING:
    from workbench.providers.base import Billing, ImageRequest, ImageResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stopped:
    """What a provider said about a job it was asked to stop at the deadline, polled to its
    final state: whether it is billed by the provider's documentation, in its own words."""

    billed: Billing
    said: str  # e.g. "Replicate aborted the prediction before it started"
    cost_usd: float | None = None
    cost_confirmed: bool = True  # False: an estimate (run time x a rate)


@dataclass
class Job:
    """What is known about the generation in flight; errors raised later carry it."""

    request_id: str | None = None
    cost_usd: float | None = None
    submitted_at: float | None = None  # perf_counter when the submit was accepted
    started_at: float | None = None  # perf_counter when the provider first said it was running
    model_name: str = ""  # for messages ("daily quota reached for MODEL on PROVIDER")
    retries: int = 0  # HTTP calls sent again (after a 429, a 503, a dropped poll...)
    waited_s: float = 0.0  # total time spent waiting before those retries
    deadline_at: float | None = None  # perf_counter at which the current wait gives up
    # The most pixels the offer documents for one image (None: the policy's cap): a larger
    # answer is refused from its header, before anything decodes it.
    max_pixels: int | None = None
    # Set by an adapter once the provider can stop the job (Replicate urls.cancel, fal
    # cancel_url): awaited when the deadline passes; it asks the provider to stop and polls
    # to the final state, returning the image if the job finished after all.
    stop: Callable[[], Awaitable[Stopped | ImageResult]] | None = None

    @classmethod
    def for_request(cls, request: ImageRequest) -> Job:
        return cls(model_name=request.model.name, max_pixels=max_pixels(request))

    def remaining_s(self) -> float | None:
        return None if self.deadline_at is None else self.deadline_at - time.perf_counter()


def max_pixels(request: ImageRequest) -> int:
    """The largest image the offer can answer with: its `max_output_mp` where the catalog gives
    one, else the model's largest size tier at its widest ratio, with a quarter of headroom
    (providers round sizes up: Gemini's 1K at 16:9 is 1376 x 768, more than 1024^2)."""
    offer, model = request.offer, request.model
    if offer.max_output_mp is not None:
        return int(offer.max_output_mp * 1_000_000)
    largest = max(
        dimensions(ratio, size)[0] * dimensions(ratio, size)[1]
        for ratio in model.aspect_ratios
        for size in model.sizes
    )
    return int(max(largest, MEGAPIXEL) * 1.25)


# The job of the generation running in this task: retries count and cap their waits on it.
CURRENT_JOB: ContextVar[Job | None] = ContextVar("workbench_current_job", default=None)


def current_job() -> Job | None:
    """The job of the generation running in this task (for messages that name its model)."""
    return CURRENT_JOB.get()


def mark_submitted(
    request: ImageRequest, provider_request_id: str | None, resume_url: str | None = None
) -> None:
    """Tell the log the job may now be billed (so a resumed run never sends it again), with
    the URL that finds the job again after a crash. A failure to record that must not lose an
    image already paid for, so it is only logged."""
    try:
        request.submitted(provider_request_id, resume_url)
    except Exception as exc:
        log.warning("could not record the submit of %s: %s", provider_request_id, exc)


def elapsed_ms(since: float | None, until: float | None = None) -> float | None:
    if since is None:
        return None
    return round(((until or time.perf_counter()) - since) * 1000, 3)
