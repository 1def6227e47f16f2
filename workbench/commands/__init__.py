"""Command-line commands, one module each, registered by `workbench.cli.COMMANDS`.

Shared here: exit codes, `CommandError` (a `WorkbenchError` with a one-line message and an exit
code), and `opened_workbench`, which opens the data directory, turns store problems (locked
database, unwritable folder) and malformed settings into a clear CommandError, and always closes
the Workbench.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

from workbench.errors import ConfigError, InvalidInput, WorkbenchError

if TYPE_CHECKING:
    from workbench.services.workbench import Workbench

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_STORE = 3
EXIT_INTERRUPTED = 130


class CommandError(WorkbenchError):
    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


# What a terminal would act on rather than show (ECMA-48): control sequences (CSI `ESC [` … a
# final byte; OSC `ESC ]` … BEL or ST, which can set the window title or write the clipboard;
# the 8-bit CSI and other two-character escapes), then any other C0 or C1 control and the
# Unicode bidi overrides that reorder what is shown (Unicode UAX #9).
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?|\x1b[ -~]?"
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` as a terminal should show it: escape sequences and control characters removed
    (newlines and tabs kept). Provider messages and logged text (a team's shared log) reach the
    terminal only through this or `one_line`."""
    return _CONTROLS.sub("", _ESCAPES.sub("", str(text)))


def one_line(text: str) -> str:
    return " ".join(printable(text).split())


class UsageError(InvalidInput):
    """A command line argparse rejects."""


class CommandParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and the caller decides the exit), and an option
    is only ever its full name: with abbreviations on, `--hel` would be `--help` and `--mod` a
    guess that changes meaning when an option is added, so both are refused as unknown."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def failure(exc: WorkbenchError) -> tuple[int, str]:
    """An expected failure as the command line reports it: its exit code and its one line for
    stderr (the same wherever the command ran, `cli.main` or a run answering, `_queries`)."""
    if isinstance(exc, UsageError):
        return EXIT_USAGE, f"error: {one_line(str(exc))} (see --help)"
    if isinstance(exc, CommandError):
        return exc.exit_code, f"error: {one_line(exc.message)}"
    return _exit_code(exc), f"error: {one_line(str(exc))}"


def _exit_code(exc: WorkbenchError) -> int:
    """The documented exit code for an expected failure no command turned into a CommandError."""
    if isinstance(exc, InvalidInput):
        return EXIT_USAGE
    # Imported on this failure path only, so `--help` does not load DuckDB.
    from workbench.store.db import StoreError

    return EXIT_STORE if isinstance(exc, StoreError) else EXIT_FAILED


# A command keeps the database file between units of work that follow each other within this
# long (its migrations check, a page and its count) instead of reopening it for each: an open
# and close cost ~55 ms and a turn each. Another process that waits still gets the file at the
# end of the current unit (db.Database's watcher), so holding it idle costs nobody anything.
COMMAND_IDLE_CLOSE_S = 0.25


@contextmanager
def opened_workbench() -> Iterator[Workbench]:
    """The Workbench for this process's settings; closed on the way out, whatever happens."""
    from workbench.services.workbench import open_workbench
    from workbench.store.db import StoreError

    try:
        wb = open_workbench(idle_close_s=COMMAND_IDLE_CLOSE_S)
    except StoreError as exc:
        raise CommandError(str(exc), EXIT_STORE) from None
    except ConfigError as exc:  # a malformed setting such as WORKBENCH_LOCK_TIMEOUT_S
        raise CommandError(f"Invalid setting: {exc}", EXIT_USAGE) from None
    try:
        yield wb
    finally:
        wb.close()
