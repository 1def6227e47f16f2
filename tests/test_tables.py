"""The provider tables complete themselves on first read (`workbench/tables.py`), and the
command line's entry imports none of the heavy packages before it knows it needs them (what
keeps `workbench history` answered by a run a 0.1 s process)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from workbench.tables import ProviderTable


@pytest.fixture
def fresh() -> Iterator[list[str]]:
    """ProviderTable's completion state as if no table had been read yet; restored after."""
    saved = (ProviderTable.completer, ProviderTable._completed)
    calls: list[str] = []
    ProviderTable._completed = False
    yield calls
    ProviderTable.completer, ProviderTable._completed = saved


def test_the_first_read_completes_every_table_once_and_a_write_does_not(fresh) -> None:
    keys: ProviderTable[str, str] = ProviderTable()
    labels: ProviderTable[str, str] = ProviderTable()

    def fill() -> None:
        fresh.append("filled")
        keys["acme"] = "ACME_KEY"
        labels["acme"] = "Acme"

    ProviderTable.completer = fill
    labels["other"] = "Other"  # a write (the registry's own) does not complete
    assert fresh == []
    assert keys.get("acme") == "ACME_KEY"
    assert dict(labels) == {"other": "Other", "acme": "Acme"}
    assert list(keys.items()) == [("acme", "ACME_KEY")] and "acme" in keys and len(keys) == 1
    assert fresh == ["filled"]


def test_a_thread_reading_while_another_completes_waits_for_the_whole_table(fresh) -> None:
    table: ProviderTable[str, int] = ProviderTable()

    def fill() -> None:
        for i in range(5):
            table[f"p{i}"] = i
            time.sleep(0.02)  # slow, as importing the adapters is

    ProviderTable.completer = fill
    seen: list[int] = []
    readers = [threading.Thread(target=lambda: seen.append(len(table))) for _ in range(4)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    assert seen == [5, 5, 5, 5]


def test_the_command_line_entry_imports_no_heavy_package() -> None:
    heavy = ("duckdb", "pydantic", "httpx", "PIL", "pandas", "workbench.providers.registry")
    probe = (
        "import sys, workbench.cli; "
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "[]"
