"""What the image store learns from image bytes before it trusts them, and the thumbnail.

`inspect` is on every generation's critical path, so it decodes no more than it must:
- the header gives the format and the dimensions (`Image.open` reads only the header); an
  image of more pixels than Pillow's `MAX_IMAGE_PIXELS` (or of zero width or height) is refused
  before any pixel is decoded, so a decompression bomb never reaches a decoder;
- the whole file is then checked as cheaply as its format allows. A PNG is checked chunk by
  chunk (`Image.verify`: every chunk's CRC-32 up to IEND, no inflating), which refuses a
  download cut short or damaged in transit. A JPEG is decoded at reduced scale (libjpeg's
  DCT scaling through `Image.draft`, which still reads every entropy-coded segment, so a cut
  file fails), and that small decode is the thumbnail. Any other format is decoded fully.
- a PNG's thumbnail (a full decode, ~20 ms for a megapixel) is left to `thumbnail`, which the
  store runs after the generation is recorded, or on first view.

Pillow: `Image.open` "is a lazy operation; this function identifies the file, but the file
remains open and the actual image data is not read from the file until you try to process
the data"; `verify` "attempts to determine if the file is broken, without actually decoding
the image data"; `draft` "configures the image file loader so it returns a version of the
image that as closely as possible matches the given mode and size... the resulting size will
be equal or larger than the requested size" (pillow.readthedocs.io, reference/Image.html).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

THUMB_SIDE = 256
THUMB_QUALITY = 78

_SIGNATURES = ((b"\x89PNG", "PNG"), (b"\xff\xd8", "JPEG"), (b"GIF8", "GIF"), (b"RIFF", "WebP"))
# What Pillow raises for bytes it cannot identify or finish reading (SyntaxError: a bad chunk
# checksum in `verify`).
_BROKEN = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError)


class BrokenImage(Exception):
    """The bytes are not a whole image of sane dimensions; the message says what came."""


@dataclass(frozen=True)
class Inspected:
    format: str  # Pillow's name: PNG, JPEG, WEBP...
    width: int
    height: int
    thumb: bytes | None  # the JPEG thumbnail when checking the file made it on the way


def kind_of(data: bytes) -> str:
    """A plain guess at what bytes are, for a message: an image cut short, or text instead."""
    for magic, name in _SIGNATURES:
        if data.startswith(magic):
            return f"{name}, cut short or damaged"
    head = data[:512].lstrip()
    if head.startswith(b"<"):
        return "HTML or XML text"
    if head.startswith((b"{", b"[")):
        return "JSON text"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "unknown binary data"
    return "text"


def _not_an_image(data: bytes) -> BrokenImage:
    # Pillow's own message names an `<_io.BytesIO object at 0x…>`: say what came instead.
    return BrokenImage(
        f"The provider returned data that is not an image ({len(data):,} bytes, "
        f"type {kind_of(data)})."
    )


def inspect(data: bytes) -> Inspected:
    """Format and dimensions of whole image bytes, checked as described above; BrokenImage
    when they are not an image, are damaged, or are too large to decode."""
    try:
        with warnings.catch_warnings():
            # Past MAX_IMAGE_PIXELS Pillow only warns (it raises past twice that): refuse both.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format or ""
                width, height = probe.size
                limit = Image.MAX_IMAGE_PIXELS
                if width < 1 or height < 1 or (limit is not None and width * height > limit):
                    raise _too_large(data, width, height)
                if fmt == "PNG":
                    probe.verify()
                    return Inspected(fmt, width, height, None)
                if fmt == "JPEG":
                    probe.draft("RGB", (THUMB_SIDE, THUMB_SIDE))
                return Inspected(fmt, width, height, _encode_thumb(probe))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise BrokenImage(
            f"The provider returned an image too large to open ({len(data):,} bytes); "
            "it was not decoded."
        ) from None
    except _BROKEN as exc:
        raise _not_an_image(data) from exc


def _too_large(data: bytes, width: int, height: int) -> BrokenImage:
    return BrokenImage(
        f"The provider returned an image of {width}×{height} px ({len(data):,} bytes), "
        "which the workbench does not decode."
    )


def thumbnail(data: bytes) -> bytes:
    """The JPEG thumbnail of image bytes `inspect` accepted (BrokenImage if they fail to
    decode after all)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format == "JPEG":
                    probe.draft("RGB", (THUMB_SIDE, THUMB_SIDE))
                return _encode_thumb(probe)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError, *_BROKEN) as exc:
        raise _not_an_image(data) from exc


def _encode_thumb(probe: Image.Image) -> bytes:
    probe.load()  # decodes (fully, or at the draft's scale): a cut file fails here
    thumb = probe if probe.mode == "RGB" else probe.convert("RGB")
    # A box reduction by a whole factor first, then a short Lanczos step: ~1 ms instead of
    # ~5 ms for a 1024 px image, and as sharp at 256 px.
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), reducing_gap=1.0)
    buffer = io.BytesIO()
    thumb.save(buffer, format="JPEG", quality=THUMB_QUALITY)
    return buffer.getvalue()
