"""`workbench generate`: one generation through `services.generation`, logged like
any other, reported as one line (or one JSON object with --json). `--resend GENERATION_ID`
sends again an attempt cut off while sending (it may then be billed twice).

Ctrl-C or SIGTERM while the request is with the provider: the first waits for its answer, so
the image and its cost are logged; a second stops waiting and records the attempt as
interrupted with its request id (`workbench recover` fetches it later); exit 130."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import threading
from collections.abc import Coroutine
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

EPILOG = """\
exit codes: 0 succeeded, 1 failed, moderated or not sent, 2 invalid input, 3 data directory
or database unusable, 130 stopped by a second Ctrl-C or SIGTERM. Keys come from GEMINI_API_KEY
(or GOOGLE_API_KEY), BFL_API_KEY, REPLICATE_API_TOKEN, FAL_KEY or .streamlit/secrets.toml;
the offline provider needs none."""


MEASURE_WAIT_S = 30.0  # how long to wait for the new image's measurements before exiting


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="run one generation and log it",
        description="Run one generation with the same code as the app and log it.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", help="catalog model id, e.g. nano-banana-2 (required)")
    parser.add_argument(
        "--provider",
        default="offline",
        help="gemini, bfl, replicate, fal or offline (default: offline, no key, no model)",
    )
    parser.add_argument(
        "--prompt",
        help="the prompt text (a --ar W:H inside the text becomes the aspect ratio; required)",
    )
    parser.add_argument("--aspect-ratio", dest="aspect_ratio", metavar="W:H")
    parser.add_argument("--size", help="size tier: 512/1K/2K/4K (Nano Banana), 0.5MP-4MP (FLUX)")
    parser.add_argument("--seed", type=int, metavar="N")
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a model option such as steps=28 or raw=true (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--resend",
        metavar="GENERATION_ID",
        help="send again an attempt cut off while sending (it may or may not have reached the "
        "provider, so it may be billed twice); instead of --model and --prompt",
    )
    parser.set_defaults(run=run)


def parse_options(pairs: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name.strip():
            raise CommandError(f"--option needs NAME=VALUE, got {pair!r}", EXIT_USAGE)
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        options[name.strip()] = value
    return options


def run(args: argparse.Namespace) -> int:
    from workbench.services.runs import generation
    from workbench.store.db import StoreError

    if args.resend:
        return _resend(args)
    if not args.model or not args.prompt:
        raise CommandError("generate needs --model and --prompt (or --resend ID)", EXIT_USAGE)
    base = {"model": args.model, "provider": args.provider}
    try:
        request = generation.parse_request(
            {
                **base,
                "prompt": args.prompt,
                "aspect_ratio": args.aspect_ratio,
                "size": args.size,
                "seed": args.seed,
                "options": parse_options(args.option),
            }
        )
        with opened_workbench() as wb, measuring(wb, MEASURE_WAIT_S):
            outcome = _stoppable(generation.generate(wb, request))
    except generation.InvalidRequest as exc:
        return _not_run(args, base, "invalid", "; ".join(exc.problems), EXIT_USAGE)
    except CommandError as exc:
        return _not_run(args, base, "not_run", exc.message, exc.exit_code)
    except StoreError as exc:  # the database became unusable mid-way (locked by the app)
        return _not_run(args, base, "not_run", str(exc), EXIT_STORE)
    if outcome is None:
        return _stopped(args, base)
    return _report(args, outcome)


def _resend(args: argparse.Namespace) -> int:
    from workbench.services.runs import generation

    base = {"resend": args.resend}
    try:
        with opened_workbench() as wb, measuring(wb, MEASURE_WAIT_S):
            _, record = generation.resend_plan(wb, args.resend)
            print(
                f"sending {record.id} again: it may or may not have reached "
                f"{_label(record.provider)}, so it may be billed twice.",
                file=sys.stderr,
            )
            outcome = _stoppable(generation.resend_async(wb, args.resend))
    except generation.CannotResend as exc:
        return _not_run(args, base, "invalid", str(exc), EXIT_USAGE)
    except generation.InvalidRequest as exc:
        return _not_run(args, base, "invalid", "; ".join(exc.problems), EXIT_USAGE)
    except CommandError as exc:
        return _not_run(args, base, "not_run", exc.message, exc.exit_code)
    if outcome is None:
        return _stopped(args, base)
    return _report(args, outcome)


def _label(provider: str) -> str:
    from workbench.providers.registry import provider_label

    return provider_label(provider)


def _stoppable(work: Coroutine[Any, Any, Any]) -> Any:
    """Run `work` on an event loop in this thread. The first Ctrl-C / SIGTERM only says that
    the answer is awaited (so it is logged); the second cancels the work, which records the
    attempt as interrupted first. Returns the work's result, or None when stopped."""

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(work)
        signals = 0

        def on_signal() -> None:
            nonlocal signals
            signals += 1
            if signals == 1:
                print(
                    "stopping: waiting for the provider's answer so the image and its cost are "
                    "logged (Ctrl-C again to stop waiting)",
                    file=sys.stderr,
                    flush=True,
                )
            else:
                task.cancel()

        installed = []
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, on_signal)
                installed.append(sig)
        try:
            return await task
        except asyncio.CancelledError:
            if signals < 2:
                raise
            return None
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    return asyncio.run(main())


def _stopped(args: argparse.Namespace, base: dict[str, Any]) -> int:
    message = (
        "stopped waiting: the attempt is recorded as interrupted; `workbench recover` fetches "
        "its result from the provider later"
    )
    if args.json:
        print(json.dumps({"id": None, "status": "interrupted", **base, "error": message}))
    print(f"error: {message}", file=sys.stderr)
    return EXIT_INTERRUPTED


def _report(args: argparse.Namespace, outcome: Any) -> int:
    report = outcome.as_json()
    if args.json:
        print(json.dumps(report))
    if outcome.status == "succeeded":
        if not args.json:
            cost = (
                "cost unknown"
                if outcome.cost_usd is None
                else (f"${outcome.cost_usd:.4f} ({outcome.cost_kind})")
            )
            print(
                f"succeeded {outcome.id}: {outcome.model} via {outcome.provider}, "
                f"{(outcome.latency_ms or 0) / 1000:.1f} s, {cost} -> {outcome.image_path}"
            )
            if outcome.retry_note:
                print(outcome.retry_note)
        if outcome.over_max:
            print(f"warning: {outcome.over_max}", file=sys.stderr)
        return EXIT_OK
    retried = f" {outcome.retry_note}" if outcome.retry_note else ""
    print(
        f"error: generation {outcome.id} {outcome.status} ({outcome.error_kind}): "
        f"{one_line(outcome.error or 'no reason given')}{retried}",
        file=sys.stderr,
    )
    return EXIT_FAILED


def _not_run(
    args: argparse.Namespace, base: dict[str, Any], status: str, message: str, code: int
) -> int:
    if args.json:
        print(
            json.dumps(
                {
                    "id": None,
                    "status": status,
                    **base,
                    "image_path": None,
                    "cost_usd": None,
                    "cost_kind": None,
                    "latency_ms": None,
                    "error_kind": status,
                    "error": message,
                }
            )
        )
    print(f"error: {one_line(message)}", file=sys.stderr)
    return code
