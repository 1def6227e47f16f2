"""A contact sheet: the images of a run as one PNG grid, each row and column labelled, so a
Compare or Matrix run can be shared or printed as a single picture.

Pure Pillow: tiles are the thumbnails already stored (JPEG, 256 px), a missing or failed cell is
a grey tile with its status, and labels are drawn with Pillow's built-in font."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

TILE = 256
GAP = 8
LABEL_W = 200
HEADER_H = 40
CAPTION_H = 22
BACKGROUND = (24, 24, 27)
EMPTY_TILE = (60, 60, 66)
INK = (235, 235, 235)
MUTED = (170, 170, 175)


@dataclass(frozen=True)
class Tile:
    row: str
    column: str
    image: Path | None  # None for a failed, cancelled or missing cell
    caption: str  # under the tile: status, seed, cost …


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow built without FreeType
        return ImageFont.load_default()


def _fit(draw: ImageDraw.ImageDraw, text: str, font: object, width: int) -> str:
    """`text` cut with an ellipsis to fit `width` pixels."""
    if draw.textlength(text, font=font) <= width:  # type: ignore[arg-type]  # either font type
        return text
    while text and draw.textlength(text + "…", font=font) > width:  # type: ignore[arg-type]
        text = text[:-1]
    return text + "…"


def _tile_image(path: Path | None) -> Image.Image | None:
    if path is None:
        return None
    try:
        with Image.open(path) as opened:
            image = opened.convert("RGB")
    except (OSError, ValueError):  # a missing or unreadable file is drawn as an empty tile
        return None
    image.thumbnail((TILE, TILE))
    return image


def contact_sheet(tiles: list[Tile], title: str) -> bytes:
    """PNG bytes of the grid: rows and columns in first-seen order."""
    rows = list(dict.fromkeys(t.row for t in tiles))
    columns = list(dict.fromkeys(t.column for t in tiles))
    cell_h = TILE + CAPTION_H
    width = LABEL_W + len(columns) * (TILE + GAP) + GAP
    height = HEADER_H * 2 + len(rows) * (cell_h + GAP) + GAP
    sheet = Image.new("RGB", (max(width, 400), height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    big, small = _font(18), _font(13)
    draw.text((GAP, 10), _fit(draw, title, big, sheet.width - 2 * GAP), fill=INK, font=big)
    for j, column in enumerate(columns):
        x = LABEL_W + j * (TILE + GAP)
        draw.text((x, HEADER_H + 12), _fit(draw, column, big, TILE), fill=INK, font=big)
    placed = {(t.row, t.column): t for t in reversed(tiles)}  # the first tile of a cell wins
    for i, row in enumerate(rows):
        y = HEADER_H * 2 + i * (cell_h + GAP)
        draw.text((GAP, y + TILE // 2 - 8), _fit(draw, row, small, LABEL_W - 2 * GAP),
                  fill=INK, font=small)
        for j, column in enumerate(columns):
            x = LABEL_W + j * (TILE + GAP)
            tile = placed.get((row, column))
            image = _tile_image(tile.image) if tile else None
            if image is None:
                draw.rectangle((x, y, x + TILE - 1, y + TILE - 1), fill=EMPTY_TILE)
            else:
                sheet.paste(image, (x + (TILE - image.width) // 2, y + (TILE - image.height) // 2))
            if tile:
                draw.text((x, y + TILE + 4), _fit(draw, tile.caption, small, TILE),
                          fill=MUTED, font=small)
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
