"""Star ratings: append-only rows (the newest per generation, criterion and rater wins) and
their per-model aggregates for the leaderboard."""

from __future__ import annotations

from typing import Any

from workbench.domain.filters import HistoryFilter
from workbench.store.db import Backend, utcnow
from workbench.store.memo import ReadMemo
from workbench.store.queries import ARCHIVED_IDS, filter_sql, ratings_sql
from workbench.store.records import StarsByModel, records

_RATING_COLUMNS = {"models", "providers", "include_offline", "raters"}


def needs_log(f: HistoryFilter) -> bool:
    """Whether the filter names anything a rating row does not carry."""
    defaults = HistoryFilter()
    return any(
        getattr(f, name) != getattr(defaults, name)
        for name in HistoryFilter.model_fields
        if name not in _RATING_COLUMNS and name not in ("sort", "judge_model")
    )


def rated_source(f: HistoryFilter) -> tuple[str, list[Any]]:
    """The latest ratings that count under `f`, as a FROM clause whose rows answer to `g` (for
    `filter_sql`'s WHERE), with its parameters. A filter on what a rating row carries itself
    (model, provider) needs no join with the log: the ratings then stand in for `g` (half the
    time at 1M rows)."""
    ratings, params = ratings_sql(f)
    if needs_log(f):
        return f"{ratings} r JOIN generations g ON g.id = r.generation_id", params
    # `g.id` names the generation and `g.archived` says what the log's copy says (the archive
    # clause reads it), as in the log
    return (
        "(SELECT generation_id AS id, generation_id, criterion, stars, rater, model, provider,"
        f" generation_id IN ({ARCHIVED_IDS}) AS archived FROM {ratings} lr) g", params
    )


def _append(cur: Any, generation_id: str, criterion: str, stars: int | None, rater: str) -> None:
    """One ratings row (None stars: the rating cleared), with the generation's model and
    provider copied in (the boards group ratings by them without joining the log)."""
    found = cur.execute(
        "SELECT model, provider FROM generations WHERE id = ?", [generation_id]
    ).fetchone()
    if not found:
        raise KeyError(f"No generation {generation_id}")
    cur.execute(
        "INSERT INTO ratings (id, generation_id, criterion, stars, rater, created_at,"
        " model, provider) VALUES (nextval('ratings_id_seq'), ?, ?, ?, ?, ?, ?, ?)",
        [generation_id, criterion, stars, rater, utcnow(), *found],
    )


class RatingLog:
    def __init__(self, db: Backend) -> None:
        self.db = db
        self.memo = ReadMemo(db)

    def add(self, generation_id: str, criterion: str, stars: int, rater: str = "me") -> None:
        with self.db.cursor() as cur:
            _append(cur, generation_id, criterion, int(stars), rater)

    def change(
        self, generation_id: str, criterion: str, stars: int | None, rater: str = "me"
    ) -> bool:
        """A rating action: set `stars` (1-5) or clear them (None) for this generation,
        criterion and rater. Appends one row only when that changes what counts, so a repeated
        or replayed action writes nothing; returns whether a row was written."""
        with self.db.transaction() as cur:
            row = cur.execute(
                "SELECT stars FROM ratings WHERE generation_id = ? AND criterion = ? AND rater = ?"
                " ORDER BY created_at DESC, id DESC LIMIT 1",
                [generation_id, criterion, rater],
            ).fetchone()
            current = None if row is None or row[0] is None else int(row[0])
            if current == stars:
                return False
            _append(cur, generation_id, criterion, None if stars is None else int(stars), rater)
        return True

    def latest_for(self, generation_id: str, rater: str = "me") -> dict[str, int]:
        with self.db.cursor() as cur:
            rows = cur.execute(
                "SELECT criterion, stars FROM latest_ratings WHERE generation_id = ? AND rater = ?",
                [generation_id, rater],
            ).fetchall()
        return {criterion: int(stars) for criterion, stars in rows}

    def means(self, generation_ids: list[str]) -> dict[str, float]:
        """The mean of the latest stars (every criterion and rater) per generation, for these
        ids: the `rating` a page of the log carries (store.generations), for exports that read
        generations one by one. Generations without ratings are left out."""
        if not generation_ids:
            return {}
        marks = ", ".join("?" for _ in generation_ids)
        with self.db.cursor() as cur:
            rows = cur.execute(
                "SELECT generation_id, avg(stars) FROM latest_ratings"
                f" WHERE generation_id IN ({marks}) GROUP BY generation_id",
                list(generation_ids),
            ).fetchall()
        return {gid: float(mean) for gid, mean in rows if mean is not None}

    def by_model(self, f: HistoryFilter) -> list[StarsByModel]:
        """Per model and criterion: n, mean and sample standard deviation of the stars."""
        return self.memo.read(("stars", f.model_dump_json()), lambda: self._by_model(f))

    def _by_model(self, f: HistoryFilter) -> list[StarsByModel]:
        where, params = filter_sql(f)
        source, rating_params = rated_source(f)
        sql = (
            "SELECT g.model, criterion, count(*) AS n, avg(stars) AS mean,"
            " stddev_samp(stars) AS sd"
            f" FROM {source}{where} GROUP BY g.model, criterion ORDER BY g.model, criterion"
        )
        with self.db.cursor() as cur:
            return records(StarsByModel, cur.execute(sql, [*rating_params, *params]))

    def raters(self) -> list[str]:
        """Everyone who has rated or voted, for the rater filter."""
        with self.db.cursor() as cur:
            rows = cur.execute(
                "SELECT rater FROM ratings UNION SELECT rater FROM votes ORDER BY rater"
            ).fetchall()
        return [row[0] for row in rows]
