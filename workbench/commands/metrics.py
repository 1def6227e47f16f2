"""`python -m workbench metrics`: show how many images are measured, or measure them.

    python -m workbench metrics               # what is measured, per metric and status
    python -m workbench metrics --recompute   # measure images lacking current numbers
    python -m workbench metrics --recompute --all   # measure every stored image again
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from workbench.metrics import SPECS, VERSIONS
from workbench.services import metrics as metrics_service
from workbench.services.workbench import Workbench, open_workbench
from workbench.store.db import StoreError

NAME = "metrics"


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        NAME,
        help="automatic image measurements: coverage, or recompute them",
        description=(
            "Warmth, detail, near-duplicate hash and text-in-image accuracy of stored images. "
            "Without options, shows how many images have current numbers."
        ),
    )
    parser.add_argument("--recompute", action="store_true",
                        help="measure images that lack a current-version number (or whose OCR "
                             "was skipped)")
    parser.add_argument("--all", action="store_true", dest="all_images",
                        help="with --recompute: measure every stored image again")
    parser.add_argument("--no-text", action="store_true",
                        help="with --recompute: skip OCR (text accuracy)")
    parser.set_defaults(func=run, command_name=NAME)
    return parser


def _progress(stream: TextIO) -> metrics_service.Progress:
    def report(done: int, total: int, what: str) -> None:
        if stream.isatty():
            stream.write(f"\r{done}/{total} {what[:60]:<60}")
            if done == total:
                stream.write("\n")
        elif done == total or done % 25 == 0:
            stream.write(f"{done}/{total} {what}\n")
        stream.flush()
    return report


def run(args: argparse.Namespace, wb: Workbench | None = None, *,
        out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    if args.all_images and not args.recompute:
        err.write("--all only makes sense with --recompute.\n")
        return 2
    owned = wb is None
    try:
        wb = wb or open_workbench()
    except StoreError as exc:
        err.write(f"{exc}\n")
        return 1
    try:
        if args.recompute:
            report = metrics_service.recompute(
                wb, only_missing=not args.all_images, progress=_progress(err),
                text=not args.no_text)
            out.write(f"Checked {report.candidates} stored image(s): {report.summary()}.\n")
            return 0
        rows = metrics_service.metric_log(wb).coverage()
        if not rows:
            out.write("No measurements yet. Run: python -m workbench metrics --recompute\n")
            return 0
        out.write(f"{'metric':<18} {'version':>7} {'status':<8} {'images':>7}\n")
        for row in rows:
            label = row["metric"] if row["metric"] in SPECS else f"{row['metric']} (unknown)"
            out.write(f"{label:<18} {row['version']:>7} {row['status']:<8} {row['n']:>7}\n")
        current = ", ".join(f"{name} v{version}" for name, version in VERSIONS.items())
        out.write(f"Current versions: {current}\n")
        return 0
    except StoreError as exc:
        err.write(f"{exc}\n")
        return 1
    finally:
        if owned:
            wb.close()
