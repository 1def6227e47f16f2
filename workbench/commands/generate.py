"""`workbench generate`: one generation through `services.generation`, logged like
any other, reported as one line (or one JSON object with --json)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from workbench.commands import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_STORE,
    EXIT_USAGE,
    CommandError,
    one_line,
    opened_workbench,
)
from workbench.commands._measure import measuring

EPILOG = """\
exit codes: 0 succeeded, 1 failed or moderated, 2 invalid input, 3 data directory or
database unusable. Keys come from GEMINI_API_KEY (or GOOGLE_API_KEY), BFL_API_KEY,
REPLICATE_API_TOKEN, FAL_KEY or .streamlit/secrets.toml; the offline provider needs none."""


MEASURE_WAIT_S = 30.0  # how long to wait for the new image's measurements before exiting


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="run one generation and log it",
        description="Run one generation with the same code as the app and log it.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True, help="catalog model id, e.g. nano-banana-2")
    parser.add_argument(
        "--provider",
        default="offline",
        help="gemini, bfl, replicate, fal or offline (default: offline, no key, no model)",
    )
    parser.add_argument(
        "--prompt",
        required=True,
        help="the prompt text (a --ar W:H inside the text becomes the aspect ratio)",
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
            outcome = generation.generate_sync(wb, request)
    except generation.InvalidRequest as exc:
        return _not_run(args, base, "invalid", "; ".join(exc.problems), EXIT_USAGE)
    except CommandError as exc:
        return _not_run(args, base, "not_run", exc.message, exc.exit_code)
    except StoreError as exc:  # the database became unusable mid-way (locked by the app)
        return _not_run(args, base, "not_run", str(exc), EXIT_STORE)
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
