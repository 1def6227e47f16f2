"""Filter options shared by `history` and `export`: the History page's filters as flags."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from pydantic import ValidationError

from workbench.commands import EXIT_USAGE, CommandError
from workbench.domain.filters import SORTS, STATUSES, HistoryFilter


def add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("filters (repeat a flag to allow several values)")
    group.add_argument("--model", action="append", default=[], metavar="ID")
    group.add_argument("--provider", action="append", default=[], metavar="NAME")
    group.add_argument("--template", action="append", default=[], metavar="ID")
    group.add_argument("--status", action="append", default=[], choices=STATUSES)
    group.add_argument("--category", action="append", default=[], metavar="NAME")
    group.add_argument("--run", dest="run_id", metavar="RUN_ID")
    group.add_argument("--since", metavar="YYYY-MM-DD", help="from this day (UTC)")
    group.add_argument("--until", metavar="YYYY-MM-DD", help="up to and including this day")
    group.add_argument("--text", default="", help="text the prompt as sent contains")
    group.add_argument("--min-rating", type=float, metavar="STARS")
    group.add_argument("--no-offline", action="store_true", help="leave offline sketches out")
    group.add_argument("--sort", default="newest", choices=SORTS)


def _day(value: str | None, flag: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"{flag} needs a date like 2026-11-26, got {value!r}", EXIT_USAGE
        ) from None


def filter_from_args(args: Any) -> HistoryFilter:
    try:
        return HistoryFilter(
            models=tuple(args.model),
            providers=tuple(args.provider),
            templates=tuple(args.template),
            statuses=tuple(args.status),
            categories=tuple(args.category),
            run_id=args.run_id,
            date_from=_day(args.since, "--since"),
            date_to=_day(args.until, "--until"),
            text=args.text,
            min_rating=args.min_rating,
            include_offline=not args.no_offline,
            sort=args.sort,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise CommandError(f"Invalid filter: {problems}", EXIT_USAGE) from None
