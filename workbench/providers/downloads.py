"""Fetching and sizing result images: downloads without any key (result URLs are often signed
URLs on another host), bounded in bytes while they stream; data: URIs decoded in place; and the
pixel count read from the image header, so an image larger than the offer documents is refused
before anything decodes it (a 400 MP answer would otherwise cost gigabytes of memory)."""

from __future__ import annotations

import binascii
import io
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from workbench.providers.base import ProviderError, from_base64
from workbench.providers.failures import where
from workbench.providers.retries import TRANSIENT_STATUSES

if TYPE_CHECKING:
    from workbench.providers.retries import Retrier


@dataclass(frozen=True)
class Downloaded:
    data: bytes
    mime: str | None


def check_url(url: object, label: str) -> None:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        shown = url[:60] if isinstance(url, str) else type(url).__name__
        raise ProviderError(
            "malformed", f"{label} gave a URL the workbench will not follow: {shown!r}."
        )


def pixels_in_header(data: bytes) -> int | None:
    """Width x height as the image's header states it, without decoding the pixels; None when
    the bytes are not an image Pillow can identify (the image store says so later). An image
    past Pillow's own bomb limit counts as larger than any offer's."""
    from PIL import Image  # only here: listing the log never needs Pillow

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
        except Image.DecompressionBombError:
            return 2**62
        except (OSError, ValueError, SyntaxError):
            return None
    return width * height


class Downloader:
    """Downloads result images for one provider client."""

    def __init__(self, retrier: Retrier, label: str, max_bytes: int) -> None:
        self.retrier = retrier
        self.label = label
        self.max_bytes = max_bytes

    async def download(self, url: str) -> Downloaded:
        """Fetch a result image without any key, following redirects, refusing bodies that
        are cut off or larger than `max_bytes`. data: URIs are decoded in place."""
        if url.startswith("data:"):
            return self.data_uri(url)
        check_url(url, self.label)
        at = where(url)
        retrier = self.retrier
        attempts = retrier.policy.poll_attempts
        for attempt in range(1, attempts + 1):
            received = 0
            try:
                async with retrier.client.stream(
                    "GET", url, headers={"Accept": "image/*,*/*"}, follow_redirects=True
                ) as response:
                    if response.status_code in (403, 404, 410):
                        raise ProviderError(
                            "not_found",
                            f"The image at {at} is gone (HTTP {response.status_code}). "
                            f"{self.label} result URLs expire; this one could not be fetched.",
                            status_code=response.status_code,
                        )
                    if response.status_code >= 400:
                        await response.aread()
                        if attempt < attempts and response.status_code in TRANSIENT_STATUSES:
                            await retrier.wait_before_retry(response, attempt)
                            continue
                        raise retrier.failures.for_response(response)
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > self.max_bytes:
                        raise self.too_large(at)
                    chunks: list[bytes] = []
                    async for chunk in response.aiter_bytes():
                        received += len(chunk)
                        if received > self.max_bytes:
                            raise self.too_large(at)
                        chunks.append(chunk)
                    mime = response.headers.get("content-type")
                    return Downloaded(
                        b"".join(chunks), mime.split(";")[0].strip() if mime else None
                    )
            except httpx.RequestError as exc:
                retry = attempt < attempts and isinstance(exc, httpx.TransportError)
                if retry and await retrier.pause(retrier.backoff(attempt)):
                    continue
                if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
                    raise ProviderError(
                        "malformed",
                        f"The image download from {at} was cut off after {received} bytes "
                        f"({attempts} tries).",
                    ) from None
                raise retrier.failures.for_transport(
                    exc, url, retrier.client.timeout, None
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def data_uri(self, url: str) -> Downloaded:
        header, _, payload = url.partition(",")
        mime = header[5:].split(";")[0] or None
        if ";base64" not in header:
            raise self.retrier.failures.malformed("an inline image was not base64-encoded.")
        if len(payload) * 3 // 4 > self.max_bytes:
            raise self.too_large("an inline data URI")
        try:
            return Downloaded(from_base64(payload, strict=False), mime)
        except (binascii.Error, ValueError):
            raise self.retrier.failures.malformed(
                "an inline image was not valid base64."
            ) from None

    def too_large(self, at: str) -> ProviderError:
        limit_mb = self.max_bytes / 1024 / 1024
        return ProviderError(
            "malformed", f"The image at {at} is larger than {limit_mb:g} MB; not downloaded."
        )
