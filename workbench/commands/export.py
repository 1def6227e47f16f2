"""`workbench export`: the log (filtered like History) as CSV, JSON lines or Parquet,
read from the database in pages so a large log never sits in memory at once. Keys are never in
the log, so they cannot be in an export."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

from workbench.commands import EXIT_OK, EXIT_USAGE, CommandError, opened_workbench
from workbench.commands._filters import add_filter_arguments, filter_from_args
from workbench.domain.export_fields import GENERATION_FIELDS as FIELDS
from workbench.domain.spreadsheet import neutralise

CHUNK = 5000


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


def _rows(wb: Any, f: Any) -> Any:
    offset = 0
    while True:
        chunk = wb.log.page(f, limit=CHUNK, offset=offset, every_column=True)
        if not chunk:
            return
        for row in chunk:
            yield {k: getattr(row, k) for k in FIELDS}
        offset += CHUNK


def run(args: Any) -> int:
    f = filter_from_args(args)
    if args.format == "parquet" and not args.out:
        raise CommandError("--format parquet needs --out FILE", EXIT_USAGE)
    with opened_workbench() as wb:
        if args.format == "parquet":
            import pandas as pd

            frame = pd.DataFrame(list(_rows(wb, f)), columns=list(FIELDS))
            frame.to_parquet(args.out, index=False)
            count = len(frame)
        else:
            handle = args.out.open("w", newline="") if args.out else sys.stdout
            try:
                count = 0
                if args.format == "csv":
                    writer = csv.DictWriter(handle, fieldnames=FIELDS)
                    writer.writeheader()
                    for row in _rows(wb, f):
                        writer.writerow({k: neutralise(v) for k, v in row.items()})
                        count += 1
                else:
                    for row in _rows(wb, f):
                        handle.write(json.dumps(row, default=str) + "\n")
                        count += 1
            finally:
                if args.out:
                    handle.close()
    if args.out:
        print(f"wrote {count:,} generations to {args.out}", file=sys.stderr)
    return EXIT_OK
