"""`python -m workbench recover`: fetch from the providers the jobs a stopped process left
`interrupted` after the provider had accepted them. Nothing is sent again; results the provider
no longer keeps are marked "expired at the provider"."""

from __future__ import annotations

import json
from typing import Any

from workbench.commands import EXIT_OK, opened_workbench
from workbench.redact import one_line


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "recover",
        help="fetch interrupted jobs' results from the providers",
        description=(
            "Poll every interrupted attempt a provider had accepted; store the images it "
            "finished. Nothing is sent twice."
        ),
    )
    parser.add_argument(
        "--run", dest="run_id", metavar="RUN_ID", help="only the attempts of this run"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: Any) -> int:
    from workbench.services.runs import recovery
    from workbench.services.runs import runner as run_service

    with opened_workbench() as wb:
        run_service.recover(wb)  # attempts of a dead process become interrupted first
        report = recovery.recover_jobs_sync(wb, args.run_id)
    if args.json:
        print(
            json.dumps(
                {
                    "recovered": report.recovered,
                    "finished_badly": report.finished_badly,
                    "expired": report.expired,
                    "still_open": report.still_open,
                    "messages": report.messages,
                    "unaccounted": report.unaccounted_text,
                }
            )
        )
    else:
        print(report.summary())
        for message in report.messages:
            print(f"  {one_line(message)}")
    return EXIT_OK
