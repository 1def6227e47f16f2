"""Filter options shared by `history` and `export`: the History page's filters as flags."""

from __future__ import annotations

import argparse
from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from workbench.commands import EXIT_USAGE, CommandError
from workbench.domain.filters import ARCHIVED, JUDGED, SORTS, STATUSES, HistoryFilter

if TYPE_CHECKING:
    from workbench.services.workbench import Workbench


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
    group.add_argument("--text", default="",
                       help="text the prompt as sent, a tag or the note contains")
    group.add_argument("--min-rating", type=float, metavar="STARS")
    group.add_argument("--no-offline", action="store_true", help="leave offline sketches out")
    group.add_argument("--sort", default="newest", choices=SORTS)
    group.add_argument("--tag", action="append", default=[], metavar="TAG",
                       help="generations carrying this tag")
    group.add_argument("--archived", default="hide", choices=ARCHIVED,
                       help="archived generations: hide (default), only, include")
    group.add_argument("--judged", default="any", choices=JUDGED,
                       help="judged for adherence by the judge model in use, or not")
    group.add_argument("--adherence-min", type=float, metavar="SHARE",
                       help="adherence score at least this (0 to 1; only judged images)")
    group.add_argument("--adherence-max", type=float, metavar="SHARE",
                       help="adherence score at most this (0 to 1; only judged images)")


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
            tags=tuple(args.tag),
            archived=args.archived,
            judged=args.judged,
            adherence_min=args.adherence_min,
            adherence_max=args.adherence_max,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise CommandError(f"Invalid filter: {problems}", EXIT_USAGE) from None


def checked_filter(args: Any, wb: Workbench) -> HistoryFilter:
    """The filter the flags ask for, refused (exit 2) when a value can match nothing: an unknown
    model, provider, template, category or run, with the valid choices."""
    from workbench.services import history as history_service

    f = filter_from_args(args)
    problems = history_service.unknown_values(wb, f)
    if problems:
        raise CommandError("Invalid filter: " + "; ".join(problems), EXIT_USAGE)
    return history_service.with_judge(wb, f)


def positive(low: int, high: int) -> Any:
    """An argparse type: a whole number from `low` to `high`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse
