"""Limits before the work (`services/runs/grids.py`): a grid's size is counted from its factors
and refused before one cell is built: `workbench run` past 5,000 images without --max-images (a
320,000-image run among them), and the Matrix page over its 500 cells (20 prompts x 10,000
seeds). Timings are in bench/guards.py; here a counting `Cell` shows that nothing was built."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from workbench import cli
from workbench.domain.filters import HistoryFilter
from workbench.services.runs import grids
from workbench.services.workbench import Workbench


class _CountingCell(grids.Cell):
    built = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        type(self).built += 1
        super().__init__(*args, **kwargs)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> type[_CountingCell]:
    _CountingCell.built = 0
    monkeypatch.setattr(grids, "Cell", _CountingCell)
    return _CountingCell


def test_a_320000_image_run_is_refused_before_any_cell_is_built(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    counted: type[_CountingCell],
) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("".join(f"a red kite number {i}\n" for i in range(10_000)))
    argv = ["run", str(prompts), "--models", "nano-banana-2,flux-2-pro", "--variations", "16"]
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert (
        "Not started: 320,000 images (10,000 prompts × 2 models × 16 variations) is more than "
        "5,000. A run over 5,000 needs --max-images 320000." in err
    )
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert counted.built == 0
    code = cli.main([*argv, "--max-images", "300000"])
    assert code == 2 and "Raise --max-images to 320000" in capsys.readouterr().err
    assert counted.built == 0


def test_max_images_is_a_ceiling_the_run_respects(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], wb: Workbench
) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a red kite\na lighthouse\n")
    argv = ["run", str(prompts), "--models", "nano-banana-2,flux-2-pro", "--variations", "2"]
    assert cli.main([*argv, "--max-images", "7", "--quiet"]) == 2
    assert "8 images (2 prompts × 2 models × 2 variations) is more than 7" in (
        capsys.readouterr().err
    )
    assert wb.log.count(HistoryFilter()) == 0  # nothing was written for the refused run
    assert cli.main([*argv, "--max-images", "8", "--quiet"]) == 0
    assert wb.log.count(HistoryFilter()) == 8


def test_the_matrix_counts_20_prompts_by_10000_seeds_before_building(
    wb: Workbench, counted: type[_CountingCell]
) -> None:
    variants = [grids.Variant(label=f"P{i}", text=f"prompt {i}") for i in range(20)]
    seeds: list[int | None] = list(range(10_000))
    providers = {"flux-2-pro": "offline"}
    with pytest.raises(grids.TooManyCells) as refused:
        grids.matrix_cells(wb, variants, providers, seeds, [None], limit=grids.MATRIX_MAX_CELLS)
    assert refused.value.count == 200_000 and counted.built == 0
    assert str(refused.value) == (
        "200,000 images (20 prompts × 1 model × 10,000 seeds × 1 aspect ratio) is more than 500."
    )
    # at the limit it builds, and the count was the number of cells
    cells = grids.matrix_cells(wb, variants, providers, seeds[:25], [None], limit=500)
    assert len(cells) == counted.built == 500
