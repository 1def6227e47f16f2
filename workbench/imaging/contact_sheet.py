"""A contact sheet: the images of a run as one PNG grid, each row and column labelled, so a
Compare or Matrix run can be shared or printed as a single picture.

Pure Pillow: tiles are the thumbnails already stored (JPEG, 256 px), a missing or failed cell is
a grey tile with its status, and labels are drawn with Pillow's built-in font. A row label
wraps onto two lines before it is cut; a legend under the grid says what each short label
stands for ("P1: a lighthouse at dusk, …"), since a sheet travels without the app around it."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

TILE = 256
GAP = 8
LABEL_W = 200
HEADER_H = 40
CAPTION_H = 22
ROW_LABEL_LINES = 2
LINE_H = 18  # a line of the small font, with its leading
LEGEND_TITLE = "Prompts"
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


def wrap(
    draw: ImageDraw.ImageDraw, text: str, font: object, width: int,
    lines: int = ROW_LABEL_LINES,
) -> list[str]:
    """`text` on at most `lines` lines of `width` pixels, broken between words; what does not
    fit on the last line is cut with an ellipsis."""
    out: list[str] = []
    words = text.split(" ")
    while words and len(out) < lines:
        line = words.pop(0)
        while words and draw.textlength(f"{line} {words[0]}", font=font) <= width:  # type: ignore[arg-type]
            line = f"{line} {words.pop(0)}"
        out.append(line)
    if words:
        out[-1] = f"{out[-1]} {' '.join(words)}"
    return [_fit(draw, line, font, width) for line in out]


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


def contact_sheet(
    tiles: list[Tile], title: str, legend: Sequence[tuple[str, str]] = ()
) -> bytes:
    """PNG bytes of the grid: rows and columns in first-seen order, then the legend: one line
    per (short label, what it stands for), each cut to the sheet's width."""
    rows = list(dict.fromkeys(t.row for t in tiles))
    columns = list(dict.fromkeys(t.column for t in tiles))
    cell_h = TILE + CAPTION_H
    width = LABEL_W + len(columns) * (TILE + GAP) + GAP
    grid_h = HEADER_H * 2 + len(rows) * (cell_h + GAP) + GAP
    legend_h = (len(legend) + 1) * LINE_H + 2 * GAP if legend else 0
    sheet = Image.new("RGB", (max(width, 400), grid_h + legend_h), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    big, small = _font(18), _font(13)
    draw.text((GAP, 10), _fit(draw, title, big, sheet.width - 2 * GAP), fill=INK, font=big)
    for j, column in enumerate(columns):
        x = LABEL_W + j * (TILE + GAP)
        draw.text((x, HEADER_H + 12), _fit(draw, column, big, TILE), fill=INK, font=big)
    placed = {(t.row, t.column): t for t in reversed(tiles)}  # the first tile of a cell wins
    for i, row in enumerate(rows):
        y = HEADER_H * 2 + i * (cell_h + GAP)
        lines = wrap(draw, row, small, LABEL_W - 2 * GAP)
        top = y + TILE // 2 - len(lines) * LINE_H // 2
        for k, line in enumerate(lines):
            draw.text((GAP, top + k * LINE_H), line, fill=INK, font=small)
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
    if legend:
        y = grid_h + GAP
        draw.text((GAP, y), LEGEND_TITLE, fill=INK, font=small)
        for k, (short, meaning) in enumerate(legend, start=1):
            line = _fit(draw, f"{short}: {meaning}", small, sheet.width - 2 * GAP)
            draw.text((GAP, y + k * LINE_H), line, fill=MUTED, font=small)
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
