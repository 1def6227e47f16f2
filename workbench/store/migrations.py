"""Forward-only schema migrations, recorded in the `_migrations` ledger table.

Each migration is an SQL file in `migrations/` named `NNNN_name.sql`, applied once, in order,
inside a transaction. A migration is never edited after it has landed: change the schema by
adding the next file. A database that a newer workbench has migrated further (its ledger names a
migration this version does not have) is refused rather than used or downgraded.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class NewerSchema(RuntimeError):
    def __init__(self, unknown: list[str]) -> None:
        super().__init__(
            "This database was migrated by a newer version of the workbench (it has "
            f"{', '.join(unknown)}, which this version does not know). Update the workbench; "
            "it never downgrades a database."
        )
        self.unknown = unknown


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    files = sorted(p for p in directory.glob("*.sql") if _NAME.match(p.name))
    numbers = [int(_NAME.match(p.name).group(1)) for p in files]  # type: ignore[union-attr]  # files holds only names _NAME matches
    if len(numbers) != len(set(numbers)):
        raise RuntimeError("two migrations share a number")
    return files


def apply_migrations(cur: duckdb.DuckDBPyConnection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply what is missing; return the names of every applied migration, oldest first."""
    cur.execute(
        "CREATE TABLE IF NOT EXISTS _migrations ("
        " name VARCHAR PRIMARY KEY, applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
    )
    done = {row[0] for row in cur.execute("SELECT name FROM _migrations").fetchall()}
    known = {p.stem for p in migration_files(directory)}
    newer = sorted(done - known)
    if newer:
        raise NewerSchema(newer)
    for path in migration_files(directory):
        if path.stem in done:
            continue
        cur.execute("BEGIN TRANSACTION")
        try:
            cur.execute(path.read_text())
            cur.execute("INSERT INTO _migrations (name) VALUES (?)", [path.stem])
        except Exception:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")
    return [row[0] for row in cur.execute("SELECT name FROM _migrations ORDER BY name").fetchall()]
