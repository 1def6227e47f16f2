"""What a finished (or stopped) run came to, per model: images done, failed and cancelled, what
they cost and their median latency (cached reuses, which took no provider time, left out)."""

from __future__ import annotations

import statistics
from typing import Any

from workbench.domain.filters import HistoryFilter
from workbench.services.workbench import Workbench


def per_model(wb: Workbench, run_id: str) -> list[dict[str, Any]]:
    """Per model: done, failed, cost and median latency of the run's attempts."""
    per_model: dict[str, dict[str, Any]] = {}
    offset = 0
    while True:
        rows = wb.log.page(HistoryFilter(run_id=run_id, sort="oldest"), limit=1000, offset=offset)
        if not rows:
            break
        for row in rows:
            entry = per_model.setdefault(
                row.model,
                {
                    "model": row.model,
                    "done": 0,
                    "failed": 0,
                    "cancelled": 0,
                    "cost_usd": 0.0,
                    "latencies": [],
                },
            )
            if row.status == "succeeded":
                entry["done"] += 1
                if row.latency_ms is not None and row.cost_kind != "cached":
                    entry["latencies"].append(row.latency_ms)
            elif row.status in ("failed", "moderated", "interrupted"):
                entry["failed"] += 1
            elif row.status in ("cancelled", "not_sent"):  # nothing was sent, nothing paid
                entry["cancelled"] += 1
            entry["cost_usd"] += row.cost_usd or 0.0
        offset += 1000
    for entry in per_model.values():
        lat = entry.pop("latencies")
        entry["median_latency_ms"] = statistics.median(lat) if lat else None
    return sorted(per_model.values(), key=lambda e: e["model"])
