"""`workbench export`: the log (filtered like History) as CSV, JSON lines or Parquet,
read from the database in pages so a large log never sits in memory at once (the rows and the
writers are `services.delivery.exports`, which the app's History downloads use too). Keys are
never in the log, so they cannot be in an export."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from workbench.commands import EXIT_OK, EXIT_USAGE, CommandError, opened_workbench
from workbench.commands._filters import add_filter_arguments, checked_filter, filter_from_args


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export logged generations",
        description="Export logged generations (CSV to stdout by default).",
    )
    add_filter_arguments(parser)
    parser.add_argument("--format", choices=("csv", "jsonl", "parquet"), default="csv")
    parser.add_argument("--out", type=Path, help="file to write (required for parquet)")
    parser.set_defaults(run=run)


def _cannot_write(path: Path, why: str) -> CommandError:
    return CommandError(f"cannot write {path}: {why}", EXIT_USAGE)


def check_writable(path: Path) -> None:
    """Refuse an --out the export could not write, before any row is read."""
    folder = path.parent
    if path.is_dir():
        raise _cannot_write(path, "it is a folder")
    if not folder.is_dir():
        raise _cannot_write(path, f"the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise _cannot_write(path, "permission denied")


def run(args: Any) -> int:
    from workbench.services.delivery import exports

    filter_from_args(args)  # a malformed flag is refused before the database is opened
    if args.format == "parquet" and not args.out:
        raise CommandError("--format parquet needs --out FILE", EXIT_USAGE)
    if args.out:
        check_writable(args.out)
    with opened_workbench() as wb:
        f = checked_filter(args, wb)
        try:
            if args.format == "parquet":
                count = exports.write_history_parquet(wb, f, str(args.out))
            else:
                handle = args.out.open("w", newline="") if args.out else sys.stdout
                try:
                    write = (
                        exports.write_history_csv if args.format == "csv"
                        else exports.write_history_jsonl
                    )
                    count = write(wb, f, handle)
                finally:
                    if args.out:
                        handle.close()
        except OSError as exc:  # the disk filled up, the folder went away meanwhile
            raise _cannot_write(args.out or Path("-"), exc.strerror or str(exc)) from None
    if args.out:
        print(f"wrote {count:,} generations to {args.out}", file=sys.stderr)
    return EXIT_OK
