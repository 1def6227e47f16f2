"""`workbench run`: a suite or a prompt file on several models, K variations each,
with a budget and per-provider concurrency; progress on the terminal and a summary table at the
end. `--resume RUN_ID` finishes an interrupted or cancelled run, sending only missing cells
(`--resend-uncertain` also sends again, on purpose, the cells cut off while sending).

Ctrl-C or SIGTERM stops gracefully: the first stops sending (queued cells become `cancelled`,
jobs in flight finish and are logged with their images and costs, the run ends `cancelled`);
a second stops waiting (jobs still with their provider are recorded `interrupted` with their
request ids, and `workbench recover` fetches them later). Either way the command says how many
were cancelled and finished, and exits 130."""

from __future__ import annotations

import sys
from typing import Any

from workbench.commands import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_STORE,
    EXIT_USAGE,
    CommandError,
    one_line,
    opened_workbench,
)
from workbench.commands._measure import measuring
from workbench.commands._queries import answering
from workbench.domain.plural import count

MEASURE_WAIT_S = 120.0  # how long the end of a run waits for its images' measurements


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a suite or prompt file on several models",
        description="Run every prompt of a suite (an id such as 'quick', a .toml suite file or "
        "a text file with one prompt per line) on each model, K variations each.",
    )
    parser.add_argument("suite", nargs="?", metavar="SUITE_OR_PROMPT_FILE")
    parser.add_argument("--models", default="", help="comma-separated model ids")
    parser.add_argument(
        "--variations", type=int, default=1, metavar="K", help="images per prompt and model (1-16)"
    )
    parser.add_argument(
        "--provider-for",
        action="append",
        default=[],
        metavar="MODEL=PROVIDER",
        help="which provider serves a model (default: one with a key, else offline); repeatable",
    )
    parser.add_argument(
        "--budget",
        type=float,
        metavar="USD",
        help="refuse to start over it; stop sending when spending reaches it",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        metavar="N",
        help="simultaneous jobs per provider (default: each provider's own limit)",
    )
    parser.add_argument("--seed", type=int, metavar="N", help="first seed; variations add 1")
    parser.add_argument(
        "--allow-cache",
        action="store_true",
        help="reuse images of identical "
        "earlier requests (explicit seeds only) instead of paying again",
    )
    parser.add_argument(
        "--max-images",
        type=int,
        metavar="N",
        help="refuse a run of more than N images (default 5000; a larger run needs this)",
    )
    parser.add_argument("--resume", metavar="RUN_ID", help="finish an unfinished run")
    parser.add_argument(
        "--resend-uncertain",
        action="store_true",
        help="with --resume: also send again the cells cut off while sending (they may or may "
        "not have reached the provider, so they may be billed twice)",
    )
    parser.add_argument("--quiet", action="store_true", help="no line per generation")
    parser.epilog = (
        "exit codes: 0 every image made, 1 some failed, were moderated or not sent, 2 invalid "
        "input, 3 database unusable, 130 stopped by Ctrl-C or SIGTERM."
    )
    parser.set_defaults(run=run)


def _providers(wb: Any, model_ids: list[str], pairs: list[str]) -> dict[str, str]:
    from workbench.domain.catalog import CatalogError
    from workbench.services.team.status import default_provider

    chosen: dict[str, str] = {}
    for pair in pairs:
        model_id, sep, provider = pair.partition("=")
        if not sep:
            raise CommandError(f"--provider-for needs MODEL=PROVIDER, got {pair!r}", EXIT_USAGE)
        chosen[model_id.strip()] = provider.strip()
    result = {}
    for model_id in model_ids:
        try:
            result[model_id] = chosen.get(model_id) or default_provider(wb, model_id)
        except CatalogError as exc:
            raise CommandError(str(exc), EXIT_USAGE) from None
    return result


def _cells(wb: Any, args: Any) -> list[Any]:
    from workbench.domain.suites import SuiteError, load_suite
    from workbench.services.runs.grids import TooManyCells, suite_cells

    model_ids, limit = _size_first(args)
    try:
        try:
            suite = load_suite(args.suite)
        except (SuiteError, OSError) as exc:
            raise CommandError(f"Cannot use {args.suite}: {exc}", EXIT_USAGE) from None
        providers = _providers(wb, model_ids, args.provider_for)
        seeds = [None if args.seed is None else args.seed + k for k in range(args.variations)]
        return suite_cells(wb, suite, providers, seeds, limit=limit)
    except TooManyCells as exc:
        raise _too_large(exc, args) from None


def _too_large(exc: Any, args: Any) -> CommandError:
    from workbench.services.runs.grids import LARGE_RUN_IMAGES

    hint = (
        f"Raise --max-images to {exc.count} to run it."
        if args.max_images
        else f"A run over {LARGE_RUN_IMAGES:,} needs --max-images {exc.count}."
    )
    return CommandError(f"Not started: {exc} {hint}", EXIT_USAGE)


def _size_first(args: Any) -> tuple[list[str], int]:
    """The run's model ids and image limit, after refusing, before the data directory is
    opened, a prompt file whose lines x models x variations is over the limit."""
    from workbench.services.runs.grids import LARGE_RUN_IMAGES, TooManyCells, check_prompt_file

    if not args.suite:
        raise CommandError("Give a suite or prompt file, or --resume RUN_ID.", EXIT_USAGE)
    model_ids = list(dict.fromkeys(m.strip() for m in args.models.split(",") if m.strip()))
    if not model_ids:
        raise CommandError("--models needs at least one model id", EXIT_USAGE)
    if not 1 <= args.variations <= 16:
        raise CommandError("--variations must be from 1 to 16", EXIT_USAGE)
    if args.max_images is not None and args.max_images < 1:
        raise CommandError("--max-images must be at least 1", EXIT_USAGE)
    limit = args.max_images or LARGE_RUN_IMAGES
    try:
        check_prompt_file(args.suite, len(model_ids), args.variations, limit)
    except TooManyCells as exc:
        raise _too_large(exc, args) from None
    return model_ids, limit


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.0f}min"


def _printer(quiet: bool) -> Any:
    def on_event(progress: Any, outcome: Any) -> None:
        if outcome is None or quiet:
            return
        cost = "-" if outcome.cost_usd is None else f"${outcome.cost_usd:.4f}"
        latency = "-" if outcome.latency_ms is None else f"{outcome.latency_ms / 1000:.1f}s"
        tail = f" · {one_line(outcome.error)}" if outcome.error else ""
        print(
            f"[{progress.done}/{progress.total}] {outcome.model} via {outcome.provider} · "
            f"{outcome.status} · {latency} · {cost} · spent ${progress.spent_usd:.4f} · "
            f"ETA {_eta(progress.eta_s)}{tail}",
            flush=True,
        )

    return on_event


def _print_summary(rows: list[dict[str, Any]]) -> None:
    print(
        f"{'model':<20} {'done':>5} {'failed':>6} {'cancelled':>9} {'cost':>10} "
        f"{'median latency':>15}"
    )
    for r in rows:
        median = "-" if r["median_latency_ms"] is None else f"{r['median_latency_ms'] / 1000:.2f} s"
        print(
            f"{r['model']:<20} {r['done']:>5} {r['failed']:>6} {r['cancelled']:>9} "
            f"{'$' + format(r['cost_usd'], '.4f'):>10} {median:>15}"
        )


def run(args: Any) -> int:
    from workbench.services.runs import runner as run_service
    from workbench.services.runs import summary as run_summary

    overrides: dict[str, Any] = {}
    if args.budget is not None:
        if args.budget < 0:
            raise CommandError("--budget cannot be negative", EXIT_USAGE)
        overrides["budget_usd"] = args.budget
    if args.concurrency is not None:
        if not 1 <= args.concurrency <= 64:
            raise CommandError("--concurrency must be from 1 to 64", EXIT_USAGE)
        overrides["concurrency"] = {p: args.concurrency for p in run_service.DEFAULT_CONCURRENCY}
    if args.resend_uncertain and not args.resume:
        raise CommandError("--resend-uncertain goes with --resume RUN_ID", EXIT_USAGE)
    if not args.resume:
        _size_first(args)  # a run too large is refused before the data directory is opened
    with opened_workbench() as wb, measuring(wb, MEASURE_WAIT_S), answering(wb):
        interrupted, runs = run_service.recover(wb)
        if interrupted or runs:
            print(
                f"note: marked {count(interrupted, 'attempt')} and {count(runs, 'run')} left "
                "by a stopped process as interrupted",
                file=sys.stderr,
            )
        try:
            if args.resume:
                handle = _resume(wb, args, overrides)
            else:
                settings = run_service.RunSettings(allow_cache=args.allow_cache, **overrides)
                cells = _cells(wb, args)
                est = run_service.estimate(wb, cells, settings)
                print(
                    f"run: {est.images} images · estimated ${est.cost_usd:.4f}"
                    + (f" (+{est.unpriced} unpriced)" if est.unpriced else "")
                    + (f", at most ${est.most_usd:.4f}" if est.most_usd > est.cost_usd else "")
                    + f" · about {est.duration_s:.0f} s · spent today ${est.spent_today_usd:.4f}",
                    file=sys.stderr,
                )
                handle = run_service.start_run(
                    wb, "suite", args.suite, cells, settings, on_event=_printer(args.quiet)
                )
        except run_service.RunRefused as exc:
            raise CommandError(" ".join(exc.problems), EXIT_USAGE) from None
        print(f"run id: {handle.run_id}", file=sys.stderr)
        if handle.unaccounted:
            print(
                f"note: {count(len(handle.unaccounted), 'cell')} "
                f"{'was' if len(handle.unaccounted) == 1 else 'were'} sent (the sent-requests "
                "ledger says so) but the database has no record of them, so they are not sent "
                "again: "
                + ", ".join(handle.unaccounted),
                file=sys.stderr,
            )
        stop = _drive(handle)
        progress = handle.progress
        _print_summary(run_summary.per_model(wb, handle.run_id))
        if progress.stop_reason and not stop.count:
            print(progress.stop_reason, file=sys.stderr)
        if stop.count:
            print(_stopped_line(progress), file=sys.stderr)
    if stop.count:
        return EXIT_INTERRUPTED
    if handle.ledger_error:
        return EXIT_STORE
    if progress.failed or progress.moderated or progress.not_sent or handle.billed_over_max:
        return EXIT_FAILED
    return EXIT_OK


def _resume(wb: Any, args: Any, overrides: dict[str, Any]) -> Any:
    from workbench.providers.registry import provider_label
    from workbench.services.runs import runner as run_service

    settings = run_service.saved_settings_with(wb, args.resume, overrides) if overrides else None
    if args.resend_uncertain:
        uncertain = run_service.uncertain_cells(wb, args.resume)
        providers = sorted(
            {provider_label(p) for p in run_service.providers_of(wb, [r.id for r in uncertain])}
        )
        print(
            f"sending again {count(len(uncertain), 'cell')} cut off while sending: they may or may "
            f"not have reached {', '.join(providers) or 'their provider'}, so each may be "
            "billed twice.",
            file=sys.stderr,
        )
    return run_service.resume_run(
        wb, args.resume, settings, on_event=_printer(args.quiet),
        resend_uncertain=args.resend_uncertain,
    )


def _drive(handle: Any) -> Any:
    """Run the handle in its thread while this (main) thread waits for it to record
    everything; Ctrl-C / SIGTERM stop it in two steps (commands._stopping)."""
    from workbench.commands._stopping import GracefulStop

    def first() -> None:
        in_flight = handle.progress.in_flight
        print(
            f"stopping: nothing new is sent; {count(in_flight, 'job')} in flight finish and are "
            "logged (Ctrl-C again to stop waiting for them)",
            file=sys.stderr,
            flush=True,
        )
        handle.cancel()

    def second() -> None:
        print(
            "stopping now: jobs still with their provider are recorded as interrupted; "
            "`workbench recover` fetches their results later",
            file=sys.stderr,
            flush=True,
        )
        handle.abandon()

    with GracefulStop(first, second) as stop:
        thread = handle.start_in_thread()
        handle.done.wait()
    thread.join()
    return stop


def _stopped_line(progress: Any) -> str:
    line = (
        f"stopped: {count(progress.cancelled, 'queued cell')} cancelled, {progress.done} finished "
        "and logged"
    )
    if progress.interrupted:
        line += (
            f", {progress.interrupted} still with their provider recorded as interrupted "
            "(`workbench recover` fetches their results)"
        )
    return line + "."
