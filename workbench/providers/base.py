"""The provider protocol: what every image provider receives, returns and raises.

A provider gets an `ImageRequest` that the generation service has already validated against
the catalog, reports the parameters it will put on the wire (`wire_params`, logged before the
call), and returns an `ImageResult` or raises `ProviderError` with a kind from `ErrorKind` and
a message a person understands. Messages never contain a key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import pybase64

from workbench.domain.catalog import REWRITE_OPTION, CatalogError, ModelSpec, Offer, rewrite_params
from workbench.domain.plural import count
from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    # Only a type here: importing it loads Pillow, which listing the log never needs.
    from workbench.imaging.reference import ReferenceImage

ErrorKind = Literal[
    "auth",  # 401/403: the key is missing, wrong or lacks permission
    "credits",  # 402 or a provider's "insufficient credits"
    "bad_request",  # 400/422: the provider rejected the parameters; its detail is kept
    "rate_limited",  # 429 after the bounded retries
    "quota_exhausted",  # a per-day quota is used up: retrying soon cannot help
    "server",  # 5xx after the bounded retries
    "timeout",  # connect, read or overall deadline passed
    # past the overall deadline with the job still at the provider, which could not be told to
    # stop (BFL has no cancel): recorded `interrupted`, fetched later by `workbench recover`
    "left_running",
    "connection",  # could not reach the provider
    "moderated",  # the prompt or the output was blocked by the provider's safety system
    "no_image",  # a successful answer without an image
    "malformed",  # an answer the client could not parse, or bytes that are not an image
    "not_found",  # an expired or missing result / image URL
    "config",  # the provider cannot run here (no key, unknown model id)
    "cancelled",  # the user cancelled before the request was sent
    "untrusted",  # a URL read back is not the provider's: no request was made with the key
    "storage",  # the image arrived (and is billed) but could not be stored here
    "internal",  # a bug in the workbench; the message says what happened
]
# Whether an attempt is paid for, as the provider's own documentation says for what happened:
# "billed" (it did the work), "not_billed" (it never started: Replicate `aborted`, a fal request
# removed from the queue), "may_be_billed" (it started and was stopped, or nobody can tell).
Billing = Literal["billed", "not_billed", "may_be_billed"]
# Where a cost figure comes from, in the log's words: "known" (the provider reported it),
# "estimated" (the workbench computed it: reported usage x a price, or run time x a rate),
# "unknown" (no figure).
CostKind = Literal["known", "estimated", "unknown"]


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
    # Reference images, already converted and sized for this offer (`imaging.reference`).
    references: tuple[ReferenceImage, ...] = ()
    # Called by a provider the moment its API has accepted the job (and may bill it), with the
    # provider's request id and the URL that reports on the job (None where there is none):
    # the log records them so that a resumed run never pays twice and can fetch the result.
    on_submitted: Callable[[str | None, str | None], None] | None = field(
        default=None, compare=False
    )

    def submitted(self, provider_request_id: str | None, resume_url: str | None = None) -> None:
        if self.on_submitted is not None:
            self.on_submitted(provider_request_id, resume_url)

    @property
    def endpoint_id(self) -> str:
        """The offer's model id, or the one that takes references when they go along (fal's
        `/edit` endpoints)."""
        spec = self.offer.reference
        if self.references and spec is not None and spec.model_id:
            return spec.model_id
        return self.offer.model_id


def reference_fields(request: ImageRequest, names: list[str]) -> dict[str, Any]:
    """What `wire_params` logs about the reference images: each image's record (sha256, size,
    format, never the bytes) and the wire field it goes in. Raises `ProviderError` (nothing is
    sent) when the offer takes none, or fewer than were given."""
    if not request.references:
        return {}
    spec = request.offer.reference
    who = f"{request.model.name} via {request.offer.provider}"
    if spec is None:
        raise ProviderError("bad_request", f"{who} takes no reference image.")
    if len(request.references) > min(spec.max_images, len(names)):
        raise ProviderError(
            "bad_request",
            f"{who} takes at most {count(min(spec.max_images, len(names)), 'reference image')};"
            f" {len(request.references)} were given.",
        )
    return {
        "reference_images": [
            {**ref.record(), "field": name}
            for ref, name in zip(request.references, names, strict=False)
        ]
    }


def rewrite_fields(request: ImageRequest) -> dict[str, bool]:
    """The input that keeps the prompt as written, or lets the provider rewrite it when the
    user allowed that (`prompt_upsampling`); it goes in the body and in the logged params.
    Raises `ProviderError` (nothing is sent) when a rewrite is asked of an offer without one."""
    try:
        return rewrite_params(request.offer, request.options.get(REWRITE_OPTION))
    except CatalogError as exc:
        raise ProviderError("bad_request", str(exc)) from None


# Base64 for the wire, through pybase64 (SIMD): a Gemini image arrives as ~3 MB of base64,
# which the standard library's `base64` decodes in ~7 ms while holding the GIL (every other
# job in flight waits), pybase64 in ~0.2 ms, with the same alphabet, padding and errors
# (`binascii.Error`, a ValueError). bench/providers.py measures it.


def to_base64(data: bytes) -> str:
    """Standard base64 (RFC 4648, padded), as text for a JSON body."""
    return pybase64.b64encode(data).decode("ascii")


def from_base64(text: str | bytes, *, strict: bool) -> bytes:
    """Decode standard base64. `strict` refuses any character outside the alphabet (a JSON
    field); otherwise such characters are skipped, as RFC 2397 data URIs may carry line
    breaks. Raises `binascii.Error` or ValueError on bad input."""
    return pybase64.b64decode(text, validate=strict)


def base64_of(ref: ReferenceImage) -> str:
    return to_base64(ref.data)


def data_uri(ref: ReferenceImage) -> str:
    """RFC 2397 `data:<mime>;base64,<data>`, where a provider takes a URI."""
    return f"data:{ref.mime};base64,{base64_of(ref)}"


@dataclass(frozen=True)
class ImageResult:
    data: bytes
    mime: str | None = None
    provider_request_id: str | None = None
    provider_model_id: str | None = None  # the id that answered (a fallback id, say)
    seed: int | None = None
    cost_usd: float | None = None  # what the provider says it charged; None = not reported
    cost_confirmed: bool = True  # False: computed from reported usage x an unconfirmed price
    queue_ms: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    retries: int = 0  # calls sent again after a refusal or a dropped connection
    retry_wait_s: float = 0.0  # total time waited before those retries
    billed: Billing = "billed"
    # The prompt the provider says the image was made from, when it differs from the one sent
    # (a rewrite the user allowed, or one that cannot be turned off): History shows both.
    prompt_used: str | None = None

    @property
    def cost_kind(self) -> CostKind:
        if self.cost_usd is None:
            return "unknown"
        return "known" if self.cost_confirmed else "estimated"


@dataclass(frozen=True)
class Resumable:
    """A job a provider accepted before the workbench stopped: enough to fetch its result
    again without sending anything (adapters that can, implement `recover(job)`)."""

    provider_request_id: str
    resume_url: str  # the status URL the provider gave, exactly as given
    provider_model_id: str | None = None
    seed: int | None = None


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
        billed: Billing | None = None,
        cost_confirmed: bool = True,
    ) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.status_code = status_code
        self.provider_request_id = provider_request_id
        self.cost_usd = cost_usd
        self.retryable = retryable
        # None: the adapter did not say (the request may not have left; the services decide).
        self.billed: Billing | None = billed
        self.cost_confirmed = cost_confirmed  # False: cost_usd is the workbench's estimate
        self.retries = 0  # set by the HTTP client: calls sent again before giving up
        self.retry_wait_s = 0.0

    @property
    def status(self) -> Literal["moderated", "failed", "interrupted"]:
        if self.kind == "left_running":  # not over: its result is fetched later
            return "interrupted"
        return "moderated" if self.kind == "moderated" else "failed"

    @property
    def cost_kind(self) -> CostKind:
        if self.cost_usd is None:
            return "unknown"
        return "known" if self.cost_confirmed else "estimated"


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
