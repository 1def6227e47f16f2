"""Synthetic scenes for the judge tests, and the pixel reading the fake judge answers from.

A scene is coloured discs on a white canvas, with an optional word in black in a band at the
bottom. `draw` renders it as PNG; `look` reads a PNG back: how many separate blobs of each
palette colour, where their centres are, and whether a given word is what the text band shows
(template matching against the same font: the fake reads pixels, never the prompt). Shapes are
not told apart: the reader sees colours, counts and positions, which is what the prompts of
these tests ask about.
"""

from __future__ import annotations

import io
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SIZE = 256
TEXT_BAND = 200  # rows from here down hold the text
FONT_SIZE = 28
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "blue": (30, 60, 220),
    "green": (30, 160, 60),
    "yellow": (235, 200, 30),
}
_GRID = 2  # the reader works on every second pixel (fast, and blobs stay connected)


@dataclass(frozen=True)
class Disc:
    colour: str
    x: int  # centre
    y: int
    r: int = 18


@dataclass(frozen=True)
class Scene:
    discs: tuple[Disc, ...] = ()
    text: str | None = None
    size: int = SIZE

    def png(self) -> bytes:
        return draw(self)


def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=FONT_SIZE)


def _text_mask(text: str) -> np.ndarray:
    canvas = Image.new("L", (SIZE * 2, FONT_SIZE * 3), 255)
    ImageDraw.Draw(canvas).text((4, 4), text, fill=0, font=_font())
    return _crop(np.asarray(canvas) < 128)


def _crop(mask: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return mask[:0, :0]
    return mask[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]


def draw(scene: Scene) -> bytes:
    image = Image.new("RGB", (scene.size, scene.size), (255, 255, 255))
    pen = ImageDraw.Draw(image)
    for d in scene.discs:
        pen.ellipse((d.x - d.r, d.y - d.r, d.x + d.r, d.y + d.r), fill=PALETTE[d.colour])
    if scene.text:
        pen.text((12, TEXT_BAND + 8), scene.text, fill=(0, 0, 0), font=_font())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class Seen:
    blobs: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # centres
    width: int = SIZE
    text_mask: np.ndarray | None = None
    background_white: bool = False

    def count(self, colour: str) -> int:
        return len(self.blobs.get(colour, []))

    def side(self, colour: str) -> str | None:
        """"left" or "right" when every blob of the colour sits in that half."""
        xs = [x for x, _ in self.blobs.get(colour, [])]
        if not xs:
            return None
        if all(x < self.width / 2 for x in xs):
            return "left"
        if all(x >= self.width / 2 for x in xs):
            return "right"
        return None

    def shows_text(self, text: str) -> bool:
        if self.text_mask is None or self.text_mask.size == 0:
            return False
        wanted = _text_mask(text)
        seen = self.text_mask
        if abs(seen.shape[0] - wanted.shape[0]) > 1 or abs(seen.shape[1] - wanted.shape[1]) > 1:
            return False
        h, w = min(seen.shape[0], wanted.shape[0]), min(seen.shape[1], wanted.shape[1])
        alike = float((seen[:h, :w] == wanted[:h, :w]).mean())
        return alike >= 0.97


def look(data: bytes) -> Seen:
    """What the pixels show (see the module docstring)."""
    with Image.open(io.BytesIO(data)) as image:
        rgb = np.asarray(image.convert("RGB"), dtype=np.int32)
    height, width = rgb.shape[:2]
    band = min(TEXT_BAND * height // SIZE, height)
    scene = rgb[:band:_GRID, ::_GRID]
    corners = rgb[[0, 0, -1, -1], [0, -1, 0, -1]]
    seen = Seen(width=width, background_white=bool((corners > 235).all()))
    for name, colour in PALETTE.items():
        close = (np.abs(scene - np.asarray(colour)).sum(axis=2) < 60)
        seen.blobs[name] = [(x * _GRID, y * _GRID) for x, y in _components(close)]
    dark = rgb[band:].sum(axis=2) < 3 * 128
    seen.text_mask = _crop(dark)
    return seen


def _components(mask: np.ndarray, min_pixels: int = 6) -> list[tuple[float, float]]:
    """Centres (x, y) of 4-connected blobs of True."""
    seen = np.zeros_like(mask, dtype=bool)
    centres = []
    h, w = mask.shape
    for y0, x0 in zip(*np.nonzero(mask), strict=True):
        if seen[y0, x0]:
            continue
        queue = deque([(int(y0), int(x0))])
        seen[y0, x0] = True
        xs, ys = [], []
        while queue:
            y, x = queue.popleft()
            xs.append(x)
            ys.append(y)
            for ny, nx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    queue.append((ny, nx))
        if len(xs) >= min_pixels:
            centres.append((sum(xs) / len(xs), sum(ys) / len(ys)))
    return centres
