"""A thread keeps its DuckDB cursor between its units of work while the process has the file
(`store.db.Database.cursor`): making one and choosing the file's catalog cost ~0.6 ms, three
times a generation. A kept cursor never outlives the turn, and never carries a transaction
from one unit to the next."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pytest

from workbench.store.db import Database


def _other_thread_sees(db: Database, sql: str) -> list[tuple[object, ...]]:
    found: list[list[tuple[object, ...]]] = []

    def read() -> None:
        with db.cursor() as cur:
            found.append(cur.execute(sql).fetchall())

    reader = threading.Thread(target=read)
    reader.start()
    reader.join(30)
    return found[0]


def test_a_thread_keeps_its_cursor_between_units_and_a_nested_unit_gets_its_own(
    tmp_path: Path,
) -> None:
    db = Database(tmp_path / "kept.duckdb", idle_close_s=60)
    try:
        with db.cursor() as first, db.cursor() as nested:
            assert nested is not first  # its own connection, as before
        with db.cursor() as second:
            assert second is first
        seen: list[object] = []

        def other() -> None:
            with db.cursor() as cur:
                seen.append(cur)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(30)
        assert seen and seen[0] is not first
    finally:
        db.close()


def test_a_kept_cursor_is_closed_when_the_process_gives_the_file_up(tmp_path: Path) -> None:
    db = Database(tmp_path / "kept.duckdb", idle_close_s=0)  # given up after every unit
    try:
        with db.cursor() as first:
            first.execute("CREATE TABLE notes (x INTEGER)")
        with db.cursor() as second:
            assert second is not first
            second.execute("INSERT INTO notes VALUES (1)")
        with pytest.raises(duckdb.ConnectionException):
            first.execute("SELECT 1")
    finally:
        db.close()


def test_a_unit_that_failed_leaves_no_transaction_open_on_the_kept_cursor(
    tmp_path: Path,
) -> None:
    db = Database(tmp_path / "kept.duckdb", idle_close_s=60)
    try:
        with db.cursor() as cur:
            cur.execute("CREATE TABLE notes (x INTEGER PRIMARY KEY)")
        with pytest.raises(duckdb.ConstraintException), db.transaction() as failed:
            failed.execute("INSERT INTO notes VALUES (1)")
            failed.execute("INSERT INTO notes VALUES (1)")
        with db.cursor() as cur:
            assert cur is not failed  # a failed unit's cursor is closed, not kept
            cur.execute("INSERT INTO notes VALUES (2)")  # on its own, committed at once
        assert _other_thread_sees(db, "SELECT x FROM notes") == [(2,)]
        with pytest.raises(duckdb.ConnectionException):
            failed.execute("SELECT 1")
    finally:
        db.close()
