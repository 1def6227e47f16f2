"""Sending one HTTP call with bounded retries: which answers and transport failures may be sent
again (a paid submit only when the provider certainly did no work), how long to wait (the
provider's Retry-After or body hint, else exponential backoff), and never past the job's
deadline (the wait is capped by the time left, not by the whole deadline)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from workbench.providers.answers import wait_hint_s
from workbench.providers.jobs import CURRENT_JOB

if TYPE_CHECKING:
    from workbench.providers.failures import Failures
    from workbench.providers.policy import HttpPolicy

Sleep = Callable[[float], Awaitable[None]]
SubmitRule = Callable[[httpx.Response], bool]
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def transient(response: httpx.Response) -> bool:
    return response.status_code in TRANSIENT_STATUSES


def always(exc: httpx.TransportError) -> bool:
    return True


def never_sent(exc: httpx.TransportError) -> bool:
    """True only when the request certainly did not reach the provider."""
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)


def refused(*statuses: int) -> SubmitRule:
    """A submit rule: retry the paid call when the answer's status is one of `statuses`."""
    wanted = frozenset(statuses)

    def rule(response: httpx.Response) -> bool:
        return response.status_code in wanted

    return rule


class Retrier:
    """Sends calls on one `httpx.AsyncClient`, retrying within the policy's bounds."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        policy: HttpPolicy,
        failures: Failures,
        sleep: Sleep | None = None,
    ) -> None:
        self.client = client
        self.policy = policy
        self.failures = failures
        self.sleep = sleep or asyncio.sleep

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        json_body: dict[str, Any] | None,
        retry_status: Callable[[httpx.Response], bool],
        retry_transport: Callable[[httpx.TransportError], bool],
        attempts: int,
        read_s: float | None = None,
        accept: Callable[[httpx.Response], bool] | None = None,
    ) -> httpx.Response:
        """The answer to the call; an error status (unless `accept` takes it) or a transport
        failure becomes ProviderError once the retries allowed are spent."""
        extra: dict[str, Any] = {}
        timeout = self.client.timeout
        if read_s is not None:
            extra["timeout"] = httpx.Timeout(
                connect=timeout.connect, read=read_s, write=timeout.write, pool=timeout.pool
            )
        for attempt in range(1, attempts + 1):
            try:
                response = await self.client.request(
                    method, url, headers=headers, json=json_body, **extra
                )
            except httpx.RequestError as exc:
                retry = isinstance(exc, httpx.TransportError) and retry_transport(exc)
                if attempt < attempts and retry and await self.pause(self.backoff(attempt)):
                    continue
                raise self.failures.for_transport(exc, url, timeout, read_s) from None
            if response.status_code < 400 or (accept is not None and accept(response)):
                return response
            if attempt < attempts and retry_status(response) and self.failures.retryable(response):
                await self.wait_before_retry(response, attempt)
                continue
            raise self.failures.for_response(response, attempts=attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def wait_before_retry(self, response: httpx.Response, attempt: int) -> None:
        wait = wait_hint_s(response)
        if wait is None:
            wait = self.backoff(attempt)
        elif wait > self.policy.retry_after_max_s:
            raise self.failures.for_response(response, attempts=attempt)
        if not await self.pause(wait):
            error = self.failures.for_response(response, attempts=attempt)
            error.message += f" Waiting {wait:g} s more would pass the overall deadline."
            raise error

    async def pause(self, wait: float) -> bool:
        """Wait before a retry and count it on the job; False (no wait) when the wait would
        end past the job's deadline, so the caller gives up now instead of sleeping in vain."""
        job = CURRENT_JOB.get()
        if job is not None:
            remaining = job.remaining_s()
            if remaining is not None and wait > 0 and wait >= remaining:
                return False
            job.retries += 1
            job.waited_s += wait
        await self.sleep(wait)
        return True

    def backoff(self, attempt: int) -> float:
        return min(self.policy.backoff_s * 2 ** (attempt - 1), self.policy.backoff_max_s)
