"""`workbench db copy --to TARGET | --from SOURCE`: move a history between this data directory
(or team database) and another one. Idempotent; ends with row counts and checksums per table
and exits non-zero when the copy does not match its source.

`workbench db rename-rater OLD NEW`: give the ratings and votes recorded under one name to
another (`me`, from before names were recorded, to the person it was)."""

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
    where = copy.add_mutually_exclusive_group()
    where.add_argument(
        "--images-dir",
        type=Path,
        metavar="DIR",
        help="with a database URL: the data directory that side keeps its images in "
        "(default: where this one's live)",
    )
    where.add_argument(
        "--images-url",
        metavar="s3://BUCKET/PREFIX",
        help="with a database URL: the bucket that side keeps its images in "
        "(credentials from the AWS variables or profile)",
    )
    copy.set_defaults(run=run)
    rename = actions.add_parser(
        "rename-rater",
        help="give one name's ratings and votes to another",
        description=(
            "Record every rating and vote made under OLD as NEW's. Ratings and votes made "
            "before names were recorded say 'me': rename them to the person who made them "
            "(before copying a local history into a team database, too), so one person does "
            "not count as two raters. Stars and winners are unchanged."
        ),
    )
    rename.add_argument("old", metavar="OLD", help="the name recorded now, e.g. me")
    rename.add_argument("new", metavar="NEW", help="the name to record instead")
    rename.set_defaults(run=run_rename)


def run_rename(args: Any) -> int:
    from workbench.commands import opened_workbench
    from workbench.services.team.identity import InvalidName, rename_rater

    with opened_workbench() as wb:
        try:
            done = rename_rater(wb, args.old, args.new)
        except InvalidName as exc:
            raise CommandError(str(exc), EXIT_USAGE) from None
    print(
        f"Renamed rater '{args.old.strip()}' to '{args.new.strip()}': "
        f"{done.ratings:,} rating{'' if done.ratings == 1 else 's'}, "
        f"{done.votes:,} vote{'' if done.votes == 1 else 's'}."
    )
    return EXIT_OK


def run(args: Any) -> int:
    from workbench.config import load_settings
    from workbench.errors import ConfigError
    from workbench.services.team import dbcopy
    from workbench.store.db import StoreError

    try:
        settings = load_settings()
    except ConfigError as exc:
        raise CommandError(f"Invalid setting: {exc}", EXIT_USAGE) from None
    here = dbcopy.place_of(settings)
    elsewhere = args.images_url or args.images_dir
    try:
        there = dbcopy.parse_place(
            args.to or args.source,
            dbcopy.images_place(elsewhere, settings.data_dir) if elsewhere
            else (here.images, here.images_identity),
            lock_timeout_s=settings.lock_timeout_s,
        )
    except (dbcopy.BadTarget, ConfigError) as exc:
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
