"""The command line: `workbench COMMAND ...` (or `python -m workbench COMMAND ...`).

Each command lives in its own module under `workbench/commands/` and exposes
`register(subparsers)`, which adds its parser and sets `run=<function(args) -> exit code>`.
Adding a command is one new module plus one line in `COMMANDS`. Commands call the same services
as the app; they import them inside `run`, so `--help` stays quick.

Exit codes: 0 done; 1 the work ran and failed (a provider error, a moderated prompt);
2 invalid input; 3 the data directory or database cannot be used (locked, unwritable);
130 interrupted. `run` and `generate` handle Ctrl-C and SIGTERM themselves
(`commands._stopping`): the first stops sending and waits for the jobs in flight to be logged,
the second stops waiting and records them as interrupted, then `main` returns 130; only the
quick exit below follows, once everything is recorded. Expected failures
(`workbench.errors.WorkbenchError` and its subclasses) are one line on stderr; anything else
is a bug and surfaces with its traceback and a non-zero exit.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

from workbench.commands import EXIT_INTERRUPTED, CommandParser, failure
from workbench.commands._queries import ask
from workbench.errors import WorkbenchError

COMMANDS: tuple[str, ...] = (
    "workbench.commands.generate",
    "workbench.commands.run",
    "workbench.commands.history",
    "workbench.commands.export",
    "workbench.commands.metrics",
    "workbench.commands.recover",
    "workbench.commands.app",
    "workbench.commands.images",
    "workbench.commands.report",
    "workbench.commands.prompts",
    "workbench.commands.db",
    "workbench.commands.judge",
)


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="workbench",
        description="Prompt Workbench from the command line: the same services as the app.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args, unknown = parser.parse_known_args(argv)
        if unknown and not getattr(args, "passes_unknown_args", False):
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        args.unknown_args = unknown
        return int(args.run(args))
    except WorkbenchError as exc:
        code, line = failure(exc)
        print(line, file=sys.stderr)
        return code
    except BrokenPipeError:
        # The reader (`| head`) went away: stop quietly, as other command-line tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def entry() -> NoReturn:
    """The `workbench` program (and `python -m workbench`): `main` (or, for `history` while a
    run works, that run's answer: `commands._queries`), then a quick exit.

    Why: tearing the interpreter down (freeing every module, DuckDB's among them) took 0.2-0.3 s
    of a one-second `workbench history` on this machine, with nothing left to do by then. The
    exit handlers run first (the database's close, logging's flush) and the output is flushed;
    a command that still has a thread of its own at work exits the ordinary way, which waits
    for it."""
    asked = ask(sys.argv[1:], os.environ)  # a running `workbench run` may answer at once
    if asked is None:
        code = main()
    else:
        code, out, err = asked
        sys.stdout.write(out)
        sys.stderr.write(err)
    others = [
        t for t in threading.enumerate()
        if t is not threading.main_thread() and t.is_alive() and not t.daemon
    ]
    if others:
        sys.exit(code)
    atexit._run_exitfuncs()  # what the ordinary exit runs (private to CPython, there since 2.x)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        pass  # the reader (`| head`) went away: nothing more to tell it
    os._exit(code)
