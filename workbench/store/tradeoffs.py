"""Reads behind the article's trade-off rows: star histograms per model (for the quality
ceiling) and batches of variations with their best rating, wait and cost (for the iterative
workflow), and star sums per category for the prompt-category rows. Aggregated in SQL;
standard SQL only (window functions, FILTER, percentile_cont). Each read returns typed records
(`StarCount`, `StarSums`, `BatchSummary`); `sketch` marks an offline sketch's rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from workbench.domain.filters import HistoryFilter
from workbench.store.db import Backend
from workbench.store.queries import filter_sql, finals_sql, ratings_sql
from workbench.store.records import records

Number = float | Decimal  # avg and sums are Decimal on PostgreSQL


@dataclass(frozen=True, slots=True, kw_only=True)
class StarCount:
    """How many rated images of a model got a given score (the mean of their raters')."""

    JSON: ClassVar[frozenset[str]] = frozenset()

    model: str
    sketch: bool
    stars: Number
    n: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StarSums:
    """The latest stars of a model on one criterion and category: n, sum, sum of squares;
    `final` when the images are lineage finals."""

    JSON: ClassVar[frozenset[str]] = frozenset()

    model: str
    sketch: bool
    category: str | None
    criterion: str
    final: bool
    n: int
    total: Number
    squares: Number


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchSummary:
    """A model's full, rated batches of variations: how many, how many hold a good image, and
    the median wait (ms, slowest image) and cost of a batch."""

    JSON: ClassVar[frozenset[str]] = frozenset()

    model: str
    sketch: bool
    batches: int
    good: int
    wait_median_ms: Number | None
    dollars_median: Number | None


def _per_generation(f: HistoryFilter, criterion: str) -> tuple[str, list[Any]]:
    """Each generation's stars on one criterion: the mean over the counted raters of each
    rater's latest rating."""
    ratings, params = ratings_sql(f)
    return (
        f"r AS (SELECT generation_id, avg(stars) AS stars FROM {ratings} lr WHERE criterion = ?"
        " GROUP BY generation_id)",
        [*params, criterion],
    )


class TradeoffLog:
    def __init__(self, db: Backend) -> None:
        self.db = db

    def star_histogram(self, f: HistoryFilter, criterion: str) -> list[StarCount]:
        """(model, sketch, stars, n): how many rated images of each model got each score."""
        where, params = filter_sql(f)
        per_generation, first = _per_generation(f, criterion)
        sql = (
            f"WITH {per_generation}"
            " SELECT g.model, g.provider = 'offline' AS sketch, r.stars, count(*) AS n"
            f" FROM generations g JOIN r ON r.generation_id = g.id{where}"
            " GROUP BY g.model, g.provider = 'offline', r.stars ORDER BY 1, 2, 3"
        )
        with self.db.cursor() as cur:
            return records(StarCount, cur.execute(sql, [*first, *params]))

    def star_sums_by_category(
        self, f: HistoryFilter, criteria: Sequence[str]
    ) -> list[StarSums]:
        """(model, sketch, category, criterion, final, n, total, squares) of the latest
        ratings: sums that add up exactly across categories (mean and spread of any group of
        them); `final` when the generation is a lineage final (its parent is of another
        model family)."""
        where, params = filter_sql(f)
        among = f"r.criterion IN ({', '.join('?' for _ in criteria)})"
        where = f"{where} AND {among}" if where else f" WHERE {among}"
        ratings, first = ratings_sql(f)
        finals, finals_params = finals_sql()
        sql = (
            "SELECT g.model, g.provider = 'offline' AS sketch, g.category, r.criterion,"
            f" coalesce({finals}, false) AS final,"
            " count(*) AS n, sum(r.stars) AS total, sum(r.stars * r.stars) AS squares"
            f" FROM {ratings} r JOIN generations g ON g.id = r.generation_id{where}"
            " GROUP BY 1, 2, 3, 4, 5"
        )
        with self.db.cursor() as cur:
            return records(StarSums, cur.execute(
                sql, [*finals_params, *first, *params, *criteria]))

    def batches(
        self, f: HistoryFilter, criterion: str, size: int, good_stars: float
    ) -> list[BatchSummary]:
        """Per model: batches of `size` succeeded, rated variations (same run, model, provider
        and prompt, in the order they were made), how many hold an image rated `good_stars` or
        more, and the median wait (slowest image) and cost of a batch."""
        where, params = filter_sql(f)
        only = "g.run_id IS NOT NULL AND g.status = 'succeeded'"
        where = f"{where} AND {only}" if where else f" WHERE {only}"
        per_generation, first = _per_generation(f, criterion)
        sql = (
            f"WITH {per_generation},"
            " v AS (SELECT g.run_id, g.model, g.provider, g.prompt, g.latency_ms, g.cost_usd,"
            "  r.stars, row_number() OVER (PARTITION BY g.run_id, g.model, g.provider, g.prompt"
            "  ORDER BY g.created_at, g.id) AS rn"
            f"  FROM generations g LEFT JOIN r ON r.generation_id = g.id{where}),"
            " b AS (SELECT model, provider, count(*) AS images, count(stars) AS rated,"
            "  max(stars) AS best, max(latency_ms) AS wait_ms, sum(cost_usd) AS dollars"
            "  FROM v GROUP BY run_id, model, provider, prompt, floor((rn - 1) / ?))"
            " SELECT model, provider = 'offline' AS sketch, count(*) AS batches,"
            "  count(*) FILTER (WHERE best >= ?) AS good,"
            "  percentile_cont(0.5) WITHIN GROUP (ORDER BY wait_ms) AS wait_median_ms,"
            "  percentile_cont(0.5) WITHIN GROUP (ORDER BY dollars) AS dollars_median"
            " FROM b WHERE images = ? AND rated = ?"
            " GROUP BY model, provider = 'offline' ORDER BY 1, 2"
        )
        with self.db.cursor() as cur:
            return records(BatchSummary, cur.execute(
                sql, [*first, *params, float(size), good_stars, size, size]
            ))
