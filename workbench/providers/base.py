"""The provider protocol: what every image provider receives, returns and raises.

A provider gets an `ImageRequest` that the generation service has already validated against
the catalog, reports the parameters it will put on the wire (`wire_params`, logged before the
call), and returns an `ImageResult` or raises `ProviderError` with a kind from `ErrorKind` and
a message a person understands. Messages never contain a key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from workbench.domain.catalog import ModelSpec, Offer
from workbench.errors import WorkbenchError

ErrorKind = Literal[
    "auth",  # 401/403: the key is missing, wrong or lacks permission
    "credits",  # 402 or a provider's "insufficient credits"
    "bad_request",  # 400/422: the provider rejected the parameters; its detail is kept
    "rate_limited",  # 429 after the bounded retries
    "server",  # 5xx after the bounded retries
    "timeout",  # connect, read or overall deadline passed
    "connection",  # could not reach the provider
    "moderated",  # the prompt or the output was blocked by the provider's safety system
    "no_image",  # a successful answer without an image
    "malformed",  # an answer the client could not parse, or bytes that are not an image
    "not_found",  # an expired or missing result / image URL
    "config",  # the provider cannot run here (no key, unknown model id)
    "cancelled",  # the user cancelled before the request was sent
    "internal",  # a bug in the workbench; the message says what happened
]


@dataclass(frozen=True)
class ImageRequest:
    model: ModelSpec
    offer: Offer
    prompt: str
    aspect_ratio: str
    size: str
    width: int
    height: int
    seed: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    # Called by a provider the moment its API has accepted the job (and may bill it), with the
    # provider's request id: the log records it so that a resumed run never pays twice.
    on_submitted: Callable[[str | None], None] | None = field(default=None, compare=False)

    def submitted(self, provider_request_id: str | None) -> None:
        if self.on_submitted is not None:
            self.on_submitted(provider_request_id)


@dataclass(frozen=True)
class ImageResult:
    data: bytes
    mime: str | None = None
    provider_request_id: str | None = None
    provider_model_id: str | None = None  # the id that answered (a fallback id, say)
    seed: int | None = None
    cost_usd: float | None = None  # what the provider says it charged; None = not reported
    queue_ms: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)


class ProviderError(WorkbenchError):
    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status_code: int | None = None,
        provider_request_id: str | None = None,
        cost_usd: float | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.status_code = status_code
        self.provider_request_id = provider_request_id
        self.cost_usd = cost_usd
        self.retryable = retryable

    @property
    def status(self) -> Literal["moderated", "failed"]:
        return "moderated" if self.kind == "moderated" else "failed"


@runtime_checkable
class Provider(Protocol):
    name: str

    def wire_params(self, request: ImageRequest) -> dict[str, Any]:
        """The request parameters as they will be sent, without the prompt and without keys."""
        ...

    async def generate(self, request: ImageRequest) -> ImageResult: ...

    async def aclose(self) -> None: ...


class UnavailableProvider:
    """Stands in for a provider that cannot be built (no key, say), so the attempt is still
    logged as failed with the reason instead of vanishing."""

    def __init__(self, name: str, error: ProviderError) -> None:
        self.name = name
        self.error = error

    def wire_params(self, request: ImageRequest) -> dict[str, Any]:
        raise self.error

    async def generate(self, request: ImageRequest) -> ImageResult:
        raise self.error

    async def aclose(self) -> None:
        return None
