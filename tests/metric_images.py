"""Synthetic images for the measurement tests: one scene drawn from continuous coordinates, so
it can be rendered at any size, graded warm or cool, blurred, or given text."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

WARM = (1.15, 1.0, 0.82)  # linear-light gains: more red, less blue
COOL = (0.87, 1.0, 1.18)
ORANGE = (1.0, 0.55, 0.2)  # a reflectance: orange material under neutral light


def scene(
    side: int, seed: int = 1, *, grade: tuple[float, float, float] = (1.0, 1.0, 1.0),
    content: tuple[float, float, float] | None = None, texture: float = 0.06,
) -> Image.Image:
    rng = np.random.default_rng(seed)
    axis = ((np.arange(side) + 0.5) / side).astype(np.float32)
    yy, xx = axis[:, None], axis[None, :]
    img = np.full((side, side, 3), 0.5, dtype=np.float32)
    for _ in range(14):
        cx, cy, r = rng.random(3)
        r = 0.04 + 0.18 * r
        colour = rng.random(3).astype(np.float32)
        # a disc with a one-pixel anti-aliased rim, as a renderer at that size would draw it;
        # only its bounding box is touched, for speed
        y0, y1 = max(0, int((cy - r) * side) - 2), min(side, int((cy + r) * side) + 2)
        x0, x1 = max(0, int((cx - r) * side) - 2), min(side, int((cx + r) * side) + 2)
        dist = np.sqrt((xx[:, x0:x1] - cx) ** 2 + (yy[y0:y1] - cy) ** 2)
        cover = np.clip((r - dist) * side + 0.5, 0, 1)[..., None]
        img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * (1 - cover) + cover * colour
    # fine texture defined in image coordinates: the same picture at every size
    fine = texture * np.sin(2 * np.pi * xx * 90) * np.sin(2 * np.pi * yy * 85)  # side x side
    linear = np.clip(img * 0.8 + 0.1 + fine[..., None], 0, 1) ** 2.2
    if content is not None:
        linear[:, axis < 0.6] *= np.array(content, dtype=np.float32)  # the left 60%
    linear = linear * np.array(grade)
    return Image.fromarray((np.clip(linear, 0, 1) ** (1 / 2.2) * 255).round().astype(np.uint8))


def text_image(text: str, side: int = 1024) -> Image.Image:
    """Dark text, large and clean, on a light sign-like background."""
    img = Image.new("RGB", (side, side), (238, 232, 218))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=side // 12)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text(((side - (right - left)) // 2, (side - (bottom - top)) // 2), text, font=font,
              fill=(25, 25, 30))
    return img


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg(image: Image.Image, quality: int = 80) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
