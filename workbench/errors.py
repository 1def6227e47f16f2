"""The common root of expected failures: `WorkbenchError`.

An expected failure is one a person can act on (a locked database, a provider that refused the
prompt, an unknown model, a malformed setting): the page guard (`workbench.ui.shared.page`) and
the command line (`workbench.cli.main`) catch `WorkbenchError` and show its message. Anything else
is a bug and surfaces with its traceback.

Concrete errors live beside the code that raises them and keep their historical builtin base
(`ValueError`, `RuntimeError`, `LookupError`) too, so existing `except ValueError:` callers still
catch them. This module imports nothing from the project, so every layer may use it.
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """An expected failure; `str(error)` is a message for a person, with what to do."""


class InvalidInput(WorkbenchError, ValueError):
    """Input that cannot be used as given (a request, an option, a file, a vote, a suite)."""


class ConfigError(InvalidInput):
    """A setting (environment variable or secrets file entry) that cannot be used."""
