"""How fast the report to send is built (issue 13): 24 images in one self-contained HTML file.

A temporary data directory gets 24 succeeded generations with photo-like images at the sizes
the providers return (12 PNG at 1024x1024 as Nano Banana 2, 12 JPEG at 1440x1440 as FLUX.2 Pro
at 2 MP), a star rating on each and 40 arena votes, so the verdict rows are in the report too.
Then `services.report.build_report` for all 24, --repeat times:

- `report_24_images_s`: median seconds from ids to the finished HTML (issue target: <= 3 s);
- `report_24_images_mb`: the file's size (issue limit: < 15 MB);
- `export_with_provenance_ms`: median milliseconds for one PNG copy with its recipe inside.

The prompt-library figures of issue 13 (`library_page_ms`, `version_stats_ms`) come with the
library itself. Last line: one JSON object.

Usage: .venv/bin/python bench/library.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from workbench.config import load_settings  # noqa: E402
from workbench.domain.ids import new_id  # noqa: E402
from workbench.services.provenance import image_with_provenance  # noqa: E402
from workbench.services.report import build_report  # noqa: E402
from workbench.services.workbench import Workbench, open_workbench  # noqa: E402
from workbench.store.generations import NewGeneration, Outcome  # noqa: E402
from workbench.store.votes import NewVote  # noqa: E402

PROMPT = (
    "A copper kettle on a weathered oak table, soft window light from the left, 85mm f/1.4, "
    "brushed metal and grain texture, warm morning tones"
)


def photo_like(side: int, seed: int, fmt: str) -> bytes:
    """Smooth light, a few soft shapes and fine grain: closer to a photo than noise or a flat
    fill, so the JPEG sizes are realistic."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:side, 0:side] / side
    base = np.stack([0.6 + 0.3 * x, 0.45 + 0.3 * y, 0.35 + 0.2 * (1 - x)], axis=-1)
    for _ in range(6):
        cx, cy, r = rng.random(3) * [1, 1, 0.25] + [0, 0, 0.05]
        blob = np.exp(-(((x - cx) ** 2 + (y - cy) ** 2) / (r * r)))[..., None]
        base = base * (1 - 0.6 * blob) + 0.6 * blob * rng.random(3)
    pixels = np.clip(base * 255 + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return out.getvalue()


def seed_log(wb: Workbench) -> list[str]:
    ids = []
    for i in range(24):
        flux = i % 2 == 1
        model, provider = ("flux-2-pro", "bfl") if flux else ("nano-banana-2", "gemini")
        side, fmt = (1440, "JPEG") if flux else (1024, "PNG")
        generation_id = new_id("gen")
        wb.log.insert_pending(NewGeneration(
            id=generation_id, model=model, provider=provider, prompt=PROMPT,
            prompt_written=PROMPT, category="product", seed=i,
        ))
        wb.log.complete(generation_id, Outcome(
            status="succeeded", latency_ms=9000.0 if flux else 6000.0,
            cost_usd=0.045 if flux else 0.039, cost_kind="known",
            image=wb.images.put(photo_like(side, i, fmt)),
        ))
        wb.ratings.add(generation_id, "overall", 3 + i % 3)
        ids.append(generation_id)
    votes = wb.votes
    for i in range(40):
        votes.add(NewVote(
            left_model="flux-2-pro", right_model="nano-banana-2", left_provider="bfl",
            right_provider="gemini", left_generation_id=ids[1 + 2 * (i % 12)],
            right_generation_id=ids[2 * (i % 12)], winner="left" if i % 3 else "right",
            criterion="overall", prompt=PROMPT,
        ))
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(env={"WORKBENCH_DATA_DIR": tmp}, secrets_file=Path(tmp) / "x")
        wb = open_workbench(settings, idle_close_s=0)
        try:
            ids = seed_log(wb)
            times, size = [], 0
            for _ in range(args.repeat):
                started = time.perf_counter()
                report = build_report(wb, ids, "Bench report")
                times.append(time.perf_counter() - started)
                size = len(report.data)
                assert report.images == 24
            exports = []
            for generation_id in ids[:8]:
                started = time.perf_counter()
                image_with_provenance(wb, generation_id)
                exports.append((time.perf_counter() - started) * 1000)
        finally:
            wb.close()
    figures = {
        "report_24_images_s": round(statistics.median(times), 3),
        "report_24_images_mb": round(size / 1024 / 1024, 2),
        "export_with_provenance_ms": round(statistics.median(exports), 1),
    }
    print(f"report of 24 images: {figures['report_24_images_s']} s (median of {args.repeat}), "
          f"{figures['report_24_images_mb']} MB")
    print(f"one exported copy with provenance: {figures['export_with_provenance_ms']} ms")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
