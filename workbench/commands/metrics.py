"""`workbench metrics`: how many images are measured, or measure them.

    workbench metrics                      # coverage per metric, version and status
    workbench metrics --recompute          # images lacking a current-version number
    workbench metrics --recompute --all    # every stored image again
    workbench metrics --recompute --no-text   # skip OCR (text accuracy)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from workbench.commands import EXIT_OK, EXIT_USAGE, CommandError, opened_workbench

if TYPE_CHECKING:
    from workbench.services.workbench import Workbench


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "metrics",
        help="automatic image measurements: coverage, or recompute them",
        description=(
            "Warmth, detail, near-duplicate hash and text-in-image accuracy of stored images. "
            "Without options, shows how many images have numbers at the current versions."
        ),
    )
    parser.add_argument("--recompute", action="store_true",
                        help="measure images lacking a current-version number (or whose OCR "
                             "was skipped)")
    parser.add_argument("--all", action="store_true", dest="all_images",
                        help="with --recompute: measure every stored image again")
    parser.add_argument("--no-text", action="store_true",
                        help="with --recompute: leave text accuracy (OCR) out")
    parser.set_defaults(run=run)


def _progress(stream: TextIO) -> Callable[[int, int, str], None]:
    def report(done: int, total: int, what: str) -> None:
        if stream.isatty():
            stream.write(f"\r{done}/{total} {what[:60]:<60}")
            if done == total:
                stream.write("\n")
        elif done == total or done % 25 == 0:
            stream.write(f"{done}/{total} {what}\n")
        stream.flush()
    return report


def _work(args: argparse.Namespace, wb: Workbench, out: TextIO, err: TextIO) -> int:
    from workbench.domain.plural import count
    from workbench.imaging.measure import SPECS, VERSIONS
    from workbench.services.evidence import measurements as metrics_service

    if args.recompute:
        report = metrics_service.recompute(
            wb, only_missing=not args.all_images, progress=_progress(err),
            text=not args.no_text)
        out.write(f"Checked {count(report.candidates, 'stored image')}: {report.summary()}.\n")
        return EXIT_OK
    rows = metrics_service.metric_log(wb).coverage()
    if not rows:
        out.write("No measurements yet. Run: workbench metrics --recompute\n")
        return EXIT_OK
    out.write(f"{'metric':<18} {'version':>7} {'status':<8} {'images':>7}\n")
    for row in rows:
        label = row.metric if row.metric in SPECS else f"{row.metric} (unknown)"
        out.write(f"{label:<18} {row.version:>7} {row.status:<8} {row.n:>7}\n")
    current = ", ".join(f"{name} v{version}" for name, version in VERSIONS.items())
    out.write(f"Current versions: {current}\n")
    return EXIT_OK


def run(args: argparse.Namespace, wb: Workbench | None = None, *,
        out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    if (args.all_images or args.no_text) and not args.recompute:
        raise CommandError("--all and --no-text only make sense with --recompute", EXIT_USAGE)
    if wb is not None:
        return _work(args, wb, out, err)
    with opened_workbench() as opened:
        return _work(args, opened, out, err)
