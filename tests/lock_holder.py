"""A second process that holds a DuckDB file open, as the app or a command-line run would."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def database_held(path: Path, seconds: int = 60) -> Iterator[subprocess.Popen]:
    """Yields the holding process once it has the file; kills it on the way out."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import duckdb, time
            con = duckdb.connect({str(path)!r})
            print("holding", flush=True)
            time.sleep({seconds})
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        yield holder
    finally:
        holder.kill()
        holder.wait()
