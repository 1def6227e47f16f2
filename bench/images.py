"""How fast images move through an S3-compatible image store, on a loopback S3 server (moto's
server mode in its own process, as the tests start it: `harness.s3_server`).

- `s3_put_1mp_ms`: `ImageStore.put` of a new 1-megapixel PNG (decode, thumbnail, HEAD, PUT of
  the image and its thumbnail), median over distinct images;
- `s3_get_1mp_ms`: reading such an image back through a store with an empty local cache;
- `s3_page_50_thumbs_cold_ms`: a History page's 50 thumbnails as data URIs, none cached yet
  (fetched side by side, `thumb_data_uris`, the call the History page makes);
- `s3_page_50_thumbs_warm_ms`: the same page again, every thumbnail in the local read cache
  (what each rerun of the page costs; the target is at most 50 ms).
Each figure is a median over several runs. Last line: one JSON object.

Usage: .venv/bin/python bench/images.py [--repeat 7]
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

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.s3_server import S3Server
from workbench.store.images import open_image_store


def png_1mp(seed: int) -> bytes:
    """A 1000×1000 PNG with texture (noise over a gradient), different for every seed."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 200, 1000, dtype=np.float32)
    pixels = ramp[None, :, None] + rng.normal(0, 20, (1000, 1000, 3))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    server = S3Server().start()
    try:
        server.make_bucket("bench-images")
        env = server.env("s3://bench-images/bench")
        with tempfile.TemporaryDirectory() as tmp:
            writer = open_image_store(Path(tmp) / "writer", env=env)
            puts, refs = [], []
            for i in range(args.repeat + 1):
                data = png_1mp(i)
                start = time.perf_counter()
                refs.append(writer.put(data).path)
                if i:  # the first one warms the client's connection
                    puts.append(ms(start))
            gets = []
            for i, ref in enumerate(refs[1:]):
                reader = open_image_store(Path(tmp) / f"reader{i}", env=env)  # empty cache
                start = time.perf_counter()
                reader.read(ref)
                gets.append(ms(start))
            thumbs = []
            for i in range(50):
                small = Image.new("RGB", (64, 64), (i * 5 % 256, 90, 200 - i))
                buffer = io.BytesIO()
                small.save(buffer, "PNG")
                thumbs.append(writer.put(buffer.getvalue()).thumb_path)
            colds, warms = [], []
            for i in range(args.repeat):
                page = open_image_store(Path(tmp) / f"page{i}", env=env)  # nothing cached
                start = time.perf_counter()
                uris = page.thumbs.data_uris(list(thumbs))
                colds.append(ms(start))
                assert all(u and u.startswith("data:image/jpeg;base64,") for u in uris)
                for _ in range(3):
                    start = time.perf_counter()
                    page.thumbs.data_uris(list(thumbs))
                    warms.append(ms(start))
    finally:
        server.stop()
    summary = {
        "s3_put_1mp_ms": round(statistics.median(puts), 1),
        "s3_get_1mp_ms": round(statistics.median(gets), 1),
        "s3_page_50_thumbs_cold_ms": round(statistics.median(colds), 1),
        "s3_page_50_thumbs_warm_ms": round(statistics.median(warms), 1),
        "png_1mp_bytes": len(png_1mp(0)),
    }
    for name, value in summary.items():
        print(f"{name:32} {value}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
