"""A second process that holds a DuckDB file open, as the app or a command-line run would."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def _holding(code: str) -> Iterator[subprocess.Popen]:
    """Runs `code` in another Python process; yields once it prints "holding"; kills it after."""
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        yield holder
    finally:
        holder.kill()
        holder.wait()


def database_held(path: Path, seconds: int = 60):  # type: ignore[no-untyped-def]
    """A plain DuckDB connection that keeps the file (a program outside the workbench)."""
    return _holding(f"""
        import duckdb, time
        con = duckdb.connect({str(path)!r})
        print("holding", flush=True)
        time.sleep({seconds})
    """)


def workbench_holding(path: Path, *, busy: bool, seconds: int = 60):  # type: ignore[no-untyped-def]
    """Another workbench process with the database: `busy` keeps a cursor lent (one long unit
    of work); otherwise it only keeps the file open while idle, as the app does between pages."""
    return _holding(f"""
        import time
        from workbench.store.db import Database
        db = Database({str(path)!r}, idle_close_s=600)
        with db.cursor() as cur:
            cur.execute("SELECT 1")
            if {busy!r}:
                print("holding", flush=True)
                time.sleep({seconds})
        print("holding", flush=True)
        time.sleep({seconds})
    """)
