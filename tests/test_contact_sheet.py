"""A run's contact sheet reads on its own: row labels in the words people use ("P1 · seed 7 ·
1:1", model names) wrapped to fit their cell, and a legend saying what each prompt label stands
for. OCR is not available here, so the label and legend builders are tested as text and the
drawn sheet by where its ink falls."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from workbench.imaging import contact_sheet as cs
from workbench.services.delivery import exports
from workbench.services.runs import grids
from workbench.services.runs.runner import start_run
from workbench.services.workbench import Workbench

MATRIX_LABELS = {"prompt": "P1", "model": "nano-banana-2", "seed": "7", "aspect_ratio": "1:1"}


def test_a_row_label_names_values_not_parameters() -> None:
    assert exports.sheet_label(MATRIX_LABELS, "model") == "P1 · seed 7 · 1:1"
    names = {"nano-banana-2": "Nano Banana 2"}.__getitem__
    assert exports.sheet_label(MATRIX_LABELS, "prompt", names) == (
        "Nano Banana 2 · seed 7 · 1:1")
    compare = {"model": "flux-2-pro", "variation": "2", "seed": "random"}
    assert exports.sheet_label(compare, "model") == "take 2 · random seed"
    assert exports.sheet_label({"prompt": "P2", "aspect_ratio": "default"}, "model") == (
        "P2 · default ratio")
    assert exports.sheet_label({"model": "x"}, "model") == "–"


def test_a_long_row_label_wraps_onto_two_lines_that_fit() -> None:
    draw = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    font = cs._font(13)
    width = cs.LABEL_W - 2 * cs.GAP
    label = "Nano Banana Pro · seed 123456 · default ratio · take 12"
    assert draw.textlength(label, font=font) > width  # one line would cut it
    lines = cs.wrap(draw, label, font, width)
    assert len(lines) == 2
    assert " ".join(lines) == label  # nothing cut: two lines hold it
    assert all(draw.textlength(line, font=font) <= width for line in lines)
    longer = cs.wrap(draw, " · ".join([label] * 3), font, width)
    assert len(longer) == 2 and longer[-1].endswith("…")  # beyond two lines: cut, and says so


def _ink_rows(image: Image.Image, top: int) -> int:
    """How many separate bands of text lie below `top` (rows holding non-background pixels)."""
    bands, inside = 0, False
    for y in range(top, image.height):
        row = [image.getpixel((x, y)) for x in range(0, image.width, 2)]
        ink = any(pixel != cs.BACKGROUND for pixel in row)
        bands += ink and not inside
        inside = ink
    return bands


def test_a_matrix_sheet_has_a_legend_of_every_prompt(wb: Workbench) -> None:
    variants = [grids.Variant(label=f"P{i}", text=f"a copper kettle on a stove, take {i}")
                for i in (1, 2, 3)]
    providers = {"nano-banana-2": "offline", "flux-2-pro": "offline"}
    cells = grids.matrix_cells(wb, variants, providers, [7], ["1:1"])
    handle = start_run(wb, "matrix", "legend", cells)
    handle.run_sync()
    grid = grids.run_grid(wb, handle.run_id)
    assert exports.sheet_legend(grid) == [
        (f"P{i}", f"a copper kettle on a stove, take {i}") for i in (1, 2, 3)]

    sheet = Image.open(io.BytesIO(exports.run_contact_sheet(wb, handle.run_id))).convert("RGB")
    grid_h = cs.HEADER_H * 2 + 3 * (cs.TILE + cs.CAPTION_H + cs.GAP) + cs.GAP
    assert sheet.height == grid_h + 4 * cs.LINE_H + 2 * cs.GAP  # a title and three prompts
    assert _ink_rows(sheet, grid_h) == 4


def test_a_compare_sheet_names_its_one_prompt(wb: Workbench) -> None:
    cells = grids.compare_cells(
        wb, {"nano-banana-2": "offline"}, grids.Variant(label="P1", text="a  pear\non a plate"),
        2, 5)
    handle = start_run(wb, "compare", "one prompt", cells)
    handle.run_sync()
    assert exports.sheet_legend(grids.run_grid(wb, handle.run_id)) == [
        (exports.PROMPT_LEGEND, "a pear on a plate")]
