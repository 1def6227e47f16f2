"""Stored image measurements: append-only rows (the newest per generation, metric and version
wins) and the queries the pages need: one generation's numbers, per-model comparisons paired on
the same prompt, text accuracy, near-duplicates, history filter clauses and the pairs of
(measurement, star rating) behind the correlation view.

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
from typing import Any

from workbench.domain.filters import HistoryFilter
from workbench.imaging.specs import (
    NEAR_DUPLICATE_DISTANCE,
    PHASH,
    TEXT_ACCURACY,
    VERSIONS,
    MetricResult,
)
from workbench.stats.ratings import t95
from workbench.store import metric_columns
from workbench.store.db import Backend, retry_conflicts, utcnow
from workbench.store.queries import (
    PROMPT_KEY_SQL,
    filter_sql,
    metric_version,
)

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


def _rows(cursor: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _interval(n: int, mean: float | None, sd: float | None) -> tuple[float | None, float | None]:
    if mean is None or n < 2 or sd is None or math.isnan(sd):
        return None, None
    half = t95(n - 1) * sd / math.sqrt(n)
    return mean - half, mean + half


_READING_ROW = "(nextval('metrics_id_seq'), ?, ?, ?, ?, ?, ?, ?, ?)"


class MetricLog:
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
    ) -> dict[str, dict[str, Any]]:
        """metric -> {value, status, error, detail, version, computed_at}, current versions."""
        with self.db.cursor() as cur:
            rows = _rows(cur.execute(
                "SELECT metric, version, status, value, detail, error, computed_at"
                " FROM latest_metrics WHERE generation_id = ?", [generation_id]))
        out: dict[str, dict[str, Any]] = {}
        for row in rows:
            if versions.get(row["metric"]) != row["version"]:
                continue
            row["detail"] = json.loads(row["detail"]) if row["detail"] else {}
            out[row["metric"]] = row
        return out

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
        pairs = " OR ".join("(metric = ? AND version = ?)" for _ in wanted)
        params: list[Any] = [*generation_ids]
        for m in wanted:
            params.extend([m, versions[m]])
        marks = ", ".join("?" for _ in generation_ids)
        with self.db.cursor() as cur:
            rows = cur.execute(
                f"SELECT generation_id, metric, value FROM latest_metrics"
                f" WHERE generation_id IN ({marks}) AND ({pairs}) AND status = 'ok'"
                " AND value IS NOT NULL", params).fetchall()
        out: dict[str, dict[str, float]] = {}
        for gid, metric, value in rows:
            out.setdefault(gid, {})[metric] = float(value)
        return out

    @staticmethod
    def _same_prompt(cur: Any, generation_id: str, *, same_model: bool = False) -> list[str]:
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

    def prompt_peer_values(
        self, generation_id: str, versions: Mapping[str, int] = VERSIONS
    ) -> dict[str, list[float]]:
        """metric -> values of the other succeeded images of the same prompt text (any model),
        current versions, from two small queries."""
        with self.db.cursor() as cur:
            ids = [g for g in self._same_prompt(cur, generation_id) if g != generation_id]
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

    # -- per model, paired on the prompt ----------------------------------------------------------
    def paired_by_model(
        self, f: HistoryFilter | None, metric: str, version: int | None = None,
        *, by_category: bool = False,
    ) -> list[dict[str, Any]]:
        """Per model (and category): how its images differ from the other models' images of
        the same prompt text.

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
            rows = _rows(cur.execute(sql, params))
        for row in rows:
            row["metric"], row["version"] = metric, version
            row["diff_low"], row["diff_high"] = _interval(
                int(row["prompts"]), row["mean_diff"], row["sd_diff"])
            if not by_category:
                row.pop("category")
        return rows

    def text_accuracy_by_model(self, f: HistoryFilter | None) -> list[dict[str, Any]]:
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
            rows = _rows(cur.execute(sql, params))
        for row in rows:
            low, high = _interval(int(row["images"]), row["mean"], row["sd"])
            row["low"] = None if low is None else max(0.0, low)
            row["high"] = None if high is None else min(1.0, high)
        return rows

    # -- near-duplicates --------------------------------------------------------------------------
    def near_duplicates(
        self, f: HistoryFilter | None = None, max_distance: int = NEAR_DUPLICATE_DISTANCE,
        *, generation_id: str | None = None,
    ) -> list[dict[str, Any]]:
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
                ids = self._same_prompt(cur, generation_id, same_model=True)
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
            return _rows(cur.execute(sql, [*params, int(max_distance), *extra]))

    # -- against human ratings --------------------------------------------------------------------
    def rating_pairs(
        self, f: HistoryFilter | None, metric: str, criterion: str, version: int | None = None,
    ) -> list[dict[str, Any]]:
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
            return _rows(cur.execute(sql, [criterion, *params]))

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

    def coverage(self, versions: Mapping[str, int] = VERSIONS) -> list[dict[str, Any]]:
        """Rows per metric and status at the current versions, for the Status page and CLI."""
        pairs = " OR ".join("(metric = ? AND version = ?)" for _ in versions)
        params = [x for m, v in versions.items() for x in (m, v)]
        with self.db.cursor() as cur:
            return _rows(cur.execute(
                f"SELECT metric, version, status, count(*) AS n FROM latest_metrics"
                f" WHERE ({pairs}) GROUP BY metric, version, status ORDER BY metric, status",
                params))
