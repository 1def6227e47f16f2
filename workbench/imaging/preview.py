"""JPEG previews for reports: the long side at most a given size, RGB, and at most
`MAX_BYTES` each, so that 24 of them, base64-encoded (4/3 larger), stay under 15 MB.

Pillow only. The stored original is only read; a JPEG already within both limits is used as
it is, anything else is decoded and encoded anew.
"""

from __future__ import annotations

import io

from PIL import Image

LONG_SIDE = 1600
QUALITIES = (85, 75, 65, 50)
MAX_BYTES = 440_000  # 24 x 440 kB x 4/3 = 14.1 MB, leaving room for the page itself
SHRINK = 0.8


def _encode(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    # No `optimize`: its second pass costs more than the decode for ~15% fewer bytes.
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def jpeg_preview(
    data: bytes, long_side: int = LONG_SIDE, max_bytes: int = MAX_BYTES
) -> tuple[bytes, int, int]:
    """(JPEG bytes, width, height) of `data` with its long side at most `long_side`. Quality
    steps down, then the size, until the JPEG fits in `max_bytes` (photos fit at 85)."""
    with Image.open(io.BytesIO(data)) as image:
        if (image.format == "JPEG" and image.mode in ("RGB", "L")
                and max(image.size) <= long_side and len(data) <= max_bytes):
            return data, image.width, image.height  # already a small JPEG: used as it is
        image.draft("RGB", (long_side, long_side))  # JPEG: decode at a reduced scale when it can
        rgb = image.convert("RGB")
    rgb.thumbnail((long_side, long_side), reducing_gap=2.0)
    while True:
        for quality in QUALITIES:
            encoded = _encode(rgb, quality)
            if len(encoded) <= max_bytes:
                return encoded, rgb.width, rgb.height
        if max(rgb.size) <= 64:
            return encoded, rgb.width, rgb.height
        rgb = rgb.resize((max(1, int(rgb.width * SHRINK)), max(1, int(rgb.height * SHRINK))))
