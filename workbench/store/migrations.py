"""Forward-only schema migrations, recorded in the `_migrations` ledger table.

Each migration is an SQL file in `migrations/` named `NNNN_name.sql`, applied once, in order,
inside a transaction. A migration is never edited after it has landed: change the schema by
adding the next file. A database that a newer workbench has migrated further (its ledger names a
migration this version does not have) is refused rather than used or downgraded.

PostgreSQL runs the same files, except where a file holds DuckDB-only SQL (`QUALIFY`, `DOUBLE`,
`JSON` columns read as text...): then `migrations/postgres/NNNN_name.sql` (same name) replaces
it there, so the ledger names are identical on both backends. On PostgreSQL every missing
migration runs in one transaction under `pg_advisory_xact_lock`: two processes starting at once
do not both apply; the second waits, then finds the ledger complete.

After the files, the same turn (or lock) adds the log's columns of current measurement values
that this version's metrics need (`metric_columns.ensure`): derived data, not schema history.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from workbench.store import metric_columns

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# pg_advisory_xact_lock key of the migrations (any constant; "wbmig" in ASCII).
MIGRATION_LOCK_KEY = 0x77626D6967
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


def migration_sql(path: Path, dialect: str) -> str:
    """The text of a migration for a backend: its PostgreSQL override where there is one."""
    if dialect == "postgres":
        override = path.parent / "postgres" / path.name
        if override.is_file():
            return override.read_text()
    return path.read_text()


def _ledger(cur: Any, directory: Path) -> set[str]:
    cur.execute(
        "CREATE TABLE IF NOT EXISTS _migrations ("
        " name VARCHAR PRIMARY KEY, applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
    )
    done = {row[0] for row in cur.execute("SELECT name FROM _migrations").fetchall()}
    newer = sorted(done - {p.stem for p in migration_files(directory)})
    if newer:
        raise NewerSchema(newer)
    return done


def _applied(cur: Any) -> list[str]:
    return [row[0] for row in cur.execute("SELECT name FROM _migrations ORDER BY name").fetchall()]


def apply_migrations(
    cur: Any, directory: Path = MIGRATIONS_DIR, *, dialect: str = "duckdb"
) -> list[str]:
    """Apply what is missing; return the names of every applied migration, oldest first."""
    if dialect == "postgres":
        cur.execute("BEGIN")
        try:
            cur.execute("SELECT pg_advisory_xact_lock(?)", [MIGRATION_LOCK_KEY])
            done = _ledger(cur, directory)
            for path in migration_files(directory):
                if path.stem not in done:
                    cur.execute(migration_sql(path, dialect))
                    cur.execute("INSERT INTO _migrations (name) VALUES (?)", [path.stem])
            applied = _applied(cur)
            metric_columns.ensure(cur, dialect, set(applied))
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")
        return applied
    done = _ledger(cur, directory)
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
    applied = _applied(cur)
    cur.execute("BEGIN TRANSACTION")
    try:
        metric_columns.ensure(cur, dialect, set(applied))
    except Exception:
        cur.execute("ROLLBACK")
        raise
    cur.execute("COMMIT")
    return applied
