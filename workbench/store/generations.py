"""The generation log's reads: History pages and counts, one generation, the filter choices,
and what a run needs to know about its attempts (resumable ones, its cells, identical earlier
successes, the spend since a time). Writes live in `store.attempts`.

Every statement is parameterised; filters are built as a list of `where` clauses plus a list of
parameters, so user text never becomes SQL. Paging happens in SQL (LIMIT/OFFSET) and the count
is a separate query, so no page ever loads the whole table.
"""

from __future__ import annotations

import logging
import re
from typing import Literal, overload

from workbench.domain.filters import HistoryFilter
from workbench.store.db import Backend, one_row
from workbench.store.memo import ReadMemo
from workbench.store.performance import summary_filter
from workbench.store.queries import filter_sql, order_sql, sort_bound_clause, sort_bound_sql
from workbench.store.records import (
    CachedImage,
    Generation,
    GenerationListItem,
    ResumableAttempt,
    RunCell,
    first_record,
    records,
    select_list,
)

_LIST_COLUMNS = (
    "g.id, g.created_at, g.status, g.model, g.provider, g.template_id, g.prompt, g.aspect_ratio,"
    " g.size, g.seed, g.seed_returned, g.latency_ms, g.cost_usd, g.cost_kind, g.error_kind,"
    " g.error_message, g.image_sha256, g.width, g.height, g.category, g.run_id, g.parent_id,"
    " g.created_by, i.thumb_path, i.path AS image_path"
)
# Every column a `Generation` reads, by name: `g.*` would also bring the log's derived
# measurement columns (store.metric_columns), which are not part of a generation's record.
_GENERATION_COLUMNS = select_list(Generation, "g")
# A generation's image as `Generation` names it.
_IMAGE_COLUMNS = "i.path AS image_path, i.thumb_path, i.mime, i.bytes AS image_bytes"


def _skip_scan(column: str) -> str:
    """PostgreSQL: the sorted distinct non-NULL values of a generations column with an index,
    found by asking the index for the next greater value until there is none."""
    return (
        f"ARRAY(WITH RECURSIVE s(v) AS (SELECT min({column}) FROM generations UNION ALL"
        f" SELECT (SELECT min({column}) FROM generations WHERE {column} > s.v) FROM s"
        " WHERE s.v IS NOT NULL) SELECT v FROM s WHERE v IS NOT NULL ORDER BY v)"
    )


def same_prompt_key(record: Generation) -> str:
    return record.prompt_key or record.prompt


log = logging.getLogger(__name__)


_LOG_COLUMN = re.compile(r"\bg\.(\w+)")


def _page_sql(where: str, order: str, columns: str) -> str:
    # Pick the page first; join images and ratings for its rows only. The page's latest
    # ratings are picked from its own rows: the `latest_ratings` view ranks every rating first
    # (a filter on it is not pushed below its window), about 15 ms more at 20,000 ratings.
    # The page keeps only the columns shown and ordered by: it is materialised (read twice),
    # and fetching every column of rows scattered over a million cost ~6 ms more per page.
    kept = sorted({"id", "image_sha256", *_LOG_COLUMN.findall(f"{columns} {order}")})
    return (
        f"WITH g AS MATERIALIZED (SELECT {', '.join(f'g.{c}' for c in kept)} FROM generations g"
        f"{where} ORDER BY {order} LIMIT ? OFFSET ?),"
        " r AS (SELECT generation_id, avg(stars) AS rating FROM ("
        "  SELECT DISTINCT ON (generation_id, criterion, rater) generation_id, stars"
        "  FROM ratings WHERE generation_id IN (SELECT id FROM g)"
        "  ORDER BY generation_id, criterion, rater, created_at DESC, id DESC) latest"
        "  GROUP BY generation_id)"
        f" SELECT {columns}, r.rating FROM g"
        " LEFT JOIN images i ON i.sha256 = g.image_sha256"
        " LEFT JOIN r ON r.generation_id = g.id"
        f" ORDER BY {order}"
    )


class GenerationLog:
    def __init__(self, db: Backend) -> None:
        self.db = db
        self.memo = ReadMemo(db)

    # -- a run's attempts ----------------------------------------------------------------
    def resumable(self, run_id: str | None = None) -> list[ResumableAttempt]:
        """Interrupted attempts a provider had accepted (an id and a status URL are known):
        their results may still be fetched instead of lost."""
        where = "" if run_id is None else " AND run_id = ?"
        with self.db.cursor() as cur:
            cursor = cur.execute(
                "SELECT id, run_id, cell, model, provider, provider_model_id,"
                " provider_request_id, resume_url, aspect_ratio, size, seed FROM generations"
                " WHERE status = 'interrupted' AND error_kind IN ('interrupted', 'left_running')"
                " AND provider_request_id IS NOT NULL AND resume_url IS NOT NULL"
                f"{where} ORDER BY created_at, id",
                [] if run_id is None else [run_id],
            )
            return records(ResumableAttempt, cursor)

    def find_cached(self, request_hash: str) -> CachedImage | None:
        """The newest succeeded attempt of an identical request, for "don't pay twice"."""
        with self.db.cursor() as cur:
            cursor = cur.execute(
                "SELECT g.id, g.image_sha256, g.seed_returned, i.path, i.thumb_path, i.mime,"
                " i.bytes, i.width, i.height FROM generations g"
                " JOIN images i ON i.sha256 = g.image_sha256"
                " WHERE g.request_hash = ? AND g.status = 'succeeded'"
                " ORDER BY g.created_at DESC LIMIT 1",
                [request_hash],
            )
            return first_record(CachedImage, cursor)

    def run_cells(self, run_id: str) -> list[RunCell]:
        with self.db.cursor() as cur:
            cursor = cur.execute(
                "SELECT g.id, g.cell, g.status, g.submitted_at, g.cost_usd, g.cost_kind,"
                " g.latency_ms, g.error_kind, g.error_message, i.path AS image_path,"
                " i.thumb_path FROM generations g LEFT JOIN images i ON i.sha256 = g.image_sha256"
                " WHERE g.run_id = ? ORDER BY g.created_at, g.id",
                [run_id],
            )
            return records(RunCell, cursor)

    # -- reads --------------------------------------------------------------------------------
    @overload
    def page(
        self, f: HistoryFilter, *, limit: int = ..., offset: int = ...,
        every_column: Literal[False] = ...,
    ) -> list[GenerationListItem]: ...

    @overload
    def page(
        self, f: HistoryFilter, *, limit: int = ..., offset: int = ..., every_column: Literal[True]
    ) -> list[Generation]: ...

    def page(
        self, f: HistoryFilter, *, limit: int = 50, offset: int = 0, every_column: bool = False
    ) -> list[GenerationListItem] | list[Generation]:
        """One page of the log; `every_column` gives every logged column (for exports)."""
        where, params = filter_sql(f)
        order, order_params = order_sql(f)
        columns = f"{_GENERATION_COLUMNS}, {_IMAGE_COLUMNS}" if every_column else _LIST_COLUMNS
        with self.db.cursor() as cur:
            bound = sort_bound_sql(f, where, params, int(limit) + int(offset))
            value = cur.execute(*bound).fetchone() if bound else None
            if value is not None and value[0] is not None:
                clause, extra = sort_bound_clause(f, value[0])
                where = f"{where} AND {clause}" if where else f" WHERE {clause}"
                params = [*params, *extra]
            cursor = cur.execute(
                _page_sql(where, order, columns),
                [*params, *order_params, int(limit), int(offset), *order_params],
            )
            if every_column:
                return records(Generation, cursor)
            return records(GenerationListItem, cursor)

    def count(self, f: HistoryFilter) -> int:
        # PostgreSQL counts a million rows slowly; a filter on the summary's columns only (the
        # History page's default) is answered from it, exactly (see store.performance).
        table = "generations"
        if self.db.dialect == "postgres" and (plain := summary_filter(self.db, f)):
            table, f = "generation_summary", plain
        where, params = filter_sql(f)
        sql = "SELECT coalesce(sum(n), 0)" if table != "generations" else "SELECT count(*)"
        with self.db.cursor() as cur:
            row = cur.execute(f"{sql} FROM {table} g{where}", params).fetchone()
        return int(one_row(row, "the generation count")[0])

    def get(self, generation_id: str) -> Generation | None:
        with self.db.cursor() as cur:
            cursor = cur.execute(
                f"SELECT {_GENERATION_COLUMNS}, {_IMAGE_COLUMNS}"
                " FROM generations g LEFT JOIN images i ON i.sha256 = g.image_sha256"
                " WHERE g.id = ?",
                [generation_id],
            )
            return first_record(Generation, cursor)

    def with_images(self) -> list[Generation]:
        """Every succeeded attempt with a stored image, oldest first (to measure them again)."""
        with self.db.cursor() as cur:
            cursor = cur.execute(
                f"SELECT {_GENERATION_COLUMNS}, {_IMAGE_COLUMNS} FROM generations g"
                " JOIN images i ON i.sha256 = g.image_sha256 WHERE g.status = 'succeeded'"
                " ORDER BY g.created_at, g.id"
            )
            return records(Generation, cursor)

    def choices(self) -> dict[str, list[str]]:
        """Distinct values for the filter widgets: from one scan in DuckDB; on PostgreSQL by
        skipping through each column's index (one probe per distinct value, not a scan of a
        million rows). Remembered while nothing is written (store.memo): every History rerun
        asks."""
        return self.memo.read("choices", self._choices)

    def _choices(self) -> dict[str, list[str]]:
        if self.db.dialect == "postgres":
            columns = ("model", "provider", "template_id", "status", "category")
            with self.db.cursor() as cur:
                row = cur.execute(
                    "SELECT " + ", ".join(_skip_scan(c) for c in columns)
                ).fetchone()
            values = one_row(row, "the generation filter options")
            keys = ("models", "providers", "templates", "statuses", "categories")
            return {k: list(v or []) for k, v in zip(keys, values, strict=True)}
        with self.db.cursor() as cur:
            row = cur.execute(
                "SELECT array_agg(DISTINCT model ORDER BY model), array_agg(DISTINCT provider"
                " ORDER BY provider), array_agg(DISTINCT template_id ORDER BY template_id)"
                " FILTER (WHERE template_id IS NOT NULL), array_agg(DISTINCT status ORDER BY"
                " status), array_agg(DISTINCT category ORDER BY category) FILTER (WHERE category"
                " IS NOT NULL) FROM generations"
            ).fetchone()
        keys = ("models", "providers", "templates", "statuses", "categories")
        values = one_row(row, "the generation filter options")
        return {k: list(v or []) for k, v in zip(keys, values, strict=True)}

    def status_counts(self) -> dict[str, int]:
        with self.db.cursor() as cur:
            rows = cur.execute(
                "SELECT status, count(*) FROM generations GROUP BY status"
            ).fetchall()
        return {status: int(n) for status, n in rows}
