"""Command-line commands, one module each, registered by `workbench.cli.COMMANDS`.

Shared here: exit codes, `CommandError` (a `WorkbenchError` with a one-line message and an exit
code), and `opened_workbench`, which opens the data directory, turns store problems (locked
database, unwritable folder) and malformed settings into a clear CommandError, and always closes
the Workbench.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

from workbench.errors import ConfigError, InvalidInput, WorkbenchError
from workbench.redact import one_line

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
