"""Measures the image measurements: per-image time of each measure at 1024² and 2048², OCR per
image, 100 rendered-text images measured end to end (fast measures + OCR, stored), and how long
a History page rerun takes while the background worker measures a batch.

    .venv/bin/python bench/metrics.py [--images 100] [--reruns 15]

Targets: warmth + detail + hash <= 60 ms per 2048² image; OCR <= 1 s per image; a page
rerun during a background batch <= 300 ms. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from workbench.imaging import measure as m  # noqa: E402

if TYPE_CHECKING:
    from workbench.services.workbench import Workbench

SIGNS = ("OPEN 24 HOURS", "JOE'S DINER", "FRESH BREAD", "NO PARKING", "CAFE 1962",
         "EXIT", "HOTEL CENTRAL", "SALE 50% OFF", "BOOKS & MAPS", "PHARMACY")


def scene(side: int, seed: int) -> Image.Image:
    """A busy synthetic photo-like frame: discs, gradients, fine texture and noise."""
    rng = np.random.default_rng(seed)
    axis = ((np.arange(side) + 0.5) / side).astype(np.float32)
    yy, xx = axis[:, None], axis[None, :]
    img = np.empty((side, side, 3), dtype=np.float32)
    img[:] = (0.3 + 0.4 * yy)[..., None]
    for _ in range(20):
        cx, cy, r = rng.random(3)
        r = 0.03 + 0.2 * r
        cover = np.clip((r - np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)) * side + 0.5, 0, 1)
        img = img * (1 - cover[..., None]) + cover[..., None] * rng.random(3).astype(np.float32)
    img += 0.05 * np.sin(2 * np.pi * xx * 120)[..., None] * np.sin(2 * np.pi * yy * 110)[..., None]
    img += rng.normal(0, 0.02, img.shape).astype(np.float32)
    return Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8))


def text_image(text: str, side: int, seed: int) -> Image.Image:
    """A sign in Pillow's built-in font (it has no accented capitals, so the signs have none)."""
    rng = np.random.default_rng(seed)
    background = tuple(int(v) for v in rng.integers(200, 245, 3))
    img = Image.new("RGB", (side, side), background)
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=side // 12)
    left, _, right, _ = draw.textbbox((0, 0), text, font=font)
    x = (side - (right - left)) // 2 + int(rng.integers(-side // 20, side // 20))
    y = int(rng.integers(side // 6, side * 2 // 3))
    draw.text((x, y), text, font=font, fill=(20, 20, 30))
    return img


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def timed_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs)


def bench_fast(repeat: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for side in (1024, 2048):
        image = scene(side, side)
        data = png(image)
        grey = m.detail_grey(image)
        out[f"warmth_{side}_ms"] = timed_ms(partial(m.measure_warmth, image), repeat)
        out[f"detail_{side}_ms"] = timed_ms(partial(m.measure_detail, image), repeat)
        out[f"hash_{side}_ms"] = timed_ms(partial(m.measure_hash, image), repeat)
        out[f"hash_from_shared_grey_{side}_ms"] = timed_ms(
            partial(m.measure_hash, image, grey), repeat)
        out[f"fast_metrics_{side}_ms"] = timed_ms(partial(m.measure_fast, image), repeat)
        out[f"png_decode_{side}_ms"] = timed_ms(partial(m.load_image, data), repeat)
        print(f"{side}²: warmth {out[f'warmth_{side}_ms']:.1f} ms, detail "
              f"{out[f'detail_{side}_ms']:.1f} ms, hash {out[f'hash_{side}_ms']:.1f} ms "
              f"({out[f'hash_from_shared_grey_{side}_ms']:.1f} ms from the shared grey copy); "
              f"all three together {out[f'fast_metrics_{side}_ms']:.1f} ms; PNG decode "
              f"{out[f'png_decode_{side}_ms']:.1f} ms (not included)")
    return out


def bench_ocr(repeat: int) -> dict[str, float]:
    from workbench.engines.ocr import OcrEngine

    engine = OcrEngine()
    start = time.perf_counter()
    if not engine.available():
        print(f"OCR unavailable: {engine.unavailable_reason}")
        return {}
    out = {"ocr_load_ms": (time.perf_counter() - start) * 1000}
    for side in (1024, 2048):
        images = [text_image(SIGNS[i % len(SIGNS)], side, i) for i in range(repeat)]
        times, right = [], 0
        for i, image in enumerate(images):
            t0 = time.perf_counter()
            lines = engine.read(image)
            times.append((time.perf_counter() - t0) * 1000)
            right += m.measure_text([SIGNS[i % len(SIGNS)]], [x.text for x in lines]).value == 1.0
        out[f"ocr_{side}_ms"] = statistics.median(times)
        out[f"ocr_{side}_exact"] = right / len(images)
        print(f"OCR {side}² (shrunk to 1024 first): median {out[f'ocr_{side}_ms']:.0f} ms, "
              f"max {max(times):.0f} ms, exact {right}/{len(images)}")
    out["ocr_ms"] = max(out["ocr_1024_ms"], out["ocr_2048_ms"])
    print(f"OCR engine load (first use): {out['ocr_load_ms']:.0f} ms; threads: {engine.threads}")
    return out


def _seed(wb: Workbench, count: int, side: int, start: int = 0) -> list[str]:
    from workbench.domain.ids import new_id
    from workbench.store.attempts import NewGeneration, Outcome

    ids = []
    for i in range(start, start + count):
        sign = SIGNS[i % len(SIGNS)]
        prompt = f'A street at dusk, a shop sign that says "{sign}", photo #{i}'
        gid = new_id("gen")
        wb.attempts.insert_pending(NewGeneration(
            id=gid, model=("nano-banana-2", "flux-2-pro")[i % 2], provider="offline",
            prompt=prompt, prompt_written=prompt, seed=i, category="text"))
        stored = wb.images.put(png(text_image(sign, side, i)))
        wb.attempts.complete(gid, Outcome(status="succeeded", image=stored, latency_ms=1.0))
        ids.append(gid)
    return ids


def bench_batch(images: int) -> dict[str, float]:
    from workbench.config import load_settings
    from workbench.services.evidence import measurements as service
    from workbench.services.workbench import open_workbench

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(env={"WORKBENCH_DATA_DIR": tmp}, secrets_file=Path(tmp) / "x")
        wb = open_workbench(settings)
        _seed(wb, images, 1024)
        start = time.perf_counter()
        report = service.recompute(wb)
        total = time.perf_counter() - start
        rows = service.text_accuracy(wb)
        wb.close()
    measured = sum(r.images for r in rows)
    exact = sum(float(r.exact_share or 0) * r.images for r in rows) / max(1, measured)
    print(f"{images} rendered-text images (1024²), fast measures + OCR + stored: {total:.1f} s "
          f"({total / images * 1000:.0f} ms per image); {report.summary()}; exact text "
          f"{exact:.0%}")
    return {"batch_images": images, "batch_total_s": total,
            "batch_per_image_ms": total / images * 1000, "batch_text_exact": exact}


def _history_script() -> None:
    from workbench.ui import history

    history.render()


def bench_rerun(reruns: int, batch: int) -> dict[str, float]:
    """AppTest reruns of the History page, idle and while the worker measures a batch."""
    from streamlit.testing.v1 import AppTest

    from workbench.config import load_settings
    from workbench.services.evidence import measurements as service
    from workbench.services.workbench import open_workbench

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["WORKBENCH_DATA_DIR"] = tmp
        settings = load_settings()
        wb = open_workbench(settings)
        _seed(wb, 60, 512)  # history to show
        batch_ids = _seed(wb, batch, 1024, start=1000)
        at = AppTest.from_function(_history_script, default_timeout=60)
        at.run()
        if at.exception:
            raise RuntimeError(f"History page failed: {at.exception}")

        def rerun_ms() -> float:
            t0 = time.perf_counter()
            at.run()
            return (time.perf_counter() - t0) * 1000

        idle = [rerun_ms() for _ in range(reruns)]
        worker = service.MetricsWorker(wb)
        worker.ocr.available()  # load the engine before the clock starts, as a warm app would
        started = time.perf_counter()
        worker.submit_many(batch_ids)
        busy: list[float] = []
        while worker.pending and len(busy) < reruns * 4:
            busy.append(rerun_ms())
        still_busy = worker.pending
        worker.wait_idle(600)
        batch_s = time.perf_counter() - started
        worker.close()
        wb.close()
    idle_median, busy_median = statistics.median(idle), statistics.median(busy)
    busy_p95 = sorted(busy)[max(0, int(len(busy) * 0.95) - 1)]
    print(f"History page rerun (AppTest, 60 rows with thumbnails): idle median "
          f"{idle_median:.0f} ms; during a background batch of {batch} images with OCR "
          f"({batch_s:.1f} s, {len(busy)} reruns, {still_busy} jobs still queued after them): "
          f"median {busy_median:.0f} ms, p95 {busy_p95:.0f} ms, max {max(busy):.0f} ms")
    return {"rerun_idle_ms": idle_median, "rerun_during_metrics_ms": busy_median,
            "rerun_during_metrics_p95_ms": busy_p95, "rerun_during_metrics_max_ms": max(busy)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--reruns", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print(f"CPUs: {os.cpu_count()}; Python {sys.version.split()[0]}")
    results: dict[str, float] = {}
    results.update(bench_fast(args.repeat))
    results.update(bench_ocr(max(10, args.repeat // 2)))
    results.update(bench_batch(args.images))
    results.update(bench_rerun(args.reruns, batch=40))
    results = {k: round(v, 3) if isinstance(v, float) else v for k, v in results.items()}
    print(json.dumps(results))


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
