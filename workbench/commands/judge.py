"""`workbench judge`: prompt adherence judged by a Gemini model, and how far it agrees with people.

    workbench judge --run RUN_ID [--pairs] [--budget 0.50]    # every image of a run
    workbench judge --id GEN_ID [GEN_ID ...] [--pairs]          # chosen generations
    workbench judge --voted                                     # images people voted on
    workbench judge --run RUN_ID --estimate                     # what it would cost; nothing sent
    workbench judge calibration [--json]                        # agreement with people's votes

The estimate is printed before anything is sent; images already judged with the same question
set and judge model are not sent again. `WORKBENCH_JUDGE_MODEL` picks the model.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

from workbench.commands import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CommandError, opened_workbench
from workbench.domain.plural import count

if TYPE_CHECKING:
    from workbench.services.workbench import Workbench


def _money(text: str) -> float:
    try:
        value = float(text.removeprefix("$"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an amount in dollars: {text!r}") from None
    if value < 0 or value != value:
        raise argparse.ArgumentTypeError("the budget cannot be negative")
    return value


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "judge",
        help="judge prompt adherence with a Gemini model; its agreement with people",
        description=(
            "Break each prompt into yes/no questions and ask a Gemini model (your Gemini key, "
            "WORKBENCH_JUDGE_MODEL) to answer them about each image; with --pairs, also compare "
            "two models' images of the same prompt in both orders. `judge calibration` shows "
            "how far the judge agrees with people's votes."
        ),
    )
    parser.add_argument("action", nargs="?", choices=["calibration"],
                        help="calibration: the agreement table (no call is made)")
    parser.add_argument("--run", metavar="RUN_ID", dest="run_id",
                        help="judge every image of this run")
    parser.add_argument("--id", nargs="+", metavar="GEN_ID", default=[], dest="ids",
                        help="judge these generations")
    parser.add_argument("--voted", action="store_true",
                        help="judge the images of people's adherence votes (for calibration)")
    parser.add_argument("--pairs", action="store_true",
                        help="also judge pairs of two models' images of the same prompt")
    parser.add_argument("--budget", type=_money, metavar="USD",
                        help="stop sending before this batch would pass this many dollars")
    parser.add_argument("--estimate", action="store_true",
                        help="only print what judging would send and cost")
    parser.add_argument("--resend-interrupted", action="store_true",
                        help="send again what calls a crash left unanswered (they may have "
                             "been billed; their reservation stays)")
    parser.add_argument("--json", action="store_true", help="calibration as JSON")
    parser.set_defaults(run=run)


def _calibration(wb: Workbench, as_json: bool, out: TextIO) -> int:
    from workbench.services.evidence.judge import calibration

    result = calibration.calibration(wb)
    if as_json:
        out.write(json.dumps(result.as_json(), indent=2) + "\n")
        return EXIT_OK
    out.write(f"Judge {result.judge_model}: {result.status}. {result.reason}\n")
    for row in result.table():
        out.write(f"\n{row['Criterion']}\n")
        for name, value in row.items():
            if name != "Criterion":
                out.write(f"  {name}: {value}\n")
    if result.categories:
        out.write("\nBy question category (judge vs votes):\n")
        for row in result.category_table():
            out.write(f"  {row['Question category']}: {row['Judge vs votes']}\n")
    return EXIT_OK


def _judge(args: argparse.Namespace, wb: Workbench, out: TextIO, err: TextIO) -> int:
    from workbench.services.evidence.judge import judging

    if args.resend_interrupted:
        released = judging.release_interrupted(wb)
        out.write(f"{count(released, 'interrupted call')} released; they may have been billed "
                  "once.\n")
    planned = judging.plan(wb, generation_ids=args.ids, run_id=args.run_id, pairs=args.pairs,
                           voted=args.voted)
    for line in planned.lines():
        out.write(line + "\n")
    if args.estimate or planned.calls == 0:
        return EXIT_OK
    if args.budget is not None and planned.estimate_usd > args.budget:
        out.write(f"The estimate passes the budget of ${args.budget:.4f}: calls stop when the "
                  "next one could pass it.\n")

    def progress(done: int, total: int, what: str) -> None:
        if err.isatty() or done == total or done % 25 == 0:
            err.write(f"{done}/{total} {what}\n")

    report = judging.execute(wb, planned, budget_usd=args.budget, progress=progress)
    for line in report.lines():
        out.write(line + "\n")
    for gid, score in report.scored:
        out.write(f"{gid}\tadherence {score:.2f}\n")
    for left, right, winner in report.pairs:
        out.write(f"{left} vs {right}\t{winner}\n")
    return EXIT_FAILED if report.failed or report.stopped else EXIT_OK


def run(args: argparse.Namespace, wb: Workbench | None = None, *,
        out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    if args.action == "calibration":
        if args.run_id or args.ids or args.voted or args.pairs or args.budget is not None:
            raise CommandError("judge calibration takes only --json", EXIT_USAGE)
    elif not (args.run_id or args.ids or args.voted):
        raise CommandError("name what to judge: --run RUN_ID, --id GEN_ID ..., or --voted",
                           EXIT_USAGE)
    elif args.json:
        raise CommandError("--json goes with `judge calibration`", EXIT_USAGE)

    def work(opened: Workbench) -> int:
        if args.action == "calibration":
            return _calibration(opened, args.json, out)
        return _judge(args, opened, out, err)

    if wb is not None:
        return work(wb)
    with opened_workbench() as opened:
        return work(opened)
