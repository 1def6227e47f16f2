"""`workbench report`: one self-contained HTML file for a run and/or generations, to
send to someone (images embedded, no script, opens offline)."""

from __future__ import annotations

import sys
from typing import Any

from workbench.commands import EXIT_OK, CommandError, opened_workbench
from workbench.commands._selection import add_selection_arguments, require_selection
from workbench.domain.plural import count


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write an HTML report to send",
        description="Write one self-contained HTML report: images, prompts as sent, model, "
        "cost, time, ratings and, when there are votes, the verdict rows.",
    )
    parser.add_argument("--title", help="the report's heading")
    add_selection_arguments(parser, "the .html file to write")
    parser.set_defaults(run=run)


def run(args: Any) -> int:
    from workbench.services.delivery import report
    from workbench.services.delivery.provenance import generation_ids

    require_selection(args)
    with opened_workbench() as wb:
        try:
            title = args.title or (
                report.run_title(wb, args.run_id) if args.run_id else "Image report"
            )
            ids = generation_ids(wb, run_id=args.run_id, ids=args.ids)
            built = report.build_report(wb, ids, title)
        except report.ReportError as exc:
            raise CommandError(str(exc)) from None
    try:
        args.out.write_bytes(built.data)
    except OSError as exc:
        raise CommandError(f"cannot write {args.out}: {exc.strerror}") from None
    size_mb = len(built.data) / 1024 / 1024
    print(
        f"wrote {args.out}: {count(built.images, 'image')} of "
        f"{count(built.generations, 'generation')}, "
        f"{size_mb:.1f} MB",
        file=sys.stderr,
    )
    return EXIT_OK
