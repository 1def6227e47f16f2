"""Shared HTTP machinery of the hosted-API providers: timeouts, retries, polling, downloads and
the one mapping from HTTP answers and transport failures to `ProviderError` kinds (what an
answer says besides its status, a wait or the provider's own explanation, is read in
`answers.py`).

Every adapter (gemini, bfl, replicate, fal) builds one `ApiClient` and runs one generation
inside `ApiClient.run`, which enforces the overall deadline and stamps any error with what is
already known about the job (request id, reported cost). How failures map::

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

"Paid submit" is the call that starts (and bills) a generation. It is only sent again when the
provider certainly did no work: the connection was never made, or the adapter's `retry_submit`
rule recognises the answer as a refusal (429, and per provider a few gateway codes). A read
timeout or a dropped connection after the request left is never retried on a submit.

Keys: the client has no default auth headers; adapters pass them per API call, so downloads of
result URLs (often on another host) never carry a key, and every message passes `redact`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import math
import os
import re
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, replace
from functools import cache
from typing import Any, NoReturn
from urllib.parse import urlsplit

import httpx

from workbench.config import KEY_VARIABLES
from workbench.domain.catalog import PROVIDER_LABELS
from workbench.providers.answers import provider_detail, request_id_header, wait_hint_s
from workbench.providers.base import ImageRequest, ImageResult, ProviderError
from workbench.redact import MASK

log = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[None]]
SubmitRule = Callable[[httpx.Response], bool]
# An adapter's reading of its provider's own error dialect: a ProviderError for the answers it
# recognises (with the kind its documentation gives them), None to use the shared table.
Classifier = Callable[[httpx.Response, str], "ProviderError | None"]
_TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_CREDITS = re.compile(r"insufficient[_ ]?(credit|fund|balance)|out of credits|no credits", re.I)
CANCEL_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class HttpPolicy:
    """Timeouts, retry bounds and poll pace for one provider client."""

    connect_s: float = 10.0
    read_s: float = 120.0  # one HTTP answer
    sync_read_s: float = 300.0  # an answer that holds the whole generation (Gemini, Prefer: wait)
    write_s: float = 30.0
    deadline_s: float = 600.0  # the whole generation: submit, polling, download
    attempts: int = 3  # tries of one call when a retry is allowed
    poll_attempts: int = 5  # tries of one poll / result fetch (they are free and idempotent)
    backoff_s: float = 1.0  # first backoff; doubles per attempt
    backoff_max_s: float = 20.0
    retry_after_max_s: float = 60.0  # a longer Retry-After is reported instead of waited out
    poll_interval_s: float = 1.0
    max_image_bytes: int = 80 * 1024 * 1024
    replicate_wait_s: int = 60  # `Prefer: wait=N` on Replicate (their maximum is 60); 0 = off

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HttpPolicy:
        """Defaults, with WORKBENCH_POLL_INTERVAL_S / WORKBENCH_DEADLINE_S /
        WORKBENCH_CONNECT_TIMEOUT_S / WORKBENCH_READ_TIMEOUT_S when set."""
        source = os.environ if env is None else env

        def seconds(var: str, default: float) -> float:
            # A value that is unset, unparsable, infinite or negative keeps the default.
            raw = source.get(var)
            if not raw:
                return default
            try:
                value = float(raw)
            except ValueError:
                return default
            return value if math.isfinite(value) and value >= 0 else default

        # Named keywords, not `cls(**dict)`: the checker then sees each field get a float.
        defaults = cls()
        return cls(
            poll_interval_s=seconds("WORKBENCH_POLL_INTERVAL_S", defaults.poll_interval_s),
            deadline_s=seconds("WORKBENCH_DEADLINE_S", defaults.deadline_s),
            connect_s=seconds("WORKBENCH_CONNECT_TIMEOUT_S", defaults.connect_s),
            read_s=seconds("WORKBENCH_READ_TIMEOUT_S", defaults.read_s),
        )


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
    deadline_at: float | None = None  # perf_counter at which `run` gives up
    # Set by an adapter once the provider can cancel the job (Replicate urls.cancel, fal
    # cancel_url): awaited when the deadline passes, so the job stops running (and billing).
    cancel: Callable[[], Awaitable[None]] | None = None

    def remaining_s(self) -> float | None:
        return None if self.deadline_at is None else self.deadline_at - time.perf_counter()


# The job of the generation running in this task: retries count and cap their waits on it.
_CURRENT_JOB: ContextVar[Job | None] = ContextVar("workbench_current_job", default=None)


@dataclass(frozen=True)
class Downloaded:
    data: bytes
    mime: str | None


@cache
def shared_ssl_context() -> ssl.SSLContext:
    """One verifying SSL context per process: loading the CA bundle costs ~40 ms, and every
    generation builds a fresh client (clients must not cross event loops)."""
    return httpx.create_ssl_context()


def key_help(provider: str) -> str:
    """How to configure a provider's key, in words (never the key)."""
    names = KEY_VARIABLES.get(provider, ())
    first = names[0] if names else f"{provider.upper()}_API_KEY"
    either = " or ".join(names) if names else first
    return f'set {either} in the environment, or add {first} = "..." to .streamlit/secrets.toml'


def current_job() -> Job | None:
    """The job of the generation running in this task (for messages that name its model)."""
    return _CURRENT_JOB.get()


def _where(url: str | httpx.URL) -> str:
    """Host and path of a URL for messages: never the query (signed URLs carry tokens)."""
    parts = urlsplit(str(url))
    return f"{parts.netloc}{parts.path}" if parts.netloc else str(url)[:80]


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
    ) -> None:
        self.provider = provider
        self.label = PROVIDER_LABELS.get(provider, provider)
        self.policy = policy
        self._key = key
        self._sleep = sleep or asyncio.sleep
        self._classify = classify
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=policy.connect_s,
                read=policy.read_s,
                write=policy.write_s,
                pool=policy.connect_s,
            ),
            headers={"User-Agent": "prompt-workbench/0.1", "Accept": "application/json"},
            follow_redirects=False,
            verify=shared_ssl_context(),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- the whole generation ----------------------------------------------------------------
    async def run(self, work: Awaitable[ImageResult], job: Job) -> ImageResult:
        """Await `work` within the overall deadline; errors leave with the job's id, cost and
        retries. At the deadline a job the provider can cancel is cancelled there."""
        deadline = self.policy.deadline_s
        job.deadline_at = time.perf_counter() + deadline
        token = _CURRENT_JOB.set(job)
        try:
            async with asyncio.timeout(deadline) as scope:
                result = await work
            return replace(result, retries=job.retries, retry_wait_s=round(job.waited_s, 3))
        except TimeoutError:
            if not scope.expired():
                raise
            raise self._stamp(await self._deadline_error(job, deadline), job) from None
        except ProviderError as exc:
            raise self._stamp(exc, job) from None
        finally:
            _CURRENT_JOB.reset(token)

    async def _deadline_error(self, job: Job, deadline: float) -> ProviderError:
        where = f" (request {job.request_id})" if job.request_id else ""
        outcome = "may be billed"
        if job.cancel is not None:
            try:
                async with asyncio.timeout(min(CANCEL_TIMEOUT_S, self.policy.connect_s + 1)):
                    await job.cancel()
                outcome = "cancelled at provider"
            except (ProviderError, TimeoutError) as exc:
                log.warning("could not cancel %s at %s: %s", job.request_id, self.provider, exc)
        if outcome == "cancelled at provider":
            after = "The provider stopped the job, so it should not be billed."
        elif job.cancel is not None:
            after = "The request to stop it failed; the job may complete and be billed."
        else:
            after = f"{self.label} cannot be told to stop it; the job may complete and be billed."
        return ProviderError(
            "timeout",
            f"Timed out ({outcome}): {self.label} did not finish within the overall deadline "
            f"of {deadline:g} s{where}. {after}",
            provider_request_id=job.request_id,
            cost_usd=job.cost_usd,
        )

    def _stamp(self, exc: ProviderError, job: Job) -> ProviderError:
        stamped = ProviderError(
            exc.kind,
            self.redact(exc.message),
            status_code=exc.status_code,
            provider_request_id=exc.provider_request_id or job.request_id,
            cost_usd=exc.cost_usd if exc.cost_usd is not None else job.cost_usd,
            retryable=exc.retryable,
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
        return await self._send(
            "POST",
            url,
            headers=headers,
            json_body=json_body,
            retry_status=retry_submit,
            retry_transport=_never_sent,
            attempts=self.policy.attempts,
            read_s=read_s,
        )

    async def get(self, url: str, *, headers: Mapping[str, str]) -> httpx.Response:
        """An idempotent, free GET (status, result): retried on 408/429/5xx and transport
        errors."""
        self._check_url(url)
        return await self._send(
            "GET",
            url,
            headers=headers,
            json_body=None,
            retry_status=_transient,
            retry_transport=_always,
            attempts=self.policy.poll_attempts,
        )

    async def cancel(self, method: str, url: str, *, headers: Mapping[str, str]) -> None:
        """Ask the provider to stop a job (one try: it runs when the deadline has passed)."""
        self._check_url(url)
        await self._send(
            method,
            url,
            headers=headers,
            json_body=None,
            retry_status=_transient,
            retry_transport=_never_sent,
            attempts=1,
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
        self._check_url(url)
        while True:
            await self._sleep(self.policy.poll_interval_s)
            body = self.json(await self.get(url, headers=headers), what)
            if is_terminal(body):
                return body

    async def download(self, url: str) -> Downloaded:
        """Fetch a result image without any key, following redirects, refusing bodies that
        are cut off or larger than `max_image_bytes`. data: URIs are decoded in place."""
        if url.startswith("data:"):
            return self._data_uri(url)
        self._check_url(url)
        where = _where(url)
        attempts = self.policy.poll_attempts
        for attempt in range(1, attempts + 1):
            received = 0
            try:
                async with self._client.stream(
                    "GET", url, headers={"Accept": "image/*,*/*"}, follow_redirects=True
                ) as response:
                    if response.status_code in (403, 404, 410):
                        raise ProviderError(
                            "not_found",
                            f"The image at {where} is gone (HTTP {response.status_code}). "
                            f"{self.label} result URLs expire; this one could not be fetched.",
                            status_code=response.status_code,
                        )
                    if response.status_code >= 400:
                        await response.aread()
                        if attempt < attempts and response.status_code in _TRANSIENT_STATUSES:
                            await self._wait_before_retry(response, attempt)
                            continue
                        self.raise_for_status(response)
                    declared = response.headers.get("content-length", "")
                    limit = self.policy.max_image_bytes
                    if declared.isdigit() and int(declared) > limit:
                        raise self._too_large(where)
                    chunks: list[bytes] = []
                    async for chunk in response.aiter_bytes():
                        received += len(chunk)
                        if received > limit:
                            raise self._too_large(where)
                        chunks.append(chunk)
                    data = b"".join(chunks)
                    mime = response.headers.get("content-type")
                    return Downloaded(data, mime.split(";")[0].strip() if mime else None)
            except httpx.RequestError as exc:
                retry = attempt < attempts and isinstance(exc, httpx.TransportError)
                if retry and await self._pause(self._backoff(attempt)):
                    continue
                if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
                    raise ProviderError(
                        "malformed",
                        f"The image download from {where} was cut off after {received} bytes "
                        f"({attempts} tries).",
                    ) from None
                raise self._transport_error(exc, url) from None
        raise AssertionError("unreachable")  # pragma: no cover

    # -- answers -----------------------------------------------------------------------------
    def json(self, response: httpx.Response, what: str) -> dict[str, Any]:
        """The JSON object in a 2xx answer, or ProviderError("malformed")."""
        try:
            body = response.json()
        except ValueError:
            kind = response.headers.get("content-type", "no content type")
            snippet = " ".join(response.text[:80].split())
            raise ProviderError(
                "malformed",
                f"{self.label} answered {what} with something that is not JSON "
                f"(HTTP {response.status_code}, {kind}): {self.redact(snippet)!r}",
                status_code=response.status_code,
            ) from None
        if not isinstance(body, dict):
            raise ProviderError(
                "malformed",
                f"{self.label} answered {what} with JSON that is not an object.",
                status_code=response.status_code,
            )
        return body

    def malformed(self, message: str) -> ProviderError:
        return ProviderError("malformed", f"{self.label}: {message}")

    def raise_for_status(self, response: httpx.Response, *, attempts: int = 1) -> NoReturn:
        raise self.error_for(response, attempts=attempts)

    def error_for(self, response: httpx.Response, *, attempts: int = 1) -> ProviderError:
        """The one place an HTTP error status becomes a ProviderError with a readable message."""
        code = response.status_code
        detail = self.redact(provider_detail(response))
        said = f": {detail}" if detail else "."
        tries = f" after {attempts} tries" if attempts > 1 else ""
        request_id = request_id_header(response)
        if self._classify is not None:
            special = self._classify(response, detail)
            if special is not None:
                special.status_code = special.status_code or code
                special.provider_request_id = special.provider_request_id or request_id
                return special
        if code in (401, 403):
            return ProviderError(
                "auth",
                f"{self.label} refused the key (HTTP {code}). Check your key for "
                f"{self.provider}: {key_help(self.provider)}.",
                status_code=code,
                provider_request_id=request_id,
            )
        if code == 402 or (400 <= code < 500 and _CREDITS.search(detail)):
            return ProviderError(
                "credits",
                f"{self.label} says the account has no credits left (HTTP {code}){said} "
                "Add credits or billing on the provider's site, then try again.",
                status_code=code,
                provider_request_id=request_id,
            )
        if code in (408, 429):
            wait = wait_hint_s(response)
            hint = f" It asked to wait {wait:g} s." if wait else ""
            return ProviderError(
                "rate_limited",
                f"{self.label} is rate-limiting this key (HTTP {code}){tries}{said}{hint} "
                "Wait a little and try again, or send fewer requests at once.",
                status_code=code,
                provider_request_id=request_id,
                retryable=True,
            )
        if code in (404, 410):
            return ProviderError(
                "not_found",
                f"{self.label} found nothing at {_where(response.request.url)} (HTTP {code}){said}",
                status_code=code,
                provider_request_id=request_id,
            )
        if 400 <= code < 500:
            return ProviderError(
                "bad_request",
                f"{self.label} rejected the request (HTTP {code}){said}",
                status_code=code,
                provider_request_id=request_id,
            )
        return ProviderError(
            "server",
            f"{self.label} had a server error (HTTP {code}){tries}{said}",
            status_code=code,
            provider_request_id=request_id,
            retryable=code >= 500,
        )

    def redact(self, text: str) -> str:
        if self._key and len(self._key) >= 4:
            text = text.replace(self._key, MASK)
        return text

    # -- internals ---------------------------------------------------------------------------
    async def _send(
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
    ) -> httpx.Response:
        extra: dict[str, Any] = {}
        if read_s is not None:
            timeout = self._client.timeout
            extra["timeout"] = httpx.Timeout(
                connect=timeout.connect, read=read_s, write=timeout.write, pool=timeout.pool
            )
        for attempt in range(1, attempts + 1):
            try:
                response = await self._client.request(
                    method, url, headers=headers, json=json_body, **extra
                )
            except httpx.RequestError as exc:
                retry = isinstance(exc, httpx.TransportError) and retry_transport(exc)
                if attempt < attempts and retry and await self._pause(self._backoff(attempt)):
                    continue
                raise self._transport_error(exc, url, read_s=read_s) from None
            if response.status_code < 400:
                return response
            if attempt < attempts and retry_status(response) and self._may_retry(response):
                await self._wait_before_retry(response, attempt)
                continue
            raise self.error_for(response, attempts=attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _may_retry(self, response: httpx.Response) -> bool:
        """An adapter may know an answer will not clear by retrying (a per-day quota)."""
        if self._classify is None:
            return True
        special = self._classify(response, self.redact(provider_detail(response)))
        return special is None or special.retryable

    async def _wait_before_retry(self, response: httpx.Response, attempt: int) -> None:
        wait = wait_hint_s(response)
        if wait is None:
            wait = self._backoff(attempt)
        elif wait > self.policy.retry_after_max_s:
            raise self.error_for(response, attempts=attempt)
        if not await self._pause(wait):
            error = self.error_for(response, attempts=attempt)
            error.message += f" Waiting {wait:g} s more would pass the overall deadline."
            raise error

    async def _pause(self, wait: float) -> bool:
        """Wait before a retry and count it on the job; False (no wait) when the wait would
        end past the overall deadline, so the caller gives up now instead of sleeping in vain."""
        job = _CURRENT_JOB.get()
        if job is not None:
            remaining = job.remaining_s()
            if remaining is not None and wait > 0 and wait >= remaining:
                return False
            job.retries += 1
            job.waited_s += wait
        await self._sleep(wait)
        return True

    def _backoff(self, attempt: int) -> float:
        return min(self.policy.backoff_s * 2 ** (attempt - 1), self.policy.backoff_max_s)

    def _transport_error(
        self, exc: httpx.RequestError, url: str, *, read_s: float | None = None
    ) -> ProviderError:
        where = _where(url)
        timeout = self._client.timeout
        if isinstance(exc, httpx.DecodingError | httpx.TooManyRedirects):
            return ProviderError(
                "malformed",
                f"{self.label} answered at {where} with a body or redirects that "
                f"cannot be read ({type(exc).__name__}).",
            )
        if isinstance(exc, httpx.ConnectTimeout):
            return ProviderError(
                "timeout",
                f"Could not connect to {where} within {timeout.connect:g} s ({self.label}).",
            )
        if isinstance(exc, httpx.ReadTimeout):
            limit = read_s if read_s is not None else timeout.read
            return ProviderError(
                "timeout",
                f"{self.label} did not answer within {limit:g} s (read timeout at {where}).",
            )
        if isinstance(exc, httpx.TimeoutException):
            return ProviderError(
                "timeout", f"{self.label} timed out at {where} ({type(exc).__name__})."
            )
        if isinstance(exc, httpx.ConnectError):
            reason = self.redact(str(exc)) or "connection refused"
            return ProviderError(
                "connection",
                f"Could not reach {self.label} at {where}: {reason}. Check the "
                "network, or the base URL if you overrode it.",
            )
        if isinstance(exc, httpx.UnsupportedProtocol):
            return ProviderError(
                "malformed", f"{self.label} gave a URL that cannot be fetched: {where}."
            )
        reason = self.redact(str(exc)) or type(exc).__name__
        return ProviderError(
            "connection", f"The connection to {self.label} at {where} broke: {reason}."
        )

    def _check_url(self, url: object) -> None:
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            shown = url[:60] if isinstance(url, str) else type(url).__name__
            raise ProviderError(
                "malformed", f"{self.label} gave a URL the workbench will not follow: {shown!r}."
            )

    def _too_large(self, where: str) -> ProviderError:
        limit_mb = self.policy.max_image_bytes / 1024 / 1024
        return ProviderError(
            "malformed", f"The image at {where} is larger than {limit_mb:g} MB; not downloaded."
        )

    def _data_uri(self, url: str) -> Downloaded:
        header, _, payload = url.partition(",")
        mime = header[5:].split(";")[0] or None
        if ";base64" not in header:
            raise self.malformed("an inline image was not base64-encoded.")
        if len(payload) * 3 // 4 > self.policy.max_image_bytes:
            raise self._too_large("an inline data URI")
        try:
            return Downloaded(base64.b64decode(payload, validate=False), mime)
        except (binascii.Error, ValueError):
            raise self.malformed("an inline image was not valid base64.") from None


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


def _transient(response: httpx.Response) -> bool:
    return response.status_code in _TRANSIENT_STATUSES


def _always(exc: httpx.TransportError) -> bool:
    return True


def _never_sent(exc: httpx.TransportError) -> bool:
    """True only when the request certainly did not reach the provider."""
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)


def refused(*statuses: int) -> SubmitRule:
    """A submit rule: retry the paid call when the answer's status is one of `statuses`."""
    wanted = frozenset(statuses)

    def rule(response: httpx.Response) -> bool:
        return response.status_code in wanted

    return rule


class HostedProvider:
    """What every hosted client shares: its key (for request headers only), base URL, HTTP
    policy and one `ApiClient`; subclasses set `name` and speak their API."""

    name = ""
    classify: Classifier | None = None  # the adapter's reading of its provider's errors

    def __init__(
        self, *, key: str, base_url: str, policy: HttpPolicy, sleep: Sleep | None = None
    ) -> None:
        self._key = key
        self._base = base_url.rstrip("/")
        self._policy = policy
        self._api = ApiClient(
            self.name, key=key, policy=policy, sleep=sleep, classify=self.classify
        )

    async def aclose(self) -> None:
        await self._api.aclose()
