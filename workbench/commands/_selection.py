"""What `images` and `report` share: choosing generations by run and/or id, and where to write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.commands import EXIT_USAGE, CommandError


def add_selection_arguments(parser: Any, out_help: str, *, out_required: bool = True) -> None:
    parser.add_argument("--run", dest="run_id", help="every succeeded image of this run")
    parser.add_argument(
        "--id", dest="ids", action="append", default=[], metavar="GEN_ID",
        help="one generation (repeat for more)",
    )
    parser.add_argument("--out", type=Path, required=out_required, help=out_help)


def require_selection(args: Any) -> None:
    if not args.run_id and not args.ids:
        raise CommandError("give --run RUN_ID or --id GEN_ID", EXIT_USAGE)
