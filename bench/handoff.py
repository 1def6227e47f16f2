"""What preparing a draft as a reference image costs before a refined generation is sent.

`imaging/reference.py` runs once per refined generation, in the plan, before anything is sent:
it hashes the stored draft and reads its header (an image every offer takes as stored), converts
or downscales it (FLUX.2 offers cap references at 4 MP), or re-encodes it under a byte cap
(Replicate's data URIs: 1 MB). This times each case on photo-like PNGs (gradients, shapes,
sensor noise; they compress like photos, so the 1 MB cap really re-encodes):

    .venv/bin/python bench/handoff.py [--runs 20]

Prints one line per case, then one JSON object: `reference_passthrough_ms` (a 1 MP PNG sent as
stored), `reference_fit_1mb_ms` (the same PNG brought under 1 MB as JPEG), `reference_downscale_ms`
(a 16 MP PNG downscaled to 4 MP), each the median over the runs, plus the bytes sent.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.providers import photo_like_png  # noqa: E402
from workbench.domain.catalog import ReferenceInput  # noqa: E402
from workbench.imaging.reference import prepare_reference  # noqa: E402

CASES = {
    "reference_passthrough_ms": (1024, ReferenceInput(max_images=8, max_mp=4.0, source="bfl")),
    "reference_fit_1mb_ms": (
        1024, ReferenceInput(max_images=8, max_mp=4.0, max_bytes=1_000_000, source="replicate")
    ),
    "reference_downscale_ms": (4096, ReferenceInput(max_images=8, max_mp=4.0, source="bfl")),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    summary: dict[str, float | int | str] = {}
    for name, (side, spec) in CASES.items():
        png = photo_like_png(side)
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            ref = prepare_reference(png, spec, "bench")
            times.append((time.perf_counter() - started) * 1000)
        median = round(statistics.median(times), 2)
        print(f"{name}: median {median} ms over {args.runs} runs; {len(png):,} bytes stored "
              f"-> {len(ref.data):,} bytes {ref.mime} {ref.width}x{ref.height} "
              f"({ref.converted or 'as stored'})")
        summary[name] = median
        summary[name.removesuffix("_ms") + "_bytes_sent"] = len(ref.data)
    summary["load_average_1m"] = round(os.getloadavg()[0], 2)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
