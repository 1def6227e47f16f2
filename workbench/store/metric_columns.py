"""The current value of every numeric image measurement, kept on the log itself: one column of
`generations` per metric and method version (`measured_<metric>_v<version>`), derived from the
append-only `metrics` rows.

Why: filtering or sorting the History by a measurement through `latest_metrics` ranks every
reading of every image first. At a million generations that took 100-125 ms for a filter and
about 500 ms for a sort on DuckDB; the same filter on a column of the log is a plain scan of one
column (5-7 ms) and the sort a top-50 over it (about 40 ms). See docs/storage.md.

- `metrics` stays the record. These columns are a copy of what `latest_metrics` says for the
  current version: the value of the newest reading when it succeeded, NULL when it failed or
  there is none. They can be rebuilt from it at any time (`refresh`).
- Each method version has its own column, so numbers of two versions never mix, and processes of
  two workbench versions on one database each read their own.
- A column is added and filled when a process first opens a database with that metric version
  (inside the migrations' turn on DuckDB, under their advisory lock on PostgreSQL), so a new
  metric or a new version needs no migration file.
- A recorded reading of the current version sets its column in the same transaction as the
  reading's row (`assignments`).
- `db copy` copies readings, not these columns, and refreshes them on the target afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from workbench.imaging.specs import SPECS, VERSIONS, MetricResult

PREFIX = "measured_"
_SAFE = re.compile(r"^[a-z][a-z0-9_]*$")
_TYPES = {"duckdb": "DOUBLE", "postgres": "DOUBLE PRECISION"}


def column(metric: str, version: int | None = None) -> str | None:
    """The column holding `metric`'s current value for `version` (default: this version's), or
    None when the metric has no number (a hash) or no column at that version. Only the current
    versions have columns this process keeps up to date."""
    spec = SPECS.get(metric)
    if spec is None or not spec.numeric or _SAFE.match(metric) is None:
        return None
    if version is not None and int(version) != VERSIONS[metric]:
        return None
    return f"{PREFIX}{metric}_v{VERSIONS[metric]}"


def is_derived(name: str) -> bool:
    """Whether a column of `generations` is one of these (not copied, not checksummed)."""
    return name.startswith(PREFIX)


def current() -> dict[str, str]:
    """metric -> its column, for every numeric metric at this version."""
    return {m: c for m in SPECS if (c := column(m)) is not None}


def _columns_of(cur: Any, table: str) -> set[str]:
    # The column names of an empty result: information_schema takes ~25 ms in DuckDB, and
    # this runs at every open.
    cursor = cur.execute(f"SELECT * FROM {table} LIMIT 0")
    cursor.fetchall()
    return {d[0] for d in cursor.description}


def _fill(cur: Any, metric: str, name: str) -> None:
    # Only rows whose copy differs from the readings are written: on PostgreSQL every updated
    # row is a new row version, and a copy into a team database must not rewrite the log.
    cur.execute(
        f"UPDATE generations SET {name} = lm.v FROM (SELECT generation_id,"
        " CASE WHEN status = 'ok' THEN value END AS v FROM latest_metrics"
        " WHERE metric = ? AND version = ?) lm"
        f" WHERE lm.generation_id = generations.id AND generations.{name} IS DISTINCT FROM lm.v",
        [metric, VERSIONS[metric]],
    )


def ensure(cur: Any, dialect: str, applied: set[str]) -> list[str]:
    """Add and fill the columns of this version's metrics that the database lacks; the names
    added. Run inside the caller's transaction, after the migrations named in `applied` (the
    columns need the log and the readings: nothing to do on a ledger without them)."""
    if not {"0001_initial", "0004_metrics"} <= applied:
        return []
    have = _columns_of(cur, "generations")
    added = []
    for metric, name in current().items():
        if name in have:
            continue
        cur.execute(f"ALTER TABLE generations ADD COLUMN {name} {_TYPES[dialect]}")
        _fill(cur, metric, name)
        added.append(name)
    return added


def refresh(cur: Any) -> None:
    """Bring every current column in line with `latest_metrics` (after `db copy` brought
    readings); rows already in line are not touched."""
    for metric, name in current().items():
        _fill(cur, metric, name)


def assignments(results: Iterable[MetricResult], values: Iterable[float | None]) -> list[
    tuple[str, float | None]
]:
    """(column, value) to set for readings just recorded, paired with the values as stored:
    the number when the reading succeeded, NULL when it failed, nothing for other versions."""
    out: dict[str, float | None] = {}
    for result, value in zip(results, values, strict=True):
        name = column(result.name, result.version)
        if name is not None:
            out[name] = value if result.status == "ok" else None
    return list(out.items())
