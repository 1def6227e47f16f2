"""Performance per model, from the log alone: speed, cost and failure and moderation rates.

(Automatic image measurements are `store.measurements`.)

On PostgreSQL (team mode) a filter on model, provider, status, category, template and sketches
only is answered from `generation_summary`, which a trigger keeps in step with the log
(migration 0015). Any other filter (dates, text, ratings, run, lineage, measurements), and
every filter on DuckDB, aggregates the log itself in one pass into the same 2%-wide latency
buckets. Counts and costs are exact; the latency median and 95th percentile are exact for a
model with up to `EXACT_UP_TO` timed successes, and beyond are the centres of the buckets
holding the ranks, interpolated like `percentile_cont` (within 1% of the exact value).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from workbench.domain.filters import HistoryFilter
from workbench.store.db import Backend
from workbench.store.memo import ReadMemo
from workbench.store.queries import filter_sql
from workbench.store.records import OfferPerformance, records

_FINISHED = "g.status IN ('succeeded', 'failed', 'moderated')"
# A failure the workbench caused: the image arrived (billed) but could not be stored here, or a
# bug in the workbench. It says nothing of the model, so it counts in no model's attempts,
# failures or rates; what it cost still counts in the total spent. PostgreSQL's summary keeps
# the same test as its `workbench_fault` column (migrations/postgres/0024_workbench_faults.sql).
WORKBENCH_FAULTS = ("storage", "internal")
_FAULT = (
    "(g.status = 'failed' AND coalesce(g.error_kind, '') IN "
    f"({', '.join(repr(k) for k in WORKBENCH_FAULTS)}))"
)
# What generation_summary is keyed by: a filter on these alone can be answered from it.
_SUMMARY_FIELDS = ("models", "providers", "templates", "statuses", "categories", "include_offline")
BUCKET_BASE = 1.02  # generation_latency_bucket in migrations/postgres/0015_model_summary.sql
_QUANTILES = (0.5, 0.95)


def summary_answers(f: HistoryFilter) -> bool:
    """Whether the filter's WHERE clause uses only the summary's columns (archived
    generations included: the summary does not know which are archived)."""
    fields = {name: getattr(f, name) for name in _SUMMARY_FIELDS}
    plain = HistoryFilter(**fields, archived="include")
    return filter_sql(plain) == filter_sql(f)


def summary_filter(db: Backend, f: HistoryFilter) -> HistoryFilter | None:
    """The filter `generation_summary` answers for `f` on PostgreSQL, or None: hiding the
    archived changes nothing while none is archived (one probe of a small table)."""
    if f.archived == "hide":
        with db.cursor() as cur:
            if cur.execute(
                "SELECT 1 FROM annotations WHERE archived_at IS NOT NULL LIMIT 1"
            ).fetchone():
                return None
        f = f.model_copy(update={"archived": "include"})
    return f if summary_answers(f) else None


def bucket_value(bucket: int | None) -> float | None:
    """The latency a bucket stands for: its geometric centre (0 for below 1 ms)."""
    if bucket is None:
        return None
    return 0.0 if bucket < 0 else float(BUCKET_BASE ** (bucket + 0.5))


def _quantile(row: dict[str, Any], i: int) -> float | None:
    low, high = bucket_value(row[f"lo{i}"]), bucket_value(row[f"hi{i}"])
    if low is None or high is None:
        return None
    position = _QUANTILES[i] * (int(row["measured"]) - 1)
    return low + (position - math.floor(position)) * (high - low)


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelPerformance:
    """One model's finished attempts under a filter: counts by outcome, latency median and 95th
    percentile of the successes (ms), mean cost of a succeeded image and the total (Decimal
    on PostgreSQL's exact sums), and whether any cost is estimated (None: no cost recorded).
    Failures the workbench caused (`WORKBENCH_FAULTS`) are not the model's attempts; their
    cost is in the total."""

    model: str
    attempts: int
    succeeded: int
    failed: int
    moderated: int
    latency_median_ms: float | None
    latency_p95_ms: float | None
    cost_per_image_usd: float | Decimal | None
    cost_total_usd: float | Decimal | None
    cost_has_estimates: bool | None


# Up to this many timed successes a model's latency quantiles are exact (a small sort);
# beyond, they come from the 2%-wide buckets, within 1% of the exact value.
EXACT_UP_TO = 20_000


@dataclass
class _Tally:
    """One model's rows of the one-pass aggregate, added up."""

    attempts: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    cost_sum: float = 0.0
    cost_n: int = 0
    ok_cost_sum: float = 0.0
    ok_cost_n: int = 0
    estimated: bool | None = None
    buckets: dict[int, int] = field(default_factory=dict)  # succeeded latencies by bucket

    @property
    def timed(self) -> int:
        return sum(self.buckets.values())

    def add(self, status: str, error_kind: str | None, bucket: int | None, n: int,
            cost_sum: Any, cost_n: int, estimated: bool | None) -> None:
        if status != "failed" or error_kind not in WORKBENCH_FAULTS:  # else only its cost
            self.attempts += n
            self.counts[status] = self.counts.get(status, 0) + n
        if cost_n:
            self.cost_sum += float(cost_sum)
            self.cost_n += cost_n
            if status == "succeeded":
                self.ok_cost_sum += float(cost_sum)
                self.ok_cost_n += cost_n
        if estimated is not None:  # bool_or: true if any, false if only false, else NULL
            self.estimated = bool(self.estimated) or estimated
        if bucket is not None:
            self.buckets[bucket] = self.buckets.get(bucket, 0) + n

    def quantile(self, q: float) -> float | None:
        """The q-quantile from the buckets, interpolated like `percentile_cont` between the
        two ranks around (n - 1) * q, each rank standing at its bucket's centre."""
        total = self.timed
        if total == 0:
            return None
        position = q * (total - 1)
        low_rank, high_rank = math.floor(position), math.ceil(position)
        low = high = None
        seen = 0
        for bucket in sorted(self.buckets):
            seen += self.buckets[bucket]
            if low is None and seen > low_rank:
                low = bucket_value(bucket)
            if seen > high_rank:
                high = bucket_value(bucket)
                break
        assert low is not None and high is not None
        return low + (position - low_rank) * (high - low)

    def record(
        self, model: str, exact: tuple[float | None, float | None] | None
    ) -> ModelPerformance:
        median, p95 = exact if exact is not None else (
            self.quantile(_QUANTILES[0]), self.quantile(_QUANTILES[1]))
        return ModelPerformance(
            model=model,
            attempts=self.attempts,
            succeeded=self.counts.get("succeeded", 0),
            failed=self.counts.get("failed", 0),
            moderated=self.counts.get("moderated", 0),
            latency_median_ms=median,
            latency_p95_ms=p95,
            cost_per_image_usd=self.ok_cost_sum / self.ok_cost_n if self.ok_cost_n else None,
            cost_total_usd=self.cost_sum if self.cost_n else None,
            cost_has_estimates=self.estimated,
        )


RECENT_LATENCIES = 20  # how many of an offer's latest latencies its typical duration is from


class PerformanceLog:
    def __init__(self, db: Backend) -> None:
        self.db = db
        self.memo = ReadMemo(db)

    def recent_latency_ms(self, provider: str, last: int = RECENT_LATENCIES) -> dict[str, float]:
        """model -> median latency (ms) of the `last` newest succeeded attempts on this
        provider (an offer: model via provider), not reused ones; what a run's duration is
        estimated from (the catalog's typical time where none is logged)."""
        return self.memo.read(
            ("recent_latency", provider, last), lambda: self._recent(provider, last)
        )

    def _recent(self, provider: str, last: int) -> dict[str, float]:
        sql = (
            "SELECT model, percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) FROM ("
            " SELECT model, latency_ms, row_number() OVER ("
            "  PARTITION BY model ORDER BY created_at DESC, id DESC) AS k"
            " FROM generations WHERE provider = ? AND status = 'succeeded'"
            " AND latency_ms IS NOT NULL AND coalesce(cost_kind, '') <> 'cached') recent"
            " WHERE k <= ? GROUP BY model"
        )
        with self.db.cursor() as cur:
            rows = cur.execute(sql, [provider, int(last)]).fetchall()
        return {model: float(ms) for model, ms in rows if ms is not None}

    def by_model(self, f: HistoryFilter) -> list[ModelPerformance]:
        """Per model, its finished attempts under the filter (`ModelPerformance`)."""
        if self.db.dialect == "postgres" and (plain := summary_filter(self.db, f)):
            return self._from_summary(plain)
        return self.memo.read(("performance", f.model_dump_json()), lambda: self._from_log(f))

    def _from_log(self, f: HistoryFilter) -> list[ModelPerformance]:
        """One pass over the log: counts and costs per model and outcome, and the successes'
        latencies in the summary's 2%-wide buckets. A model with up to `EXACT_UP_TO` timed
        successes gets its exact quantiles from a second, small query; beyond, the buckets
        answer within 1% (as `generation_summary` does on PostgreSQL), because sorting every
        latency was most of the Leaderboard's first read after a write on a big log."""
        where, params = filter_sql(f)
        where = f"{where} AND {_FINISHED}" if where else f" WHERE {_FINISHED}"
        sql = (
            # grouped by the error kind too, for the workbench's own failures: 2 ms at a
            # million rows, where a CASE on it took 4 (bench/history.py leaderboard_cold_ms)
            "SELECT g.model, g.status, g.error_kind,"
            " CASE WHEN g.status <> 'succeeded' OR g.latency_ms IS NULL THEN NULL"
            "  WHEN g.latency_ms < 1 THEN -1"
            f"  ELSE CAST(floor(ln(greatest(g.latency_ms, 1)) / ln({BUCKET_BASE})) AS INTEGER)"
            " END AS b,"
            " count(*) AS n, sum(g.cost_usd) AS cost_sum, count(g.cost_usd) AS cost_n,"
            " bool_or(g.cost_kind = 'estimated') AS estimated"
            f" FROM generations g{where} GROUP BY 1, 2, 3, 4"
        )
        with self.db.cursor() as cur:
            rows = cur.execute(sql, params).fetchall()
        tallies: dict[str, _Tally] = {}
        for model, status, error_kind, bucket, n, cost_sum, cost_n, estimated in rows:
            tallies.setdefault(model, _Tally()).add(
                status, error_kind, bucket, int(n), cost_sum, int(cost_n), estimated)
        small = sorted(m for m, t in tallies.items() if 0 < t.timed <= EXACT_UP_TO)
        exact = self._exact_quantiles(f, small) if small else {}
        return [
            tallies[model].record(model, exact.get(model))
            for model in sorted(tallies)
        ]

    def _exact_quantiles(
        self, f: HistoryFilter, models: list[str]
    ) -> dict[str, tuple[float | None, float | None]]:
        where, params = filter_sql(f)
        marks = ", ".join("?" for _ in models)
        ok = f"g.status = 'succeeded' AND g.model IN ({marks})"
        where = f"{where} AND {ok}" if where else f" WHERE {ok}"
        sql = (
            "SELECT g.model, percentile_cont(0.5) WITHIN GROUP (ORDER BY g.latency_ms),"
            " percentile_cont(0.95) WITHIN GROUP (ORDER BY g.latency_ms)"
            f" FROM generations g{where} GROUP BY g.model"
        )
        with self.db.cursor() as cur:
            found = cur.execute(sql, [*params, *models]).fetchall()
        return {model: (median, p95) for model, median, p95 in found}

    def by_offer(self, f: HistoryFilter) -> list[OfferPerformance]:
        """Per model and provider (an offer) from the log: finished attempts, successes,
        failures, moderations, latency median and 95th percentile of the successes (ms), and
        the mean cost of an image; failures the workbench caused are not the offer's."""
        return self.memo.read(("offers", f.model_dump_json()), lambda: self._by_offer(f))

    def _by_offer(self, f: HistoryFilter) -> list[OfferPerformance]:
        where, params = filter_sql(f)
        where = f"{where} AND {_FINISHED}" if where else f" WHERE {_FINISHED}"
        ok = "g.status = 'succeeded'"
        sql = (
            f"SELECT g.model, g.provider, count(*) FILTER (WHERE NOT {_FAULT}) AS attempts,"
            f" count(*) FILTER (WHERE {ok}) AS succeeded,"
            f" count(*) FILTER (WHERE g.status = 'failed' AND NOT {_FAULT}) AS failed,"
            " count(*) FILTER (WHERE g.status = 'moderated') AS moderated,"
            " percentile_cont(0.5) WITHIN GROUP (ORDER BY g.latency_ms)"
            f"  FILTER (WHERE {ok}) AS latency_p50_ms,"
            " percentile_cont(0.95) WITHIN GROUP (ORDER BY g.latency_ms)"
            f"  FILTER (WHERE {ok}) AS latency_p95_ms,"
            f" count(g.latency_ms) FILTER (WHERE {ok}) AS timed,"
            f" avg(g.cost_usd) FILTER (WHERE {ok}) AS cost_per_image_usd,"
            " bool_or(g.cost_kind = 'estimated') AS cost_has_estimates"
            f" FROM generations g{where} GROUP BY g.model, g.provider"
            " ORDER BY g.model, g.provider"
        )
        with self.db.cursor() as cur:
            return records(OfferPerformance, cur.execute(sql, params))

    def _from_summary(self, f: HistoryFilter) -> list[ModelPerformance]:
        where, params = filter_sql(f)
        where = f"{where} AND {_FINISHED} AND g.n > 0" if where else (
            f" WHERE {_FINISHED} AND g.n > 0")
        ok = "g.status = 'succeeded'"
        # For each quantile, the buckets holding the two ranks around its position (n - 1) * q,
        # interpolated between as percentile_cont does.
        picks = ", ".join(
            f"min(b) FILTER (WHERE before + c > floor({q} * (total - 1))) AS lo{i},"
            f" min(b) FILTER (WHERE before + c > ceil({q} * (total - 1))) AS hi{i}"
            for i, q in enumerate(_QUANTILES)
        )
        sql = (
            f"WITH s AS (SELECT * FROM generation_summary g{where}),"
            " t AS (SELECT g.model,"
            "  coalesce(sum(n) FILTER (WHERE NOT g.workbench_fault), 0) AS attempts,"
            f"  coalesce(sum(n) FILTER (WHERE {ok}), 0) AS succeeded,"
            "  coalesce(sum(n) FILTER (WHERE g.status = 'failed' AND NOT g.workbench_fault),"
            "   0) AS failed,"
            "  coalesce(sum(n) FILTER (WHERE g.status = 'moderated'), 0) AS moderated,"
            f"  sum(cost_sum) FILTER (WHERE {ok}) AS ok_cost,"
            f"  sum(cost_n) FILTER (WHERE {ok}) AS ok_cost_n,"
            "  sum(cost_sum) AS cost_sum, sum(cost_n) AS cost_n,"
            "  bool_or(g.cost_kind = 'estimated') AS cost_has_estimates"
            "  FROM s g GROUP BY g.model),"
            " h AS (SELECT g.model, latency_bucket AS b, sum(n) AS c FROM s g"
            f"  WHERE {ok} AND latency_bucket IS NOT NULL GROUP BY g.model, latency_bucket),"
            " cum AS (SELECT model, b, c,"
            "  sum(c) OVER (PARTITION BY model ORDER BY b) - c AS before,"
            "  sum(c) OVER (PARTITION BY model) AS total FROM h),"
            f" q AS (SELECT model, max(total) AS measured, {picks} FROM cum GROUP BY model)"
            " SELECT * FROM t LEFT JOIN q USING (model) ORDER BY t.model"
        )
        with self.db.cursor() as cur:
            cursor = cur.execute(sql, params)
            names = [d[0] for d in cursor.description]
            found = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        return [
            ModelPerformance(
                model=r["model"],
                attempts=int(r["attempts"]),
                succeeded=int(r["succeeded"]),
                failed=int(r["failed"]),
                moderated=int(r["moderated"]),
                cost_per_image_usd=(
                    float(r["ok_cost"]) / int(r["ok_cost_n"]) if r["ok_cost_n"] else None
                ),
                cost_total_usd=float(r["cost_sum"]) if r["cost_n"] else None,
                cost_has_estimates=r["cost_has_estimates"],
                latency_median_ms=_quantile(r, 0),
                latency_p95_ms=_quantile(r, 1),
            )
            for r in found
        ]
