"""Shared HTTP machinery of the hosted-API providers: one `ApiClient` per generation, built from
small parts (`retries.Retrier` sends with bounded retries, `failures.Failures` classifies what
went wrong, `downloads.Downloader` fetches result images, `trust.KeyScope` decides which URLs
may carry the key, `jobs.Job` holds what is known about the job in flight).

Every adapter (gemini, bfl, replicate, fal) runs one generation inside `ApiClient.run`, which
enforces the overall deadline, stops the job at the provider where it can (polling it to its
final state: billed or not, as the provider documents), refuses an image larger than the offer
documents before anything decodes it, and stamps any error with what is already known about the
job (request id, reported cost). How failures map::

    what happened                                   kind           retried?
    ----------------------------------------------  -------------  ------------------------------
    HTTP 401 / 403                                  auth           never ("check your key for X")
    HTTP 402, or a body saying "insufficient credit" credits       never
    HTTP 400 / 422 (and other 4xx)                  bad_request    never (the provider's detail)
    HTTP 404 / 410 on an API call                   not_found      never
    HTTP 404 / 403 / 410 on an image URL            not_found      never (the URL expired)
    HTTP 408 / 429                                  rate_limited   yes, bounded, honouring
                                                                   Retry-After (paid submit: only
                                                                   where the adapter allows it)
    HTTP 5xx                                        server         idempotent calls: bounded with
                                                                   backoff; paid submit: only
                                                                   where the adapter allows it
    httpx.ConnectError (request never left)         connection     yes, bounded, with backoff
    httpx.ConnectTimeout / ReadTimeout / ...        timeout        idempotent calls only
    other transport errors (dropped connection)     connection     idempotent calls only
    overall deadline (`HttpPolicy.deadline_s`)      timeout        no
    answer that is not JSON / lacks a needed field  malformed      no
    image body cut off, or too large                malformed      download retried, then no
    a status / result / cancel URL off the API      untrusted      no (no request is made)

"Paid submit" is the call that starts (and bills) a generation. It is only sent again when the
provider certainly did no work: the connection was never made, or the adapter's `retry_submit`
rule recognises the answer as a refusal (429, and per provider a few gateway codes). A read
timeout or a dropped connection after the request left is never retried on a submit.

Keys: the client has no default auth headers; adapters pass them per API call, only to URLs
the key scope allows; downloads of result URLs (often on another host) never carry a key, and
every message passes `Failures.redact`.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from functools import cache
from typing import Any, NoReturn

import httpx

from workbench.domain.catalog import PROVIDER_LABELS
from workbench.providers.base import ImageResult, ProviderError
from workbench.providers.downloads import Downloaded, Downloader, check_url, pixels_in_header
from workbench.providers.failures import Classifier, Failures, key_help
from workbench.providers.jobs import (
    CURRENT_JOB,
    Job,
    Stopped,
    current_job,
    elapsed_ms,
    mark_submitted,
)
from workbench.providers.policy import HttpPolicy
from workbench.providers.retries import (
    Retrier,
    Sleep,
    SubmitRule,
    always,
    never_sent,
    refused,
    transient,
)
from workbench.providers.trust import KeyScope
from workbench.redact import MASK

__all__ = [
    "MASK", "ApiClient", "Classifier", "Downloaded", "HostedProvider", "HttpPolicy", "Job",
    "Sleep", "Stopped", "current_job", "elapsed_ms", "key_help", "mark_submitted", "refused",
]
log = logging.getLogger(__name__)


@cache
def shared_ssl_context() -> ssl.SSLContext:
    """One verifying SSL context per process: loading the CA bundle costs ~40 ms, and every
    generation builds a fresh client (clients must not cross event loops)."""
    return httpx.create_ssl_context()


class ApiClient:
    """One provider's HTTP client: an `httpx.AsyncClient` plus the rules above."""

    def __init__(
        self,
        provider: str,
        *,
        key: str,
        policy: HttpPolicy,
        sleep: Sleep | None = None,
        classify: Classifier | None = None,
        scope: KeyScope | None = None,
    ) -> None:
        self.provider = provider
        self.label = PROVIDER_LABELS.get(provider, provider)
        self.policy = policy
        self.scope = scope
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=policy.connect_s, read=policy.read_s, write=policy.write_s,
                pool=policy.connect_s,
            ),
            headers={"User-Agent": "prompt-workbench/0.1", "Accept": "application/json"},
            follow_redirects=False,
            verify=shared_ssl_context(),
        )
        self.failures = Failures(provider, self.label, key=key, classify=classify)
        self.retrier = Retrier(client, policy, self.failures, sleep)
        self.downloader = Downloader(self.retrier, self.label, policy.max_image_bytes)

    async def aclose(self) -> None:
        await self.retrier.client.aclose()

    # -- the whole generation ----------------------------------------------------------------
    async def run(self, work: Awaitable[ImageResult], job: Job) -> ImageResult:
        """Await `work` within the overall deadline; errors leave with the job's id, cost and
        retries. At the deadline a job the provider can stop is stopped and followed to its
        final state (`_at_deadline`)."""
        deadline = self.policy.deadline_s
        job.deadline_at = time.perf_counter() + deadline
        token = CURRENT_JOB.set(job)
        try:
            try:
                async with asyncio.timeout(deadline) as scope:
                    result = await work
            except TimeoutError:
                if not scope.expired():
                    raise
                result = await self._at_deadline(job, deadline)
            self._check_size(result, job)
            return replace(result, retries=job.retries, retry_wait_s=round(job.waited_s, 3))
        except ProviderError as exc:
            raise self._stamp(exc, job) from None
        finally:
            CURRENT_JOB.reset(token)

    async def _at_deadline(self, job: Job, deadline: float) -> ImageResult:
        where = f" (request {job.request_id})" if job.request_id else ""
        late = f"{self.label} did not finish within the overall deadline of {deadline:g} s{where}"
        if job.stop is None:
            # BFL documents no cancel: the job goes on and may be billed, so it is left to
            # finish and `workbench recover` (or a resume of the run) fetches and stores it.
            if job.request_id is None:
                raise ProviderError(
                    "timeout", f"Timed out (may be billed): {late}.",
                    cost_usd=job.cost_usd, billed="may_be_billed",
                )
            raise ProviderError(
                "left_running",
                f"Past the deadline (may be billed): {late}. {self.label} cannot be told to "
                "stop it, so it is left to finish there: `workbench recover` fetches its image "
                "and its cost when it is done.",
                cost_usd=job.cost_usd, billed="may_be_billed",
            )
        job.deadline_at = time.perf_counter() + self.policy.settle_s
        try:
            async with asyncio.timeout(self.policy.settle_s):
                stopped = await job.stop()
        except (ProviderError, TimeoutError) as exc:
            log.warning("could not stop %s at %s: %s", job.request_id, self.provider, exc)
            raise ProviderError(
                "left_running" if job.request_id is not None else "timeout",
                f"Past the deadline (may be billed): {late}. The request to stop it got no "
                "final answer, so the job may still finish there"
                + (": `workbench recover` fetches its image and cost when it is done."
                   if job.request_id is not None else "."),
                cost_usd=job.cost_usd, billed="may_be_billed",
            ) from None
        if isinstance(stopped, ImageResult):
            return stopped  # it finished while being stopped: paid for, so kept
        billing = "not billed" if stopped.billed == "not_billed" else "may be billed"
        raise ProviderError(
            "timeout",
            f"Timed out (cancelled at provider, {billing}): {late}. {stopped.said}.",
            cost_usd=stopped.cost_usd if stopped.cost_usd is not None else job.cost_usd,
            cost_confirmed=stopped.cost_confirmed, billed=stopped.billed,
        )

    def _check_size(self, result: ImageResult, job: Job) -> None:
        """Refuse an image larger than the offer documents from its header, keeping the cost:
        the provider did the work."""
        limit = job.max_pixels or self.policy.max_image_pixels
        pixels = pixels_in_header(result.data)
        if pixels is not None and pixels > limit:
            shown = "beyond any image size" if pixels >= 2**62 else f"{pixels / 1e6:.1f} MP"
            raise ProviderError(
                "malformed",
                f"{self.label} answered with an image of {shown}, more than the "
                f"{limit / 1e6:.1f} MP this offer documents; it was not decoded or stored.",
                provider_request_id=result.provider_request_id,
                cost_usd=result.cost_usd, cost_confirmed=result.cost_confirmed, billed="billed",
            )

    def _stamp(self, exc: ProviderError, job: Job) -> ProviderError:
        stamped = ProviderError(
            exc.kind,
            self.failures.redact(exc.message),
            status_code=exc.status_code,
            provider_request_id=exc.provider_request_id or job.request_id,
            cost_usd=exc.cost_usd if exc.cost_usd is not None else job.cost_usd,
            retryable=exc.retryable,
            billed=exc.billed,
            cost_confirmed=exc.cost_confirmed,
        )
        stamped.retries, stamped.retry_wait_s = job.retries, round(job.waited_s, 3)
        return stamped

    # -- single calls ------------------------------------------------------------------------
    async def submit(
        self,
        url: str,
        *,
        json_body: dict[str, Any],
        headers: Mapping[str, str],
        retry_submit: SubmitRule,
        read_s: float | None = None,
    ) -> httpx.Response:
        """POST the paid request. Sent again only when the provider did no work: the
        connection was refused, or `retry_submit` says the answer was a refusal."""
        return await self.retrier.send(
            "POST", url, headers=headers, json_body=json_body, retry_status=retry_submit,
            retry_transport=never_sent, attempts=self.policy.attempts, read_s=read_s,
        )

    async def get(self, url: str, *, headers: Mapping[str, str]) -> httpx.Response:
        """An idempotent, free GET (status, result) with the key: retried on 408/429/5xx and
        transport errors. Only to a URL the key scope allows."""
        self._check_keyed(url)
        return await self.retrier.send(
            "GET", url, headers=headers, json_body=None, retry_status=transient,
            retry_transport=always, attempts=self.policy.poll_attempts,
        )

    async def cancel(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        accept: Callable[[httpx.Response], bool] | None = None,
    ) -> httpx.Response:
        """Ask the provider to stop a job (one try: it runs when the deadline has passed);
        `accept` takes error statuses that are answers (fal's 400 ALREADY_COMPLETED)."""
        self._check_keyed(url)
        return await self.retrier.send(
            method, url, headers=headers, json_body=None, retry_status=transient,
            retry_transport=never_sent, attempts=1, accept=accept,
        )

    async def poll(
        self,
        url: str,
        *,
        headers: Mapping[str, str],
        is_terminal: Callable[[dict[str, Any]], bool],
        what: str,
    ) -> dict[str, Any]:
        """GET `url` (exactly as the provider gave it) every `poll_interval_s` until
        `is_terminal(body)`; the overall deadline in `run` bounds the loop."""
        self._check_keyed(url)
        while True:
            await self.retrier.sleep(self.policy.poll_interval_s)
            body = self.json(await self.get(url, headers=headers), what)
            if is_terminal(body):
                return body

    async def download(self, url: str) -> Downloaded:
        return await self.downloader.download(url)

    # -- answers -----------------------------------------------------------------------------
    def json(self, response: httpx.Response, what: str) -> dict[str, Any]:
        return self.failures.json(response, what)

    def malformed(self, message: str) -> ProviderError:
        return self.failures.malformed(message)

    def error_for(self, response: httpx.Response, *, attempts: int = 1) -> ProviderError:
        return self.failures.for_response(response, attempts=attempts)

    def raise_for_status(self, response: httpx.Response, *, attempts: int = 1) -> NoReturn:
        raise self.failures.for_response(response, attempts=attempts)

    def redact(self, text: str) -> str:
        return self.failures.redact(text)

    def _check_keyed(self, url: object) -> None:
        check_url(url, self.label)
        if self.scope is not None and isinstance(url, str):
            self.scope.check(url)


class HostedProvider:
    """What every hosted client shares: its key (for request headers only), base URL, HTTP
    policy and one `ApiClient` whose key scope is the provider's documented API hosts plus
    the base URL; subclasses set `name` and speak their API."""

    name = ""
    classify: Classifier | None = None  # the adapter's reading of its provider's errors

    def __init__(
        self,
        *,
        key: str,
        base_url: str,
        policy: HttpPolicy,
        sleep: Sleep | None = None,
        api_hosts: tuple[str, ...] = (),
    ) -> None:
        self._key = key
        self._base = base_url.rstrip("/")
        self._policy = policy
        label = PROVIDER_LABELS.get(self.name, self.name)
        self._api = ApiClient(
            self.name, key=key, policy=policy, sleep=sleep, classify=self.classify,
            scope=KeyScope(label, api_hosts, self._base),
        )

    async def aclose(self) -> None:
        await self._api.aclose()
