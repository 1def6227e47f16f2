"""The SQL that selects and orders generations: the History filters, the sort orders, and the
clauses on stored image measurements they may use. Every other store module builds on these
(the log, ratings, votes, measurements, performance), and this module imports none of them.

User text never becomes SQL: each function returns a fragment with `?` placeholders plus the
list of its parameters.
"""

from __future__ import annotations

from typing import Any

from workbench.domain.catalog import load_catalog
from workbench.domain.filters import ADHERENCE_SORTS, NUL_MESSAGE, HistoryFilter
from workbench.errors import InvalidInput
from workbench.imaging.specs import SPECS, VERSIONS
from workbench.store import metric_columns

# "The same prompt" for side-by-side comparisons: the intent's key when each model family got
# its own wording (a suite entry, slots assembled per template), else the text as sent.
PROMPT_KEY_SQL = "coalesce(g.prompt_key, g.prompt)"

_SORT_SQL = {
    "newest": "g.created_at DESC, g.id DESC",
    "oldest": "g.created_at ASC, g.id ASC",
    "fastest": "g.latency_ms ASC NULLS LAST, g.created_at DESC, g.id DESC",
    "slowest": "g.latency_ms DESC NULLS LAST, g.created_at DESC, g.id DESC",
    "cheapest": "g.cost_usd ASC NULLS LAST, g.created_at DESC, g.id DESC",
    "priciest": "g.cost_usd DESC NULLS LAST, g.created_at DESC, g.id DESC",
}
_OPERATORS = ("<", "<=", ">", ">=", "=", "<>")


def metric_version(metric: str, version: int | None) -> int:
    if metric not in SPECS:
        raise KeyError(f"Unknown metric '{metric}'; known: {', '.join(SPECS)}")
    return VERSIONS[metric] if version is None else int(version)


def metric_condition_sql(
    metric: str, op: str, threshold: float, version: int | None = None
) -> tuple[str, list[Any]]:
    """A WHERE clause on generations `g` for the History filters, e.g.
    `metric_condition_sql("text_accuracy", "<", 1.0)`: append it to `filter_sql`'s clauses and
    its parameters after theirs. Generations without that number do not match."""
    if op not in _OPERATORS:
        raise ValueError(f"unknown comparison '{op}'; use one of {' '.join(_OPERATORS)}")
    wanted = metric_version(metric, version)
    name = metric_columns.column(metric, wanted)
    if name is not None:  # the log's own copy of the current value: a scan of one column
        return f"g.{name} {op} ?", [float(threshold)]
    clause = (
        "g.id IN (SELECT generation_id FROM latest_metrics WHERE metric = ? AND version = ?"
        f" AND status = 'ok' AND value {op} ?)"
    )
    return clause, [metric, wanted, float(threshold)]


def metric_value_sql(metric: str, version: int | None = None) -> tuple[str, list[Any]]:
    """A scalar expression for a generation `g`'s current value of `metric`, for a SELECT
    column or an ORDER BY (`... ORDER BY {expr} DESC NULLS LAST`), with its parameters."""
    wanted = metric_version(metric, version)
    name = metric_columns.column(metric, wanted)
    if name is not None:
        return f"g.{name}", []
    expr = (
        "(SELECT value FROM latest_metrics lm WHERE lm.generation_id = g.id AND lm.metric = ?"
        " AND lm.version = ? AND lm.status = 'ok')"
    )
    return expr, [metric, wanted]


def sort_bound_sql(f: HistoryFilter, where: str, params: list[Any], rank: int) -> (
    tuple[str, list[Any]] | None
):
    """For a sort by a measurement kept on the log (`metric_columns`): a query for the value at
    `rank` (1-based) of that order under the filter `where`, else None.

    Why: ordering a million rows by (value, time, id) reads three columns of every row, the id
    text the dearest (about 70 ms at 1M rows); finding the page's last value reads one (about
    12 ms), and the rows at or above it, a page and its ties, are then few to order fully."""
    if f.sort_metric is None:
        return None
    metric, highest_first = f.sort_metric
    name = metric_columns.column(metric)
    if name is None:
        return None
    direction = "DESC" if highest_first else "ASC"
    sql = (
        f"SELECT g.{name} FROM generations g{where}"
        f" ORDER BY g.{name} {direction} NULLS LAST LIMIT 1 OFFSET ?"
    )
    return sql, [*params, max(0, int(rank) - 1)]


def sort_bound_clause(f: HistoryFilter, value: float) -> tuple[str, list[Any]]:
    """The rows at or above `value` (from `sort_bound_sql`) in `f`'s measurement order: every
    row of the pages up to that rank, a prefix of the whole order, so paging them gives the
    same rows as paging everything."""
    assert f.sort_metric is not None
    metric, highest_first = f.sort_metric
    name = metric_columns.column(metric)
    return f"g.{name} {'>=' if highest_first else '<='} ?", [float(value)]


def ratings_sql(f: HistoryFilter) -> tuple[str, list[Any]]:
    """The latest ratings that count under `f` (only the chosen raters' when it names any): a
    relation to use in place of `latest_ratings`, with its parameters."""
    if not f.raters:
        return "latest_ratings", []
    marks = ", ".join("?" for _ in f.raters)
    return f"(SELECT * FROM latest_ratings WHERE rater IN ({marks}))", list(f.raters)


def families() -> dict[str, tuple[str, ...]]:
    """Model ids per family, from the catalog: the SQL compares families through them."""
    found: dict[str, list[str]] = {}
    for model in load_catalog().models:
        found.setdefault(model.family, []).append(model.id)
    return {family: tuple(ids) for family, ids in found.items()}


def finals_sql() -> tuple[str, list[Any]]:
    """Generations `g` whose parent belongs to another model family."""
    parts: list[str] = []
    params: list[Any] = []
    for ids in families().values():
        marks = ", ".join("?" for _ in ids)
        parts.append(f"(p.model IN ({marks}) AND g.model NOT IN ({marks}))")
        params.extend([*ids, *ids])
    clause = (
        "g.parent_id IS NOT NULL AND EXISTS (SELECT 1 FROM generations p"
        f" WHERE p.id = g.parent_id AND ({' OR '.join(parts)}))"
    )
    return clause, params


# Every generation related to one by parent links (both directions): its ancestors walked up,
# then everything descending from the root it reaches.
LINEAGE_CTE = (
    "WITH RECURSIVE up(id, parent_id, depth) AS ("
    " SELECT id, parent_id, 0 FROM generations WHERE id = ?"
    " UNION ALL SELECT p.id, p.parent_id, up.depth + 1 FROM generations p"
    "  JOIN up ON p.id = up.parent_id WHERE up.depth < 100),"
    " root AS (SELECT id FROM up ORDER BY depth DESC LIMIT 1),"
    " down(id, depth) AS ("
    " SELECT id, 0 FROM root"
    " UNION ALL SELECT c.id, down.depth + 1 FROM generations c"
    "  JOIN down ON c.parent_id = down.id WHERE down.depth < 100)"
)


def contains_pattern(text: str) -> str:
    """The pattern of `column ILIKE ? ESCAPE '\\'` that finds `text` anywhere, every character
    taken literally (`%`, `_` and the escape itself escaped). Every LIKE filter uses it."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


ARCHIVED_IDS = "SELECT generation_id FROM annotations WHERE archived_at IS NOT NULL"


def annotation_sql(f: HistoryFilter) -> tuple[str, list[Any]]:
    """The clause on generations `g` for the archive choice (the log's `archived` copy of it,
    migration 0023) and the tags (migration 0019)."""
    clauses: list[str] = []
    params: list[Any] = []
    if f.archived == "hide":
        clauses.append("NOT g.archived")
    elif f.archived == "only":
        clauses.append("g.archived")
    if f.tags:
        any_tag = " OR ".join("tags LIKE ? ESCAPE '\\'" for _ in f.tags)
        clauses.append(f"g.id IN (SELECT generation_id FROM annotations WHERE {any_tag})")
        params.extend(contains_pattern(f",{tag},") for tag in f.tags)
    return " AND ".join(clauses), params


# The judge's adherence scores that count for a generation `j`: its image's, by the judge model
# given (the first parameter), on a question set of its own prompt (migration 0020).
_SCORES = (
    "judge_scores s JOIN judge_question_sets q ON q.id = s.question_set_id"
    " AND s.judge_model = ?"
)


def _judge(f: HistoryFilter) -> str | None:
    # The service sets it from the settings; without one, no score counts (`= NULL` matches
    # nothing): the judged are none and the sort keeps the newest first.
    return f.judge_model


def adherence_value_sql(f: HistoryFilter) -> tuple[str, list[Any]]:
    """A scalar expression for a generation `g`'s adherence score (0-1): the judge model's score
    of its image on the newest version of its own prompt's question set that has one (as the
    History column shows it); NULL when never judged."""
    expr = (
        f"(SELECT s.score FROM {_SCORES} WHERE s.image_sha256 = g.image_sha256"
        " AND q.prompt = g.prompt ORDER BY q.version DESC, q.created_at DESC, q.id DESC LIMIT 1)"
    )
    return expr, [_judge(f)]


def adherence_sql(f: HistoryFilter) -> tuple[str, list[Any]]:
    """The clause on generations `g` for the adherence choice and bounds ("" when none):
    uncorrelated semi-joins, so both backends hash the judged ids once."""
    if f.judged == "any" and f.adherence_min is None and f.adherence_max is None:
        return "", []
    judged = (
        f"SELECT j.id FROM generations j JOIN {_SCORES}"
        " ON s.image_sha256 = j.image_sha256 AND q.prompt = j.prompt"
    )
    if f.judged == "not_judged":
        return f"g.id NOT IN ({judged})", [_judge(f)]
    if f.adherence_min is None and f.adherence_max is None:
        return f"g.id IN ({judged})", [_judge(f)]
    newest = (  # each generation's score on its newest scored question set, within bounds
        "SELECT id FROM (SELECT j.id, s.score, row_number() OVER (PARTITION BY j.id"
        "  ORDER BY q.version DESC, q.created_at DESC, q.id DESC) AS nth"
        f" FROM generations j JOIN {_SCORES}"
        " ON s.image_sha256 = j.image_sha256 AND q.prompt = j.prompt) scored"
        " WHERE nth = 1 AND score >= ? AND score <= ?"
    )
    low = 0.0 if f.adherence_min is None else float(f.adherence_min)
    high = 1.0 if f.adherence_max is None else float(f.adherence_max)
    return f"g.id IN ({newest})", [_judge(f), low, high]


def filter_sql(f: HistoryFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []

    def any_of(column: str, values: tuple[str, ...]) -> None:
        if values:
            clauses.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)

    any_of("g.model", f.models)
    any_of("g.provider", f.providers)
    any_of("g.template_id", f.templates)
    any_of("g.status", f.statuses)
    any_of("g.category", f.categories)
    if f.run_id:
        clauses.append("g.run_id = ?")
        params.append(f.run_id)
    if not f.include_offline:
        clauses.append("g.provider <> 'offline'")
    if f.start:
        clauses.append("g.created_at >= ?")
        params.append(f.start)
    if f.end:
        clauses.append("g.created_at < ?")
        params.append(f.end)
    if f.text:
        # the prompt as sent, or a tag or the note added to the generation
        like = contains_pattern(f.text)
        clauses.append(
            "(g.prompt ILIKE ? ESCAPE '\\' OR g.id IN (SELECT generation_id FROM annotations"
            " WHERE note ILIKE ? ESCAPE '\\' OR tags ILIKE ? ESCAPE '\\'))"
        )
        params.extend([like, like, like])
    clause, extra = annotation_sql(f)
    if clause:
        clauses.append(clause)
        params.extend(extra)
    if f.min_rating is not None:
        source, source_params = ratings_sql(f)
        clauses.append(
            f"g.id IN (SELECT generation_id FROM {source} lr GROUP BY generation_id"
            " HAVING avg(stars) >= ?)"
        )
        params.extend([*source_params, f.min_rating])
    if f.finals:
        clause, extra = finals_sql()
        clauses.append(clause)
        params.extend(extra)
    if f.lineage:
        clauses.append(f"g.id IN ({LINEAGE_CTE} SELECT id FROM down)")
        params.append(f.lineage)
    if f.metric is not None and f.metric_value is not None:
        clause, extra = metric_condition_sql(f.metric, f.metric_op, f.metric_value)
        clauses.append(clause)
        params.extend(extra)
    clause, extra = adherence_sql(f)
    if clause:
        clauses.append(clause)
        params.extend(extra)
    # A filter built without validation (`model_construct`) meets the same rule as one that was:
    # PostgreSQL would otherwise answer with a driver error instead of a sentence.
    if any(isinstance(p, str) and "\x00" in p for p in params):
        raise InvalidInput(f"A filter {NUL_MESSAGE}.")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def order_sql(f: HistoryFilter) -> tuple[str, list[Any]]:
    """The ORDER BY of a page of the log (with its parameters; a sort by a measurement puts
    images without that number last)."""
    if f.sort in ADHERENCE_SORTS:
        expr, params = adherence_value_sql(f)
        direction = "DESC" if ADHERENCE_SORTS[f.sort] else "ASC"
        return f"{expr} {direction} NULLS LAST, g.created_at DESC, g.id DESC", params
    if f.sort_metric is None:
        return _SORT_SQL[f.sort], []
    metric, highest_first = f.sort_metric
    expr, params = metric_value_sql(metric)
    direction = "DESC" if highest_first else "ASC"
    return f"{expr} {direction} NULLS LAST, g.created_at DESC, g.id DESC", params
