"""Stored image measurements: append-only rows (the newest per generation, metric and version
wins), one generation's numbers beside its prompt's other images, and which generations are
measured. The comparisons across models (paired on the same prompt, text accuracy,
near-duplicates, measurement against stars) are `store.metric_comparisons`'s.

Why append-only rather than delete-then-insert: it is the same rule as ratings (DuckDB reports
"Conflict on update" when two threads touch one row, and the background worker and a
recompute can meet on a generation), a recompute never leaves a moment with no number, and the
old rows say when a value changed. Every query reads `latest_metrics` and names the version it
wants, so numbers of two method versions never mix.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from workbench.imaging.specs import VERSIONS, MetricResult
from workbench.store import metric_columns
from workbench.store.db import Backend, retry_conflicts, utcnow
from workbench.store.records import MetricReading, MetricStatusCount, records


def same_prompt_ids(cur: Any, generation_id: str, *, same_model: bool = False) -> list[str]:
    """Ids of the succeeded generations with the prompt text of `generation_id` (and its
    model, if asked), itself included when it succeeded.

    Why the images are picked first and their rows then read by id: `latest_metrics` ranks
    every row of the table before a join can narrow it (0.2-0.5 s per call at 100,000
    generations), while a filter on `generation_id` reaches below the ranking."""
    model = " AND me.model = g.model" if same_model else ""
    rows = cur.execute(
        "SELECT g.id FROM generations g JOIN generations me ON me.id = ?"
        f" AND me.prompt = g.prompt{model} WHERE g.status = 'succeeded'",
        [generation_id]).fetchall()
    return [gid for (gid,) in rows]


_READING_ROW = "(nextval('metrics_id_seq'), ?, ?, ?, ?, ?, ?, ?, ?)"


class MetricLog:
    """The readings written, one generation's current numbers, and what is measured."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    # -- writes ---------------------------------------------------------------------------------
    def record(self, generation_id: str, results: Iterable[MetricResult]) -> int:
        readings = list(results)
        values = [
            None if r.value is None or not math.isfinite(r.value) else float(r.value)
            for r in readings
        ]
        rows = [
            [generation_id, r.name, int(r.version), r.status, value,
             json.dumps(r.detail, ensure_ascii=False, default=str) if r.detail else None,
             r.error, utcnow()]
            for r, value in zip(readings, values, strict=True)
        ]
        if not rows:
            return 0
        # The log's copy of the current values moves in the same transaction as the readings.
        sets = metric_columns.assignments(readings, values)

        def write() -> int:
            with self.db.transaction() as cur:
                # One statement for all readings: `executemany` runs one per row (~5 ms each
                # in DuckDB), and this transaction holds the file other processes wait for.
                cur.execute(
                    "INSERT INTO metrics (id, generation_id, metric, version, status, value,"
                    " detail, error, computed_at) VALUES "
                    + ", ".join([_READING_ROW] * len(rows)),
                    [value for row in rows for value in row],
                )
                if sets:
                    cur.execute(
                        "UPDATE generations SET "
                        + ", ".join(f"{name} = ?" for name, _ in sets) + " WHERE id = ?",
                        [*(value for _, value in sets), generation_id],
                    )
            return len(rows)

        # Two measurements of one image at once (the worker and a recompute) both update its
        # row of the log: DuckDB refuses the second, which is then redone whole.
        return retry_conflicts(self.db.conflicts, write)

    # -- one generation ---------------------------------------------------------------------------
    def for_generation(
        self, generation_id: str, versions: Mapping[str, int] = VERSIONS
    ) -> dict[str, MetricReading]:
        """metric -> its current reading (`MetricReading`), at the current versions."""
        with self.db.cursor() as cur:
            rows = records(MetricReading, cur.execute(
                "SELECT metric, version, status, value, detail, error, computed_at"
                " FROM latest_metrics WHERE generation_id = ?", [generation_id]))
        return {
            row.metric: row if row.detail else replace(row, detail={})  # no detail: {}
            for row in rows if versions.get(row.metric) == row.version
        }

    def values_for(
        self, generation_ids: Sequence[str], metrics: Sequence[str] | None = None,
        versions: Mapping[str, int] = VERSIONS,
    ) -> dict[str, dict[str, float]]:
        """Current values for a page of generations: {generation_id: {metric: value}}."""
        if not generation_ids:
            return {}
        wanted = [m for m in (metrics or list(versions)) if m in versions]
        if not wanted:
            return {}
        marks = ", ".join("?" for _ in generation_ids)
        out: dict[str, dict[str, float]] = {}
        # The log's own copies (store.metric_columns: NULL unless the newest reading of that
        # version succeeded) are read by id; `latest_metrics` ranks every reading first (about
        # 10 ms against 130 ms for a page at 100,000 generations).
        copied = {
            m: name for m in wanted if (name := metric_columns.column(m, versions[m])) is not None
        }
        if copied:
            with self.db.cursor() as cur:
                rows = cur.execute(
                    f"SELECT id, {', '.join(copied.values())} FROM generations"
                    f" WHERE id IN ({marks})", list(generation_ids)).fetchall()
            for gid, *values in rows:
                for metric, value in zip(copied, values, strict=True):
                    if value is not None:
                        out.setdefault(gid, {})[metric] = float(value)
        rest = [m for m in wanted if m not in copied]
        if not rest:
            return out
        pairs = " OR ".join("(metric = ? AND version = ?)" for _ in rest)
        params: list[Any] = [*generation_ids]
        for m in rest:
            params.extend([m, versions[m]])
        with self.db.cursor() as cur:
            rows = cur.execute(
                f"SELECT generation_id, metric, value FROM latest_metrics"
                f" WHERE generation_id IN ({marks}) AND ({pairs}) AND status = 'ok'"
                " AND value IS NOT NULL", params).fetchall()
        for gid, metric, value in rows:
            out.setdefault(gid, {})[metric] = float(value)
        return out

    def prompt_peer_values(
        self, generation_id: str, versions: Mapping[str, int] = VERSIONS
    ) -> dict[str, list[float]]:
        """metric -> values of the other succeeded images of the same prompt text (any model),
        current versions, from two small queries."""
        with self.db.cursor() as cur:
            ids = [g for g in same_prompt_ids(cur, generation_id) if g != generation_id]
            if not ids:
                return {}
            marks = ", ".join("?" for _ in ids)
            rows = cur.execute(
                f"SELECT metric, version, value FROM latest_metrics WHERE generation_id IN"
                f" ({marks}) AND status = 'ok' AND value IS NOT NULL", ids).fetchall()
        out: dict[str, list[float]] = {}
        for metric, version, value in rows:
            if versions.get(metric) == version:
                out.setdefault(metric, []).append(float(value))
        return out

    # -- bookkeeping ------------------------------------------------------------------------------
    def measured(self, versions: Mapping[str, int] = VERSIONS) -> dict[str, set[str]]:
        """generation_id -> metrics that have a current-version row that is not 'skipped'
        (an 'error' counts as measured: the same file fails the same way until --all)."""
        pairs = " OR ".join("(metric = ? AND version = ?)" for _ in versions)
        params = [x for m, v in versions.items() for x in (m, v)]
        with self.db.cursor() as cur:
            rows = cur.execute(
                f"SELECT generation_id, array_agg(metric) FROM latest_metrics WHERE ({pairs})"
                " AND status <> 'skipped' GROUP BY generation_id", params).fetchall()
        return {gid: set(ms) for gid, ms in rows}

    def coverage(self, versions: Mapping[str, int] = VERSIONS) -> list[MetricStatusCount]:
        """Rows per metric and status at the current versions, for the Status page and CLI."""
        pairs = " OR ".join("(metric = ? AND version = ?)" for _ in versions)
        params = [x for m, v in versions.items() for x in (m, v)]
        with self.db.cursor() as cur:
            return records(MetricStatusCount, cur.execute(
                f"SELECT metric, version, status, count(*) AS n FROM latest_metrics"
                f" WHERE ({pairs}) GROUP BY metric, version, status ORDER BY metric, status",
                params))
