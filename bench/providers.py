"""The workbench's own overhead per hosted generation, against loopback fakes with no latency.

Each of the four provider clients (Gemini, BFL, Replicate, fal) runs generations through
`services.runs.generation.generate_sync`, exactly as the app does: on the process's shared
event loop with the provider's client kept between images, plan, log pending, submit, poll
(interval 0), download a 1-megapixel PNG, check it, store it while the row's outcome is written
in DuckDB, commit (its thumbnail is made once that is written, on the image store's helper
thread; the bench waits for it between generations, outside the timed part, and counts its CPU
in `cpu_median_ms`).
Every image is distinct (a counter in a PNG text chunk), so nothing is skipped as already
stored. The fakes answer at once; the CPU time their threads spend building and sending answers
is measured and subtracted, so what is left is the workbench's overhead.

    .venv/bin/python bench/providers.py [--runs 60] [--warmup 5] [--floor]

Prints a line per provider (with the time spent checking the image and storing it, the
latter beside the outcome's write; in DuckDB writes: the reservation with the attempt's row,
the provider's acceptance, written while the job is polled, and the outcome, which waits for
the image; and in the sent-requests ledger), then on the last line one JSON object with
`overhead_median_ms` and
`overhead_p95_ms` (over all providers' runs; target: median <= 15 ms), `cpu_median_ms` (the
process's CPU time per generation, every thread included, minus the fakes'), per-provider,
per-phase and end-to-end figures and the load average (other processes on the machine inflate
every number).

`--floor` is a diagnostic, not the workbench's behaviour: the same path with its four durable
writes turned into no-ops (the reservation with the attempt's row, the sent-requests ledger,
the job id's and the outcome's writes, and the image file), so what is left is the HTTP client,
the provider adapter, planning and checking the image. The difference between the two runs is
what keeping every paid request and image on disk costs per generation.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import struct
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from harness.fakes import FAKES, FakeServer  # noqa: E402
from workbench.config import BASE_URL_VARIABLES, KEY_VARIABLES, load_settings  # noqa: E402
from workbench.providers.http import HttpPolicy  # noqa: E402
from workbench.providers.registry import build_provider  # noqa: E402
from workbench.services.runs import generation  # noqa: E402
from workbench.services.workbench import open_workbench  # noqa: E402

KEY = "bench-key-0000"
MODELS = {"gemini": "nano-banana-2", "bfl": "flux-2-pro", "replicate": "flux-2-pro",
          "fal": "flux-2-pro"}
POLICY = HttpPolicy(poll_interval_s=0.0, backoff_s=0.0)


def photo_like_png(side: int = 1024, seed: int = 7) -> bytes:
    """A 1-megapixel PNG that compresses like a photo (gradients, shapes, sensor noise)."""
    rng = random.Random(seed)
    base = Image.linear_gradient("L").resize((side, side)).convert("RGB")
    overlay = Image.radial_gradient("L").resize((side, side))
    image = Image.merge("RGB", (base.getchannel(0), overlay, base.getchannel(0).rotate(90)))
    noise = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    image = Image.blend(image, noise, 0.12)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def with_counter(png: bytes, n: int) -> bytes:
    """The same pixels with a tEXt chunk before IEND: a distinct file per generation."""
    payload = b"bench\x00" + str(n).encode()
    chunk = struct.pack(">I", len(payload)) + b"tEXt" + payload
    chunk += struct.pack(">I", zlib.crc32(b"tEXt" + payload) & 0xFFFFFFFF)
    return png[:-12] + chunk + png[-12:]


class TimedFake:
    """Wraps a fake's request handling to measure the CPU time its threads spend answering."""

    def __init__(self, fake: FakeServer) -> None:
        self.fake = fake
        self.busy_s = 0.0
        self._lock = threading.Lock()
        original = fake._handle

        def timed(handler: Any, method: str) -> None:
            # CPU time of the handler thread, not wall time: while the fake waits for the
            # client to read a large body, the client is working, and that must not be
            # subtracted from the client's overhead.
            started = time.thread_time()
            try:
                original(handler, method)
            finally:
                with self._lock:
                    self.busy_s += time.thread_time() - started

        fake._handle = timed  # type: ignore[method-assign]  # times the fake's own handler

    def take(self) -> float:
        with self._lock:
            busy, self.busy_s = self.busy_s, 0.0
        return busy


class Phases:
    """Time spent per generation in parts of the work, by wrapping a workbench's objects."""

    def __init__(self) -> None:
        self.current: dict[str, float] = {}
        self.kept: dict[str, list[float]] = {}

    def wrap(self, obj: Any, method: str, label: str) -> None:
        original = getattr(obj, method)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                elapsed = (time.perf_counter() - started) * 1000
                self.current[label] = self.current.get(label, 0.0) + elapsed

        setattr(obj, method, timed)

    def start(self) -> None:
        self.current = {}

    def keep(self) -> None:
        for label, ms in self.current.items():
            self.kept.setdefault(label, []).append(ms)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def without_writes(wb: Any) -> None:
    """`--floor`: the workbench's durable writes become no-ops on this workbench only (its
    database is then left without the attempts' rows)."""
    wb.spending.reserve = lambda *args, **kwargs: None
    wb.attempts.insert_pending = lambda *args, **kwargs: None
    wb.attempts.mark_submitted = lambda *args, **kwargs: None

    def complete(generation_id: str, outcome: Any, *, before_commit: Any = None) -> None:
        if before_commit is not None:
            before_commit()

    wb.attempts.complete = complete
    wb.images.store = lambda checked, **kwargs: checked.stored
    if wb.sent.ledger is not None:
        wb.sent.ledger.append = lambda entry: None


def bench_provider(
    provider: str, png: bytes, runs: int, warmup: int, data: Path, *, floor: bool = False
) -> dict:
    # Any: the knobs below belong to some fakes only (pending_polls, finish_in_submit).
    fake: Any = FAKES[provider](KEY).start()
    # Zero added latency: the job is done by the first poll. Replicate answers the submit
    # unfinished, so its polling path (the slower one) is measured too.
    fake.pending_polls = 0
    if provider == "replicate":
        fake.finish_in_submit = False
    counter = iter(range(10**9))
    fake.image_factory = lambda _job: with_counter(png, next(counter))
    timed = TimedFake(fake)
    settings = load_settings(
        env={"WORKBENCH_DATA_DIR": str(data / provider), KEY_VARIABLES[provider][0]: KEY,
             BASE_URL_VARIABLES[provider]: fake.url},
        secrets_file=data / "no-secrets.toml",
    )
    wb = open_workbench(settings, provider_factory=lambda n, s: build_provider(n, s, policy=POLICY))
    if floor:
        without_writes(wb)
    phases = Phases()
    phases.wrap(wb.images, "check", "image check")
    # Stored while the outcome's row is written: not on the critical path unless slower.
    phases.wrap(wb.images, "store", "image store")
    # The reservation's transaction holds the attempt's row (`insert_pending` runs inside it).
    phases.wrap(wb.spending, "reserve", "duckdb writes")
    for name in ("mark_submitted", "complete"):
        phases.wrap(wb.attempts, name, "duckdb writes")
    if wb.sent.ledger is not None:
        phases.wrap(wb.sent.ledger, "append", "sent ledger")
    request = generation.parse_request({
        "model": MODELS[provider], "provider": provider, "size": "1K" if provider == "gemini"
        else "1MP", "aspect_ratio": "1:1", "prompt": "A lighthouse on a cliff at dusk, 35mm"})
    totals, nets, cpus = [], [], []
    try:
        for i in range(warmup + runs):
            cpu_started = time.process_time()
            timed.take()
            phases.start()
            started = time.perf_counter()
            outcome = generation.generate_sync(wb, request)
            elapsed = (time.perf_counter() - started) * 1000
            wb.images.thumbs.wait_all()  # its CPU counts in this generation's
            cpu_ms = (time.process_time() - cpu_started) * 1000
            fake_ms = timed.take() * 1000
            if outcome.status != "succeeded":
                raise SystemExit(f"{provider}: generation failed: {outcome.error}")
            if i >= warmup:
                totals.append(elapsed)
                nets.append(elapsed - fake_ms)
                cpus.append(cpu_ms - fake_ms)
                phases.keep()
        rows = wb.log.status_counts()
    finally:
        wb.close()
        fake.stop()
    assert floor or rows.get("succeeded") == warmup + runs, rows
    return {"total": totals, "net": nets, "cpu": cpus, "phases": phases.kept}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--floor", action="store_true",
                        help="diagnostic: the same path without its durable writes")
    args = parser.parse_args()
    png = photo_like_png()
    with Image.open(io.BytesIO(png)) as probe:
        size = probe.size
    print(f"image: {size[0]}x{size[1]} PNG, {len(png) / 1e6:.2f} MB; runs per provider: "
          f"{args.runs} (after {args.warmup} warm-up); load average at start: "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{'provider':<10} {'net median':>11} {'net p95':>9} {'e2e median':>11} "
          f"{'e2e p95':>9}  (ms; net = end to end minus the fake's CPU time)")
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-providers-") as tmp:
        for provider in MODELS:
            r = bench_provider(provider, png, args.runs, args.warmup, Path(tmp), floor=args.floor)
            results[provider] = r
            parts = ", ".join(f"{label} {statistics.median(v):.1f}"
                              for label, v in r["phases"].items())
            print(f"{provider:<10} {statistics.median(r['net']):>11.2f} "
                  f"{percentile(r['net'], 0.95):>9.2f} {statistics.median(r['total']):>11.2f} "
                  f"{percentile(r['total'], 0.95):>9.2f}   of which: {parts}")
    net = [v for r in results.values() for v in r["net"]]
    total = [v for r in results.values() for v in r["total"]]
    phase_medians = {
        label: round(statistics.median([v for r in results.values()
                                        for v in r["phases"].get(label, [])]), 2)
        for label in ("image check", "image store", "duckdb writes", "sent ledger")
    }
    prefix = "floor_" if args.floor else ""  # the diagnostic's figures are not the target's
    summary = {
        f"{prefix}overhead_median_ms": round(statistics.median(net), 2),
        f"{prefix}overhead_p95_ms": round(percentile(net, 0.95), 2),
        "end_to_end_median_ms": round(statistics.median(total), 2),
        "end_to_end_p95_ms": round(percentile(total, 0.95), 2),
        # CPU time of the whole process per generation (every thread, the thumbnail's
        # included), minus the fakes': less sensitive to other processes than wall time.
        "cpu_median_ms": round(statistics.median(
            [v for r in results.values() for v in r["cpu"]]), 2),
        "per_provider_overhead_median_ms": {
            p: round(statistics.median(r["net"]), 2) for p, r in results.items()},
        "phase_median_ms": phase_medians,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "runs": len(net),
        "image_bytes": len(png),
    }
    if not args.floor:
        summary["target_median_ms"] = 15
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
