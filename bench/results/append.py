"""Append one bench run to its results file: the last line a bench script printed (one JSON
object) becomes one record per numeric figure, with today's UTC date, the checked-out commit and
the load average now.

Usage: .venv/bin/python bench/history.py | tee /tmp/history.out
       tail -n 1 /tmp/history.out | .venv/bin/python bench/results/append.py history.jsonl \
           --bench bench/history.py --run 5 [--args "--backend postgres"] [--notes "..."]

Values that are not a number (lists of single calls, exit codes) are left out and named on
stderr: keep them in --notes if a reader needs them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
KEYS = ("date", "commit", "bench", "args", "run", "load_avg", "rows", "figure", "value", "unit",
        "target", "notes")


def _unit(figure: str) -> str:
    if figure.endswith("_ms"):
        return "ms"
    if figure.endswith("_s"):
        return "s"
    return "count"


def _commit() -> str | None:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True,
                          text=True, check=False)
    return done.stdout.strip() or None


def records(summary: dict[str, object], *, bench: str, run: str, args: str,
            notes: str | None) -> list[dict[str, object]]:
    rows = summary.get("rows")
    base: dict[str, object] = {
        "date": dt.datetime.now(dt.UTC).date().isoformat(), "commit": _commit(), "bench": bench,
        "args": args, "run": run, "load_avg": round(os.getloadavg()[0], 2),
        "rows": rows if isinstance(rows, int) else None,
    }
    out = []
    for figure, value in summary.items():
        if figure == "rows":
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            print(f"left out {figure}: {value!r} is not a number", file=sys.stderr)
            continue
        record = {**base, "figure": figure, "value": value, "unit": _unit(figure),
                  "target": None, "notes": notes}
        out.append({k: record[k] for k in KEYS})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="a file in bench/results/, e.g. history.jsonl")
    parser.add_argument("--bench", required=True, help="the script that printed the figures")
    parser.add_argument("--run", required=True, help="a label for this run, e.g. 5")
    parser.add_argument("--args", default="", help="the script's arguments")
    parser.add_argument("--notes", default=None, help="what else was running, what changed")
    options = parser.parse_args()
    lines = [line for line in sys.stdin.read().splitlines() if line.strip()]
    if not lines:
        sys.exit("nothing on stdin: pipe the bench's last line in")
    summary = json.loads(lines[-1])
    if not isinstance(summary, dict):
        sys.exit("the last line is not one JSON object")
    new = records(summary, bench=options.bench, run=options.run, args=options.args,
                  notes=options.notes)
    target = HERE / Path(options.file).name
    with target.open("a") as out:
        out.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in new)
    print(f"{len(new)} records appended to {target.relative_to(HERE.parent.parent)}")


if __name__ == "__main__":
    main()
