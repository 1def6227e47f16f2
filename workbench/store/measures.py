"""What the log measures per model without anyone rating: speed, cost and failure rates."""

from __future__ import annotations

from typing import Any

from workbench.filters import HistoryFilter
from workbench.store.db import Database
from workbench.store.generations import filter_sql


class MeasureLog:
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
            " median(g.latency_ms) FILTER (WHERE g.status = 'succeeded') AS latency_median_ms,"
            " quantile_cont(g.latency_ms, 0.95) FILTER (WHERE g.status = 'succeeded')"
            "   AS latency_p95_ms,"
            " avg(g.cost_usd) FILTER (WHERE g.status = 'succeeded') AS cost_per_image_usd,"
            " sum(g.cost_usd) AS cost_total_usd,"
            " bool_or(g.cost_kind = 'estimated') AS cost_has_estimates"
            f" FROM generations g{where} GROUP BY g.model ORDER BY g.model"
        )
        with self.db.cursor() as cur:
            cursor = cur.execute(sql, params)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
