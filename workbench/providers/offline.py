"""The offline sketch renderer: a deterministic local picture from prompt and seed, no model.

It lets anyone try the whole workbench without a key, and gives tests a provider that needs no
network. Every image says "OFFLINE SKETCH - no model" on it, the log records provider `offline`
and cost 0, and leaderboards leave it out unless the user asks for it.
"""

from __future__ import annotations

import asyncio
import colorsys
import hashlib
import io
import random
import textwrap
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from workbench.providers.base import (
    ImageRequest,
    ImageResult,
    reference_fields,
)

LONG_SIDE = 768  # sketches are small on purpose: they stand for an image, they are not one
LABEL = "OFFLINE SKETCH - no model"


def sketch_size(width: int, height: int) -> tuple[int, int]:
    scale = LONG_SIDE / max(width, height)
    return max(16, round(width * scale)), max(16, round(height * scale))


def render_sketch(prompt: str, seed: int, width: int, height: int, model_name: str) -> bytes:
    # The model changes the picture but is never written on it: the arena hides names.
    digest = hashlib.sha256(f"{model_name}\x00{seed}\x00{prompt}".encode()).digest()
    rng = random.Random(digest)
    w, h = sketch_size(width, height)
    hue = digest[0] / 255
    top = _rgb(hue, 0.45, 0.35)
    bottom = _rgb((hue + 0.12) % 1, 0.55, 0.75)
    image = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(image)
    for y in range(h):
        t = y / max(h - 1, 1)
        draw.line(
            [(0, y), (w, y)],
            fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    for _ in range(6 + digest[1] % 6):
        x0, y0 = rng.uniform(-0.2, 1) * w, rng.uniform(0.1, 1) * h
        r = rng.uniform(0.05, 0.3) * min(w, h)
        colour = _rgb(
            (hue + rng.uniform(-0.2, 0.2)) % 1, rng.uniform(0.3, 0.8), rng.uniform(0.3, 0.9)
        )
        if rng.random() < 0.5:
            draw.ellipse([x0, y0, x0 + r, y0 + r], fill=colour)
        else:
            draw.rectangle([x0, y0, x0 + r * 1.6, y0 + r], fill=colour)
    # Layout uses the sizes asked for, not `font.size`: without FreeType, load_default returns
    # the bitmap ImageFont, which has no `.size` (with FreeType the two are equal).
    small_size, big_size = max(12, w // 40), max(14, w // 28)
    small = ImageFont.load_default(size=small_size)
    big = ImageFont.load_default(size=big_size)
    draw.rectangle([0, 0, w, big_size + 16], fill=(20, 20, 20))
    draw.text((10, 8), LABEL, fill=(245, 197, 24), font=big)
    caption = textwrap.fill(prompt, width=max(20, w // (small_size // 2 + 1)))
    lines = caption.splitlines()[:8]
    line_h = small_size + 4
    box_top = h - line_h * (len(lines) + 2)
    draw.rectangle([0, box_top, w, h], fill=(0, 0, 0))
    for i, line in enumerate(lines):
        draw.text((10, box_top + 8 + i * line_h), line, fill=(235, 235, 235), font=small)
    draw.text(
        (10, h - line_h - 4),
        f"seed {seed} · {width}x{height} asked",
        fill=(160, 160, 160),
        font=small,
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=1)
    return buffer.getvalue()


def _rgb(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h, s, v)
    return round(r * 255), round(g * 255), round(b * 255)


class OfflineProvider:
    name = "offline"

    def __init__(self, delay_s: float = 0.0) -> None:
        self._delay_s = delay_s

    def wire_params(self, request: ImageRequest) -> dict[str, Any]:
        return {
            "aspect_ratio": request.aspect_ratio,
            "size": request.size,
            "width": request.width,
            "height": request.height,
            "seed": request.seed,
            **reference_fields(
                request, [f"reference[{i}]" for i in range(len(request.references))]
            ),
        }

    async def generate(self, request: ImageRequest) -> ImageResult:
        seed = request.seed if request.seed is not None else random.SystemRandom().randrange(2**31)
        if self._delay_s:
            await asyncio.sleep(self._delay_s)
        data = await asyncio.to_thread(
            render_sketch, request.prompt, seed, request.width, request.height, request.model.name
        )
        return ImageResult(
            data=data,
            mime="image/png",
            seed=seed,
            cost_usd=0.0,
            provider_model_id="sketch",
            provider_request_id=f"offline-{hashlib.sha256(data).hexdigest()[:12]}",
        )

    async def aclose(self) -> None:
        return None

