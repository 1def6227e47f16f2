"""A stand-in picture for an image that cannot be shown, with the reason written on it, so a
History table or gallery shows why instead of a blank cell or a traceback."""

from __future__ import annotations

import base64
import io
import textwrap
from functools import lru_cache

from PIL import Image, ImageDraw

SIDE = 256


@lru_cache(maxsize=32)
def placeholder_jpeg(reason: str) -> bytes:
    picture = Image.new("RGB", (SIDE, SIDE), (228, 228, 228))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((0, 0, SIDE - 1, SIDE - 1), outline=(160, 160, 160), width=2)
    lines = ["image unavailable", "", *textwrap.wrap(reason, 30)[:6]]
    y = 70
    for line in lines:
        draw.text((14, y), line, fill=(70, 70, 70))
        y += 16
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def placeholder_data_uri(reason: str) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(placeholder_jpeg(reason)).decode()
