"""Limits that speak before the work: how long each refusal takes.

- `refuse_huge_run_ms`: `workbench run` on a 10,000-line prompt file with 2 models and 16
  variations (320,000 images), in this process (`cli.main`, imports warm, a fresh data directory
  opened by the command): from the call to its one-line refusal. `refuse_huge_run_process_ms` is
  the same command as a process of its own (interpreter start and imports included).
- `a1111_40kb_ms`: an A1111 `parameters` text whose last line is 40,960 characters, refused by
  `imaging.provenance.parse_parameters`; `a1111_40kb_image_ms` the same text in a PNG's
  `parameters` chunk, refused by "Open from image" (`services.delivery.recipes`, header read
  included); `a1111_cap_parse_ms` reads a text at the cap whose last line is one long run of
  key characters (the worst case for the pairs reader).
- `matrix_10k_seeds_ms`: what the Matrix page does before it refuses 20 prompts x 10,000 seeds on
  2 models: parse the seed field (`ui.matrix._seeds`) and `grids.matrix_cells` with its limit.

Each figure is the median of `--repeat` runs. Usage: .venv/bin/python bench/guards.py [--repeat 5]
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench import cli  # noqa: E402
from workbench.config import load_settings  # noqa: E402
from workbench.errors import WorkbenchError  # noqa: E402
from workbench.imaging.provenance import (  # noqa: E402
    MAX_PARAMETERS_CHARS,
    ProvenanceError,
    parse_parameters,
)
from workbench.services.runs import grids  # noqa: E402
from workbench.services.workbench import open_workbench  # noqa: E402
from workbench.ui.matrix import _seeds  # noqa: E402

MODELS = "nano-banana-2,flux-2-pro"


def _median_ms(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 3)


def _huge_run(tmp: Path, repeat: int) -> tuple[float, float]:
    prompts = tmp / "prompts.txt"
    prompts.write_text("".join(f"a red kite over dunes, number {i}\n" for i in range(10_000)))
    argv = ["run", str(prompts), "--models", MODELS, "--variations", "16"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    runs = iter(range(repeat * 2))

    def in_process() -> None:
        os.environ["WORKBENCH_DATA_DIR"] = str(tmp / f"data{next(runs)}")
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = cli.main(argv)
        assert code == 2 and "320,000 images" in err.getvalue(), err.getvalue()

    def process() -> None:
        data = tmp / f"data{next(runs)}"
        done = subprocess.run(
            [sys.executable, "-m", "workbench", *argv],
            env={**env, "WORKBENCH_DATA_DIR": str(data)}, capture_output=True, text=True,
            cwd=ROOT,
        )
        assert done.returncode == 2 and "320,000 images" in done.stderr, done.stderr

    return _median_ms(in_process, repeat), _median_ms(process, repeat)


def _a1111(repeat: int) -> tuple[float, float]:
    long_line = "a cat\n" + "a" * 40_960

    def refuse() -> None:
        try:
            parse_parameters(long_line)
        except ProvenanceError:
            return
        raise AssertionError("a 40 KB line was not refused")

    at_cap = "a cat\n" + ("ab cd" * MAX_PARAMETERS_CHARS)[: MAX_PARAMETERS_CHARS - 6]
    return _median_ms(refuse, repeat * 20), _median_ms(lambda: parse_parameters(at_cap), repeat)


def _a1111_image(tmp: Path, repeat: int) -> float:
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    from workbench.services.delivery.recipes import RecipeError, recipe_from_image

    info = PngInfo()
    info.add_text("parameters", "a cat\n" + "a" * 40_960)
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 90, 40)).save(out, format="PNG", pnginfo=info)
    data = out.getvalue()
    settings = load_settings(
        env={"WORKBENCH_DATA_DIR": str(tmp / "recipes")}, secrets_file=tmp / "none.toml"
    )
    wb = open_workbench(settings, idle_close_s=0)

    def refuse() -> None:
        try:
            recipe_from_image(wb, data, "flux-2-pro")
        except RecipeError:
            return
        raise AssertionError("a 40 KB parameters line was not refused")

    try:
        return _median_ms(refuse, repeat * 4)
    finally:
        wb.close()


def _matrix(tmp: Path, repeat: int) -> float:
    settings = load_settings(
        env={"WORKBENCH_DATA_DIR": str(tmp / "matrix")}, secrets_file=tmp / "none.toml"
    )
    wb = open_workbench(settings, idle_close_s=0)
    variants = [grids.Variant(label=f"P{i + 1}", text=f"a lighthouse, take {i}") for i in range(20)]
    providers = {"nano-banana-2": "offline", "flux-2-pro": "offline"}
    seed_text = ",".join(str(s) for s in range(10_000))

    def refuse() -> None:
        try:
            grids.matrix_cells(
                wb, variants, providers, _seeds(seed_text), [None], limit=grids.MATRIX_MAX_CELLS
            )
        except WorkbenchError:
            return
        raise AssertionError("20 prompts x 10,000 seeds were not refused")

    try:
        return _median_ms(refuse, repeat)
    finally:
        wb.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        huge, huge_process = _huge_run(tmp, args.repeat)
        a1111, at_cap = _a1111(args.repeat)
        a1111_image = _a1111_image(tmp, args.repeat)
        matrix = _matrix(tmp, args.repeat)
    figures = {
        "refuse_huge_run_ms": huge,
        "refuse_huge_run_process_ms": huge_process,
        "a1111_40kb_ms": a1111,
        "a1111_40kb_image_ms": a1111_image,
        "a1111_cap_parse_ms": at_cap,
        "matrix_10k_seeds_ms": matrix,
        "load": os.getloadavg()[0],
    }
    for name, value in figures.items():
        print(f"{name}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
