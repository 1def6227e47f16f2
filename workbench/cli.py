"""The command line: `python -m workbench COMMAND ...`.

Each command lives in its own module under `workbench/commands/` and exposes
`register(subparsers)`, which adds its parser and sets `run=<function(args) -> exit code>`.
Adding a command is one new module plus one line in `COMMANDS`. Commands call the same services
as the app; they import them inside `run`, so `--help` stays quick.

Exit codes: 0 done; 1 the work ran and failed (a provider error, a moderated prompt);
2 invalid input; 3 the data directory or database cannot be used (locked, unwritable);
130 interrupted. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from workbench.commands import EXIT_INTERRUPTED, EXIT_USAGE, CommandError, one_line

COMMANDS: tuple[str, ...] = (
    "workbench.commands.generate",
    "workbench.commands.run",
    "workbench.commands.history",
    "workbench.commands.export",
    "workbench.commands.metrics",
    "workbench.commands.recover",
)


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and the caller decides the exit)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m workbench",
        description="Prompt Workbench from the command line: the same services as the app.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return int(args.run(args))
    except UsageError as exc:
        print(f"error: {one_line(str(exc))} (see --help)", file=sys.stderr)
        return EXIT_USAGE
    except CommandError as exc:
        print(f"error: {one_line(exc.message)}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        # The reader (`| head`) went away: stop quietly, as other command-line tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
