"""Several processes on one embedded data directory: how long `workbench history` takes while two
`workbench run` commands write, and whether any job is lost or doubled.

Two runs of 30 prompts each (60 jobs) start at once against a loopback fake of the Gemini API
that answers each request after `--delay` seconds; meanwhile the `history` command runs in a
loop. Each history figure is the command's wall time end to end (a fresh Python process:
interpreter start and imports included), so `history_idle_*` gives the same command with no run
going, for comparison. "During runs" starts once both runs have queued their grids (each has
printed its run id, its first write) and ends with the first run's exit; calls before that, while
three processes start on two cores, are reported apart (`history_while_runs_start_ms`). While a
run works it answers `history` itself (`workbench/commands/_queries.py`); `--no-asking` sets
`WORKBENCH_ASK_RUNS=0` to time the command doing all the work in its own process. Between two
commands the bench also opens the data directory itself the way a command does (wait for the
turn, open, a 50-row page and its count, close; the file kept between those units as a command
keeps it) and times that (`history_query_*`): the part of the command the database is
responsible for, without the interpreter's start and imports. At the end the log must hold each
of the 60 prompts exactly once.

Usage: .venv/bin/python bench/concurrency.py [--prompts 30] [--delay 0.5] [--concurrency 2]
                                            [--no-asking]
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.slow_gemini import slow_gemini  # noqa: E402
from workbench.commands import COMMAND_IDLE_CLOSE_S  # noqa: E402
from workbench.config import load_settings  # noqa: E402
from workbench.domain.filters import HistoryFilter  # noqa: E402
from workbench.services.workbench import open_workbench  # noqa: E402

NAMES = ("alpha", "beta")


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "workbench", *args]


def _history(env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(
        _cli("history", "--limit", "50"), env=env, capture_output=True, text=True, cwd=ROOT
    )
    return (time.perf_counter() - started) * 1000, done


def _query(data: Path, tmp: str) -> float:
    """Open, one History page and its count, close: what `history` asks of the database."""
    started = time.perf_counter()
    wb = open_workbench(
        load_settings(env={"WORKBENCH_DATA_DIR": str(data)}, secrets_file=Path(tmp) / "x"),
        idle_close_s=COMMAND_IDLE_CLOSE_S,
    )
    try:
        with wb.db.cursor():
            wb.log.page(HistoryFilter(), limit=50)
            wb.log.count(HistoryFilter())
    finally:
        wb.close()
    return (time.perf_counter() - started) * 1000


def _follow(run: subprocess.Popen[str], lines: list[str], writing: threading.Event) -> None:
    """Collect a run's stderr; `writing` once it printed its run id (its grid is queued)."""
    assert run.stderr is not None
    for line in run.stderr:
        lines.append(line)
        if line.startswith("run id:"):
            writing.set()


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=30, help="prompts per run")
    parser.add_argument("--delay", type=float, default=0.5, help="fake API answer delay (s)")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--no-asking", action="store_true",
                        help="history never asks a running run (WORKBENCH_ASK_RUNS=0)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, slow_gemini(
        Path(tmp) / "data", delay_s=args.delay
    ) as (fake, env):
        data = Path(tmp) / "data"
        if args.no_asking:
            env = {**env, "WORKBENCH_ASK_RUNS": "0"}
        idle = [_history(env)[0] for _ in range(5)]
        runs = []
        started = time.perf_counter()
        for name in NAMES:
            path = Path(tmp) / f"{name}.txt"
            path.write_text("".join(f"{name} prompt {i}\n" for i in range(args.prompts)))
            runs.append(
                subprocess.Popen(
                    _cli("run", str(path), "--models", "nano-banana-2", "--concurrency",
                         str(args.concurrency), "--quiet"),
                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                )
            )
        errors: list[list[str]] = [[] for _ in runs]
        writing = [threading.Event() for _ in runs]
        readers = [
            threading.Thread(target=_follow, args=(run, lines, event), daemon=True)
            for run, lines, event in zip(runs, errors, writing, strict=True)
        ]
        for reader in readers:
            reader.start()
        starting: list[float] = []
        during: list[float] = []
        queries: list[float] = []
        failures = 0
        while all(run.poll() is None for run in runs):
            both_writing = all(event.is_set() for event in writing)
            ms, done = _history(env)
            if all(run.poll() is None for run in runs):
                (during if both_writing else starting).append(ms)
            for _ in range(5):
                ms = _query(data, tmp)
                if all(run.poll() is None for run in runs):
                    queries.append(ms)
                time.sleep(0.05)
            if done.returncode != 0 or "in use" in done.stderr:
                failures += 1
                print("history failed:", done.stderr.strip(), file=sys.stderr)
        codes = [run.wait() for run in runs]
        for reader in readers:
            reader.join()
        runs_s = time.perf_counter() - started
        failures += sum("in use" in line for lines in errors for line in lines)
        wb = open_workbench(
            load_settings(env={"WORKBENCH_DATA_DIR": str(data)}, secrets_file=Path(tmp) / "x"),
            idle_close_s=0,
        )
        rows = wb.log.page(HistoryFilter(), limit=10 * args.prompts)
        wb.close()
        expected = {f"{name} prompt {i}" for name in NAMES for i in range(args.prompts)}
        succeeded = [r.prompt for r in rows if r.status == "succeeded"]
        summary = {
            "jobs": len(expected),
            "history_calls_during_runs": len(during),
            "history_while_runs_start_ms": [round(ms, 1) for ms in starting],
            "history_during_runs_p50_ms": round(statistics.median(during), 1) if during else None,
            "history_during_runs_p95_ms": round(_p95(during), 1) if during else None,
            "history_idle_p50_ms": round(statistics.median(idle), 1),
            "history_query_during_runs_p50_ms": (
                round(statistics.median(queries), 1) if queries else None
            ),
            "history_query_during_runs_p95_ms": round(_p95(queries), 1) if queries else None,
            "history_idle_p95_ms": round(_p95(idle), 1),
            "lost_jobs": len(expected - set(succeeded)),
            "doubled_jobs": len(succeeded) - len(set(succeeded)),
            "paid_submits": fake.paid_submits,
            "in_use_errors": failures,
            "run_exit_codes": codes,
            "runs_s": round(runs_s, 1),
        }
    for key, value in summary.items():
        print(f"{key:>30}: {value}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
