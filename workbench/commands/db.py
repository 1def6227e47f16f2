"""`workbench db copy --to TARGET | --from SOURCE`: move a history between this data directory
(or team database) and another one. Idempotent; ends with row counts and checksums per table
and exits non-zero when the copy does not match its source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.commands import EXIT_FAILED, EXIT_OK, EXIT_STORE, EXIT_USAGE, CommandError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "db",
        help="move a history between data directories and team databases",
        description="Work on the database as a whole.",
    )
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    copy = actions.add_parser(
        "copy",
        help="copy every row and image into another history, or from one",
        description=(
            "Copy this history's rows and images into TARGET (--to), or SOURCE's into this "
            "history (--from). Rows already there are left alone, so running it twice "
            "doubles nothing. Ends with row counts and checksums per table; exits 1 when "
            "they do not match."
        ),
    )
    side = copy.add_mutually_exclusive_group(required=True)
    side.add_argument("--to", metavar="TARGET", help="a data directory or database URL")
    side.add_argument("--from", dest="source", metavar="SOURCE",
                      help="a data directory or database URL")
    copy.add_argument(
        "--images-dir",
        type=Path,
        metavar="DIR",
        help="with a database URL: the data directory that side keeps its images in "
        "(default: this one's)",
    )
    copy.set_defaults(run=run)


def run(args: Any) -> int:
    from workbench.config import load_settings
    from workbench.errors import ConfigError
    from workbench.services import dbcopy
    from workbench.store.db import StoreError

    try:
        settings = load_settings()
    except ConfigError as exc:
        raise CommandError(f"Invalid setting: {exc}", EXIT_USAGE) from None
    here = dbcopy.place_of(settings)
    try:
        there = dbcopy.parse_place(
            args.to or args.source,
            args.images_dir or settings.data_dir,
            lock_timeout_s=settings.lock_timeout_s,
        )
    except dbcopy.BadTarget as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    source, target = (here, there) if args.to else (there, here)
    try:
        report = dbcopy.copy(source, target)
    except dbcopy.BadTarget as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    except StoreError as exc:
        raise CommandError(str(exc), EXIT_STORE) from None
    print("\n".join(report.lines()))
    return EXIT_OK if report.ok else EXIT_FAILED
