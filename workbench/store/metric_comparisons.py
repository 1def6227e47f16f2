"""Image measurements compared across models: per model paired on the same prompt (with a 95%
t-interval over prompts), text-in-image accuracy, near-duplicate images of one model and prompt,
and measurements against people's star ratings. Reads `latest_metrics` at a named version, as
`store.measurements` writes it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from workbench.domain.filters import HistoryFilter
from workbench.imaging.specs import NEAR_DUPLICATE_DISTANCE, PHASH, TEXT_ACCURACY, VERSIONS
from workbench.stats.ratings import t95
from workbench.store.db import Backend
from workbench.store.measurements import same_prompt_ids
from workbench.store.queries import PROMPT_KEY_SQL, filter_sql, metric_version
from workbench.store.records import NearDuplicate, PairedMetric, RatingPoint, TextAccuracy, records

# What "the same prompt" means when models are compared: the intent's key where each family got
# its own wording (suite entries, slots), else the text as sent.
PAIR_KEY_SQL = PROMPT_KEY_SQL

# A stored perceptual hash (hex text in the metric's JSON detail) as 64 bits, and the number of
# bits two of them differ in, per backend.
_HASH_SQL = {
    "duckdb": ("('0x' || json_extract_string(m.detail, '$.hash'))::UBIGINT",
               "bit_count(xor(a.bits, b.bits))"),
    "postgres": ("('x' || lpad(m.detail::json ->> 'hash', 16, '0'))::bit(64)",
                 "bit_count(a.bits # b.bits)"),
}


def _where(f: HistoryFilter | None, extra: Sequence[str], params: list[Any]) -> tuple[str, list]:
    base, base_params = filter_sql(f) if f is not None else ("", [])
    clauses = [base.removeprefix(" WHERE ")] if base else []
    clauses.extend(extra)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", [*base_params, *params]


def _interval(n: int, mean: float | None, sd: float | None) -> tuple[float | None, float | None]:
    if mean is None or n < 2 or sd is None or math.isnan(sd):
        return None, None
    half = t95(n - 1) * sd / math.sqrt(n)
    return mean - half, mean + half


class MetricComparisons:
    """The per-model and per-pair queries behind the leaderboard, the Measurements page and
    the correlation view."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    # -- per model, paired on the prompt ----------------------------------------------------------
    def paired_by_model(
        self, f: HistoryFilter | None, metric: str, version: int | None = None,
        *, by_category: bool = False,
    ) -> list[PairedMetric]:
        """Per model (and category: '' when not split): how its images differ from the other
        models' images of the same prompt text.

        For every prompt with images from at least two models, each model gets one paired
        difference: the mean of its images minus the mean of the other models' images of that
        prompt. A model's row is the mean of those differences over prompts, with a 95%
        t-interval (prompts are the independent units), next to its plain mean over all its
        measured images. Scene content cancels out in the difference; it does not in the mean.
        """
        version = metric_version(metric, version)
        where, params = _where(
            f, ["m.metric = ?", "m.version = ?", "m.status = 'ok'", "m.value IS NOT NULL",
                "g.status = 'succeeded'"], [metric, version])
        cat = "coalesce(g.category, '')" if by_category else "''"
        sql = (
            "WITH v AS ("
            f" SELECT g.model, {cat} AS category, {PAIR_KEY_SQL} AS prompt, m.value"
            f" FROM latest_metrics m JOIN generations g ON g.id = m.generation_id{where}),"
            " per AS (SELECT category, prompt, model, sum(value) AS s, count(*) AS n"
            "  FROM v GROUP BY category, prompt, model),"
            " tot AS (SELECT category, prompt, sum(s) AS s, sum(n) AS n, count(*) AS models"
            "  FROM per GROUP BY category, prompt),"
            " pairs AS (SELECT per.category, per.model,"
            "  per.s / per.n - (tot.s - per.s) / (tot.n - per.n) AS diff"
            "  FROM per JOIN tot USING (category, prompt) WHERE tot.models >= 2),"
            " paired AS (SELECT category, model, count(*) AS prompts, avg(diff) AS mean_diff,"
            "  stddev_samp(diff) AS sd_diff FROM pairs GROUP BY category, model),"
            " raw AS (SELECT category, model, count(*) AS images, avg(value) AS mean,"
            "  percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS median"
            "  FROM v GROUP BY category, model)"
            " SELECT raw.category, raw.model, raw.images, raw.mean, raw.median,"
            "  coalesce(paired.prompts, 0) AS prompts, paired.mean_diff, paired.sd_diff"
            " FROM raw LEFT JOIN paired USING (category, model)"
            " ORDER BY raw.category, raw.model"
        )
        with self.db.cursor() as cur:
            rows = records(PairedMetric, cur.execute(sql, params))
        return [
            replace(row, metric=metric, version=version, prompts=int(row.prompts),
                    diff_low=low, diff_high=high)
            for row in rows
            for low, high in [_interval(int(row.prompts), row.mean_diff, row.sd_diff)]
        ]

    def text_accuracy_by_model(self, f: HistoryFilter | None) -> list[TextAccuracy]:
        """Text-in-image accuracy per model over the images that asked for text: mean with a
        95% t-interval (clipped to 0..1) and the share spelled exactly right."""
        version = VERSIONS[TEXT_ACCURACY]
        where, params = _where(
            f, ["m.metric = ?", "m.version = ?", "m.status = 'ok'", "m.value IS NOT NULL",
                "g.status = 'succeeded'"], [TEXT_ACCURACY, version])
        sql = (
            "SELECT g.model, count(*) AS images, avg(m.value) AS mean,"
            " stddev_samp(m.value) AS sd, avg(CASE WHEN m.value >= 1 THEN 1.0 ELSE 0.0 END)"
            " AS exact_share"
            f" FROM latest_metrics m JOIN generations g ON g.id = m.generation_id{where}"
            " GROUP BY g.model ORDER BY g.model"
        )
        with self.db.cursor() as cur:
            rows = records(TextAccuracy, cur.execute(sql, params))
        return [
            replace(row, low=None if low is None else max(0.0, low),
                    high=None if high is None else min(1.0, high))
            for row in rows
            for low, high in [_interval(int(row.images), row.mean, row.sd)]
        ]

    # -- near-duplicates --------------------------------------------------------------------------
    def near_duplicates(
        self, f: HistoryFilter | None = None, max_distance: int = NEAR_DUPLICATE_DISTANCE,
        *, generation_id: str | None = None,
    ) -> list[NearDuplicate]:
        """Pairs of succeeded images of one model and prompt whose hashes are at most
        `max_distance` bits apart although their seeds differ (or are unknown): a provider
        returning the same picture for different seeds. Pairs with the same known seed are
        expected to match and are left out."""
        version = VERSIONS[PHASH]
        clauses = ["m.metric = ?", "m.version = ?", "m.status = 'ok'", "g.status = 'succeeded'"]
        clause_params: list[Any] = [PHASH, version]
        only = ""
        extra: list[Any] = []
        if generation_id is not None:
            with self.db.cursor() as cur:  # only its model's images of its prompt can pair
                ids = same_prompt_ids(cur, generation_id, same_model=True)
            if len(ids) < 2:
                return []
            clauses.append(f"m.generation_id IN ({', '.join('?' for _ in ids)})")
            clause_params.extend(ids)
            only = " AND (a.id = ? OR b.id = ?)"
            extra = [generation_id, generation_id]
        where, params = _where(f, clauses, clause_params)
        bits, distance = _HASH_SQL[self.db.dialect]
        sql = (
            "WITH h AS ("
            " SELECT g.id, g.model, g.prompt, coalesce(g.seed_returned, g.seed) AS seed,"
            f"  {bits} AS bits"
            f" FROM latest_metrics m JOIN generations g ON g.id = m.generation_id{where})"
            " SELECT a.id AS generation_a, b.id AS generation_b, a.model, a.prompt,"
            f"  a.seed AS seed_a, b.seed AS seed_b, {distance} AS distance"
            " FROM h a JOIN h b ON a.model = b.model AND a.prompt = b.prompt AND a.id < b.id"
            f" WHERE {distance} <= ?"
            "  AND (a.seed IS NULL OR b.seed IS NULL OR a.seed <> b.seed)"
            f"{only} ORDER BY distance, a.id, b.id"
        )
        with self.db.cursor() as cur:
            return records(NearDuplicate, cur.execute(sql, [*params, int(max_distance), *extra]))

    # -- against human ratings --------------------------------------------------------------------
    def rating_pairs(
        self, f: HistoryFilter | None, metric: str, criterion: str, version: int | None = None,
    ) -> list[RatingPoint]:
        """(value, stars) per rated and measured generation: the current value of `metric` and
        the mean over raters of each rater's latest stars for `criterion`."""
        where, params = _where(
            f, ["m.metric = ?", "m.version = ?", "m.status = 'ok'", "m.value IS NOT NULL"],
            [metric, metric_version(metric, version)])
        sql = (
            "WITH r AS (SELECT generation_id, avg(stars) AS stars, count(*) AS raters"
            " FROM latest_ratings WHERE criterion = ? GROUP BY generation_id)"
            " SELECT g.id AS generation_id, g.model, g.prompt, m.value, r.stars, r.raters"
            " FROM latest_metrics m JOIN generations g ON g.id = m.generation_id"
            f" JOIN r ON r.generation_id = g.id{where} ORDER BY g.created_at, g.id"
        )
        with self.db.cursor() as cur:
            return records(RatingPoint, cur.execute(sql, [criterion, *params]))
