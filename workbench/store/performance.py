"""Performance per model, from the log alone: speed, cost and failure and moderation rates.

(Automatic image measurements are `store.metrics`.)
"""

from __future__ import annotations

from typing import Any

from workbench.domain.filters import HistoryFilter
from workbench.store.db import Database
from workbench.store.queries import filter_sql


class PerformanceLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    def by_model(self, f: HistoryFilter) -> list[dict[str, Any]]:
        where, params = filter_sql(f)
        finished = "g.status IN ('succeeded', 'failed', 'moderated')"
        where = f"{where} AND {finished}" if where else f" WHERE {finished}"
        sql = (
            "SELECT g.model,"
            " count(*) AS attempts,"
            " count(*) FILTER (WHERE g.status = 'succeeded') AS succeeded,"
            " count(*) FILTER (WHERE g.status = 'failed') AS failed,"
            " count(*) FILTER (WHERE g.status = 'moderated') AS moderated,"
            # one sort per model for both quantiles
            " percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY g.latency_ms)"
            "   FILTER (WHERE g.status = 'succeeded') AS latency_q,"
            " avg(g.cost_usd) FILTER (WHERE g.status = 'succeeded') AS cost_per_image_usd,"
            " sum(g.cost_usd) AS cost_total_usd,"
            " bool_or(g.cost_kind = 'estimated') AS cost_has_estimates"
            f" FROM generations g{where} GROUP BY g.model ORDER BY g.model"
        )
        with self.db.cursor() as cur:
            cursor = cur.execute(sql, params)
            names = [d[0] for d in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        for row in rows:
            quantiles = row.pop("latency_q") or [None, None]
            row["latency_median_ms"], row["latency_p95_ms"] = quantiles
        return rows
