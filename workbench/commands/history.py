"""`workbench history`: the log as a table (or JSON lines), filtered like the History
page and paged in SQL."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

from workbench.commands import EXIT_OK, opened_workbench
from workbench.commands._filters import add_filter_arguments, checked_filter, positive
from workbench.redact import one_line

if TYPE_CHECKING:
    from workbench.services.history import HistoryPage
    from workbench.services.workbench import Workbench

COLUMNS = ("id", "created_at", "status", "model", "provider", "latency_ms", "cost_usd", "prompt")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "history",
        help="list logged generations",
        description="List logged generations, newest first, with the History page's filters.",
    )
    add_filter_arguments(parser)
    parser.add_argument(
        "--limit", type=positive(1, 1000), default=20, help="rows per page (1-1000)"
    )
    parser.add_argument("--page", type=positive(1, 10**9), default=1)
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.set_defaults(run=run)


def _cell(value: Any, width: int) -> str:
    if value is None:
        text = "-"
    elif isinstance(value, float):
        text = f"{value:.4g}"
    else:
        text = str(value)
    text = one_line(text)  # logged text may hold terminal escapes (a shared log, a provider)
    return text if len(text) <= width else text[: width - 1] + "…"


def run(args: Any) -> int:
    with opened_workbench() as wb:
        result = page(args, wb)
    return show(args, result, sys.stdout)


def page(args: Any, wb: Workbench) -> HistoryPage:
    """The page the arguments ask for (also what a running command answers, `_queries`)."""
    from workbench.services import history as history_service

    f = checked_filter(args, wb)
    return history_service.load_page(wb, f, args.page, args.limit, thumbnails=False)


def show(args: Any, result: HistoryPage, out: TextIO) -> int:
    if args.json:
        for row in result.rows:
            print(
                json.dumps(
                    {
                        k: getattr(row, k)
                        for k in (
                            *COLUMNS,
                            "error_kind",
                            "error_message",
                            "image_path",
                            "run_id",
                            "category",
                        )
                    }
                    | ({} if result.adherence is None
                       else {"adherence": result.adherence.get(row.id)}),
                    default=str,
                ),
                file=out,
            )
        return EXIT_OK
    widths = {
        "id": 20,
        "created_at": 19,
        "status": 11,
        "model": 18,
        "provider": 9,
        "latency_ms": 10,
        "cost_usd": 8,
        "prompt": 60,
    }
    scores = result.adherence  # shown when the filter or the sort reads the judge's scores
    head = "  ".join(c.ljust(widths[c]) for c in COLUMNS)
    print(head if scores is None else f"{'adherence':<9}  {head}", file=out)
    for row in result.rows:
        line = "  ".join(_cell(getattr(row, c), widths[c]).ljust(widths[c]) for c in COLUMNS)
        if scores is not None:
            score = scores.get(row.id)
            line = f"{'-' if score is None else f'{score:.0%}':<9}  {line}"
        print(line, file=out)
    print(f"{result.total:,} match · page {result.page} of {result.pages}", file=out)
    return EXIT_OK
