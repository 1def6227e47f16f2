"""A reference image made ready for one provider: in a format it documents, within its size limits.

`prepare_reference` takes the bytes of a stored image and the limits an offer declares
(`ReferenceInput` in the catalog) and returns the bytes to send, or raises `ReferenceRefused`
with a sentence for a person, before anything is sent or paid:

- files over `MAX_FILE_BYTES` or images over `MAX_PIXELS` (read from the header, before any pixel
  is decoded) are refused, and so is anything that is not a readable image;
- an image over the offer's `max_mp` is downscaled (aspect ratio kept);
- a format the offer does not list (GIF, BMP, TIFF, ...) is converted: to PNG when it is listed
  (lossless), else to JPEG;
- an image still over `max_bytes` is re-encoded as JPEG and, if need be, shrunk step by step;
  one that cannot be brought under the limit is refused.

An image that needs none of this is sent byte for byte as stored. Pillow only; no I/O.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from workbench.domain.catalog import MEGAPIXEL, ReferenceInput
from workbench.imaging import provenance

# The same caps as "Open from image": no file over 50 MB, no image over 100 MP is opened.
MAX_FILE_BYTES = provenance.MAX_FILE_BYTES
MAX_PIXELS = provenance.MAX_PIXELS
_PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
_MIME_OF = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif",
            "BMP": "image/bmp", "TIFF": "image/tiff", "MPO": "image/jpeg"}
_SHRINK_STEPS = 6


class ReferenceRefused(ValueError):
    """The image cannot go to this provider as a reference; the message says why."""


@dataclass(frozen=True)
class ReferenceImage:
    """Bytes ready for the wire, with what the log records about them."""

    data: bytes
    mime: str
    width: int
    height: int
    sha256: str  # of `data`, what was sent
    source_sha256: str  # of the stored image it was made from
    converted: str = ""  # what was changed, in words ("" when sent as stored)

    def megapixels(self, unit: int = MEGAPIXEL) -> float:
        return self.width * self.height / unit

    def record(self) -> dict[str, object]:
        """What the log keeps (never the bytes)."""
        return {
            "sha256": self.sha256,
            "source_sha256": self.source_sha256,
            "mime": self.mime,
            "width": self.width,
            "height": self.height,
            "bytes": len(self.data),
            **({"converted": self.converted} if self.converted else {}),
        }


def prepare_reference(data: bytes, spec: ReferenceInput, who: str) -> ReferenceImage:
    """`data` made acceptable under `spec`; `who` names the provider and model in messages."""
    source_sha = hashlib.sha256(data).hexdigest()
    if len(data) > MAX_FILE_BYTES:
        raise ReferenceRefused(
            f"The reference image is {len(data) / 1e6:.0f} MB; the workbench sends at most "
            f"{MAX_FILE_BYTES // (1024 * 1024)} MB. Nothing was sent."
        )
    try:
        with Image.open(io.BytesIO(data)) as opened:
            pil_format = opened.format or ""
            if opened.width * opened.height > MAX_PIXELS:
                raise ReferenceRefused(
                    f"The reference image is {opened.width}×{opened.height} px, over "
                    f"{MAX_PIXELS // 1_000_000} MP. Nothing was sent."
                )
            opened.load()
            image = ImageOps.exif_transpose(opened) or opened
            image = image.copy()
    except ReferenceRefused:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
            Image.DecompressionBombError):
        raise ReferenceRefused(
            "The reference image is not a readable image file. Nothing was sent."
        ) from None
    mime = _MIME_OF.get(pil_format, f"image/{pil_format.lower() or 'unknown'}")
    changes: list[str] = []
    target_mime = mime if mime in spec.formats else _fallback_format(spec, mime, who)
    if target_mime != mime:
        changes.append(f"converted from {_short(mime)} to {_short(target_mime)}")
    if spec.max_mp is not None and image.width * image.height > spec.max_mp * MEGAPIXEL:
        scale = math.sqrt(spec.max_mp * MEGAPIXEL / (image.width * image.height))
        before = f"{image.width}×{image.height}"
        image = _resized(image, scale)
        changes.append(f"downscaled from {before} to {image.width}×{image.height} px "
                       f"({spec.max_mp:g} MP at most)")
    if not changes:
        out, out_mime = data, mime
    else:
        out, out_mime = _encode(image, target_mime), target_mime
    if spec.max_bytes is not None and len(out) > spec.max_bytes:
        out, out_mime, image = _fit_bytes(image, spec, who, len(out))
        changes.append(f"re-encoded to {len(out) / 1e6:.2f} MB ({spec.max_bytes / 1e6:g} MB at "
                       f"most) at {image.width}×{image.height} px")
    return ReferenceImage(
        data=out,
        mime=out_mime,
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(out).hexdigest(),
        source_sha256=source_sha,
        converted="; ".join(changes),
    )


def _short(mime: str) -> str:
    return mime.removeprefix("image/").upper()


def _fallback_format(spec: ReferenceInput, mime: str, who: str) -> str:
    for candidate in ("image/png", "image/jpeg", "image/webp"):
        if candidate in spec.formats:
            return candidate
    raise ReferenceRefused(
        f"{who} takes reference images as {', '.join(_short(f) for f in spec.formats)} only, "
        f"and the workbench cannot convert {_short(mime)} to those. Nothing was sent."
    )


def _resized(image: Image.Image, scale: float) -> Image.Image:
    size = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _encode(image: Image.Image, mime: str) -> bytes:
    pil_format = _PIL_FORMATS[mime]
    if pil_format == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    elif image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format=pil_format, **({"quality": 90} if pil_format != "PNG" else {}))
    return buffer.getvalue()


def _fit_bytes(
    image: Image.Image, spec: ReferenceInput, who: str, size: int
) -> tuple[bytes, str, Image.Image]:
    """JPEG (or the first lossy format listed) within `max_bytes`, shrinking if need be."""
    assert spec.max_bytes is not None
    lossy = next((f for f in ("image/jpeg", "image/webp") if f in spec.formats), None)
    if lossy is None:
        raise ReferenceRefused(
            f"The reference image is {size / 1e6:.2f} MB and {who} takes at most "
            f"{spec.max_bytes / 1e6:g} MB in {', '.join(_short(f) for f in spec.formats)}. "
            "Nothing was sent."
        )
    out = _encode(image, lossy)
    for _ in range(_SHRINK_STEPS):
        if len(out) <= spec.max_bytes:
            return out, lossy, image
        image = _resized(image, 0.9 * math.sqrt(spec.max_bytes / len(out)))
        out = _encode(image, lossy)
    if len(out) <= spec.max_bytes:
        return out, lossy, image
    raise ReferenceRefused(
        f"The reference image cannot be brought under {spec.max_bytes / 1e6:g} MB for {who}. "
        "Nothing was sent."
    )
