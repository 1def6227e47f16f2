"""The store's error root: what a store module raises when the data directory or the database
cannot be used."""

from __future__ import annotations

from workbench.errors import WorkbenchError


class StoreError(WorkbenchError, RuntimeError):
    """The data directory or database cannot be used; the message says why and what to do."""
