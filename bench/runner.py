"""How close the run engine gets to ideal throughput, and what it costs in memory.

A loopback fake of the Gemini API runs in a separate process and answers every
`generateContent` after 0.5 s with a distinct 256 px PNG. A run of 200 jobs over two models
served by that one provider (nano-banana-2 and nano-banana-pro, 100 each) goes through the real
run engine: plan, queued rows, per-provider lane, HTTP client, image store and thumbnail,
DuckDB writes. At concurrency C the ideal wall time is ceil(200 / C) x 0.5 s; the script
prints wall time / ideal for C = 16 (target <= 1.15), 1 and 64, and the peak resident memory of
the workbench process (the fake's process is not counted).

    .venv/bin/python bench/runner.py [--jobs 200] [--latency 0.5]

Last line: one JSON object with `ratio_c16`, `ratio_c1`, `ratio_c64` and `peak_rss_mb`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workbench.config import load_settings  # noqa: E402
from workbench.services.runs.generation import GenerateRequest  # noqa: E402
from workbench.services.runs.runner import Cell, RunSettings, start_run  # noqa: E402
from workbench.services.workbench import open_workbench  # noqa: E402

KEY = "bench-key-runner"
MODELS = ("nano-banana-2", "nano-banana-pro")
FAKE = """
import sys, time
sys.path.insert(0, {root!r})
from harness.fakes import FakeGemini, Fault, png_bytes
fake = FakeGemini({key!r})
fake.fault("submit", Fault(delay_s={latency}, passthrough=True, repeat=True))
fake.start()
print(fake.url, flush=True)
sys.stdin.read()
"""


def start_fake(latency: float) -> tuple[subprocess.Popen, str]:
    code = FAKE.format(root=str(ROOT), key=KEY, latency=latency)
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdin is not None  # both are PIPEs
    url = proc.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1"):
        proc.kill()
        raise RuntimeError(f"the fake did not start: {url!r}")
    return proc, url


def one_run(url: str, jobs: int, concurrency: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {"WORKBENCH_DATA_DIR": tmp, "GEMINI_API_KEY": KEY, "GEMINI_BASE_URL": url}
        wb = open_workbench(load_settings(env=env, secrets_file=Path(tmp) / "none.toml"),
                            idle_close_s=5)
        cells = [
            Cell(f"{model}|{i}", GenerateRequest(
                model=model, provider="gemini", prompt=f"a paper lantern number {i} at dusk",
                aspect_ratio="1:1", size="1K"))
            for i in range(jobs // len(MODELS)) for model in MODELS
        ]
        handle = start_run(wb, "bench", f"c{concurrency}", cells,
                           RunSettings(concurrency={"gemini": concurrency}))
        started = time.perf_counter()
        progress = handle.run_sync()
        wall = time.perf_counter() - started
        wb.close()
    return wall, progress.succeeded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--concurrency", default="16,1,64")
    args = parser.parse_args()
    os.environ.setdefault("WORKBENCH_POLL_INTERVAL_S", "0")
    proc, url = start_fake(args.latency)
    figures: dict[str, float] = {"jobs": args.jobs, "latency_s": args.latency}
    try:
        one_run(url, 8, 8)  # warm-up: imports, first connections
        for c in (int(x) for x in args.concurrency.split(",")):
            ideal = math.ceil(args.jobs / c) * args.latency
            wall, ok = one_run(url, args.jobs, c)
            if ok != args.jobs:
                raise SystemExit(f"only {ok} of {args.jobs} jobs succeeded at concurrency {c}")
            figures[f"wall_c{c}_s"] = round(wall, 2)
            figures[f"ideal_c{c}_s"] = round(ideal, 2)
            figures[f"ratio_c{c}"] = round(wall / ideal, 3)
            print(f"concurrency {c:>2}: {wall:6.2f} s for {args.jobs} jobs, ideal {ideal:5.2f} s,"
                  f" ratio {wall / ideal:.3f}", flush=True)
    finally:
        assert proc.stdin is not None  # a PIPE
        proc.stdin.close()
        proc.wait(timeout=10)
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    figures["load_average_1m"] = round(os.getloadavg()[0], 2)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
