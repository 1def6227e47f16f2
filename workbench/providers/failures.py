"""The one mapping from HTTP answers and transport failures to `ProviderError` kinds, with a
message a person understands and no key in it (the table is in `http.py`'s docstring).

`Failures` is built per client with the provider's label, its key (to mask echoes of it) and
the adapter's own reading of its error dialect (`Classifier`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from workbench.config import KEY_VARIABLES
from workbench.providers.answers import provider_detail, request_id_header, wait_hint_s
from workbench.providers.base import ProviderError
from workbench.redact import mask_secret, printable

# An adapter's reading of its provider's own error dialect: a ProviderError for the answers it
# recognises (with the kind its documentation gives them), None to use the shared table.
Classifier = Callable[[httpx.Response, str], "ProviderError | None"]
_CREDITS = re.compile(r"insufficient[_ ]?(credit|fund|balance)|out of credits|no credits", re.I)


def key_help(provider: str) -> str:
    """How to configure a provider's key, in words (never the key)."""
    names = KEY_VARIABLES.get(provider, ())
    first = names[0] if names else f"{provider.upper()}_API_KEY"
    either = " or ".join(names) if names else first
    return f'set {either} in the environment, or add {first} = "..." to .streamlit/secrets.toml'


def where(url: str | httpx.URL) -> str:
    """Host and path of a URL for messages: never the query (signed URLs carry tokens)."""
    parts = urlsplit(str(url))
    return f"{parts.netloc}{parts.path}" if parts.netloc else str(url)[:80]


class Failures:
    """Turns what went wrong on one provider's calls into `ProviderError`s."""

    def __init__(
        self, provider: str, label: str, *, key: str, classify: Classifier | None
    ) -> None:
        self.provider = provider
        self.label = label
        self._key = key
        self.classify = classify

    def redact(self, text: str) -> str:
        """Provider text made safe to keep and print: the key (and any 8+ character start of
        it) masked, terminal control characters gone."""
        return printable(mask_secret(text, self._key) if self._key else text)

    def malformed(self, message: str) -> ProviderError:
        return ProviderError("malformed", f"{self.label}: {message}")

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

    def retryable(self, response: httpx.Response) -> bool:
        """An adapter may know an answer will not clear by retrying (a per-day quota)."""
        if self.classify is None:
            return True
        special = self.classify(response, self.redact(provider_detail(response)))
        return special is None or special.retryable

    def for_response(self, response: httpx.Response, *, attempts: int = 1) -> ProviderError:
        """The one place an HTTP error status becomes a ProviderError with a readable message."""
        code = response.status_code
        detail = self.redact(provider_detail(response))
        said = f": {detail}" if detail else "."
        tries = f" after {attempts} tries" if attempts > 1 else ""
        request_id = request_id_header(response)
        if self.classify is not None:
            special = self.classify(response, detail)
            if special is not None:
                special.status_code = special.status_code or code
                special.provider_request_id = special.provider_request_id or request_id
                return special
        if code in (401, 403):
            message = (
                f"{self.label} refused the key (HTTP {code}). Check your key for "
                f"{self.provider}: {key_help(self.provider)}."
            )
            return ProviderError("auth", message, status_code=code, provider_request_id=request_id)
        if code == 402 or (400 <= code < 500 and _CREDITS.search(detail)):
            message = (
                f"{self.label} says the account has no credits left (HTTP {code}){said} "
                "Add credits or billing on the provider's site, then try again."
            )
            return ProviderError(
                "credits", message, status_code=code, provider_request_id=request_id
            )
        if code in (408, 429):
            wait = wait_hint_s(response)
            hint = f" It asked to wait {wait:g} s." if wait else ""
            message = (
                f"{self.label} is rate-limiting this key (HTTP {code}){tries}{said}{hint} "
                "Wait a little and try again, or send fewer requests at once."
            )
            return ProviderError(
                "rate_limited", message, status_code=code, provider_request_id=request_id,
                retryable=True,
            )
        if code in (404, 410):
            message = (
                f"{self.label} found nothing at {where(response.request.url)} (HTTP {code}){said}"
            )
            return ProviderError(
                "not_found", message, status_code=code, provider_request_id=request_id
            )
        if 400 <= code < 500:
            message = f"{self.label} rejected the request (HTTP {code}){said}"
            return ProviderError(
                "bad_request", message, status_code=code, provider_request_id=request_id
            )
        return ProviderError(
            "server",
            f"{self.label} had a server error (HTTP {code}){tries}{said}",
            status_code=code,
            provider_request_id=request_id,
            retryable=code >= 500,
        )

    def for_transport(
        self, exc: httpx.RequestError, url: str, timeout: httpx.Timeout, read_s: float | None
    ) -> ProviderError:
        """A transport failure (nothing or half an answer came back) as a ProviderError."""
        at = where(url)
        if isinstance(exc, httpx.DecodingError | httpx.TooManyRedirects):
            return ProviderError(
                "malformed",
                f"{self.label} answered at {at} with a body or redirects that "
                f"cannot be read ({type(exc).__name__}).",
            )
        if isinstance(exc, httpx.ConnectTimeout):
            return ProviderError(
                "timeout", f"Could not connect to {at} within {timeout.connect:g} s ({self.label})."
            )
        if isinstance(exc, httpx.ReadTimeout):
            limit = read_s if read_s is not None else timeout.read
            return ProviderError(
                "timeout",
                f"{self.label} did not answer within {limit:g} s (read timeout at {at}).",
            )
        if isinstance(exc, httpx.TimeoutException):
            return ProviderError(
                "timeout", f"{self.label} timed out at {at} ({type(exc).__name__})."
            )
        if isinstance(exc, httpx.ConnectError):
            reason = self.redact(str(exc)) or "connection refused"
            return ProviderError(
                "connection",
                f"Could not reach {self.label} at {at}: {reason}. Check the "
                "network, or the base URL if you overrode it.",
            )
        if isinstance(exc, httpx.UnsupportedProtocol):
            return ProviderError(
                "malformed", f"{self.label} gave a URL that cannot be fetched: {at}."
            )
        reason = self.redact(str(exc)) or type(exc).__name__
        return ProviderError(
            "connection", f"The connection to {self.label} at {at} broke: {reason}."
        )
