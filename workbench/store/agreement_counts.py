"""The counts behind inter-rater agreement, done in the database so that only small tallies
come back: per criterion, how the stars of images rated by two or more people fall, and per
image pair judged by two or more people in the Arena, how their first decisions agree. The
formulas that turn these into Krippendorff's alpha and a share live in `stats.agreement`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbench.domain.filters import HistoryFilter
from workbench.store.db import Backend
from workbench.store.queries import filter_sql
from workbench.store.ratings import rated_source
from workbench.store.votes import vote_filter_sql


class AgreementLog:
    def __init__(self, db: Backend) -> None:
        self.db = db

    def star_units(
        self, f: HistoryFilter, stars: Sequence[int]
    ) -> dict[str, list[tuple[dict[float, int], int]]]:
        """Per criterion, the star counts of each generation that two or more raters rated (each
        rater's newest rating), grouped: (stars -> raters who gave them, generations alike)."""
        source, rating_params = rated_source(f)
        where, params = filter_sql(f)
        # `stars` is the fixed scale (integers from code), so it may shape the SQL
        counts = ", ".join(
            f"sum(CASE WHEN stars = {int(v)} THEN 1 ELSE 0 END) AS s{int(v)}" for v in stars
        )
        columns = ", ".join(f"s{int(v)}" for v in stars)
        sql = (
            f"WITH r AS (SELECT criterion, generation_id, stars FROM {source}{where}),"
            # latest_ratings holds one row per generation, criterion and rater
            f" u AS (SELECT criterion, {counts} FROM r GROUP BY criterion, generation_id"
            " HAVING count(*) >= 2)"
            f" SELECT criterion, {columns}, count(*) FROM u GROUP BY criterion, {columns}"
        )
        with self.db.cursor() as cur:
            rows: list[Any] = cur.execute(sql, [*rating_params, *params]).fetchall()
        out: dict[str, list[tuple[dict[float, int], int]]] = {}
        for criterion, *tally, same in rows:
            values = {float(v): int(n) for v, n in zip(stars, tally, strict=True) if n}
            out.setdefault(criterion, []).append((values, int(same)))
        return out


    def vote_tallies(self, f: HistoryFilter) -> dict[str, list[tuple[int, int, int]]]:
        """Per criterion, for the image pairs two or more raters judged in the arena: (raters,
        Σ over outcomes of raters² choosing it, pairs alike), counting each rater's first vote."""
        where, params = vote_filter_sql(f)
        ids = "v.left_generation_id IS NOT NULL AND v.right_generation_id IS NOT NULL"
        where = f"{where} AND {ids}" if where else f" WHERE {ids}"
        a = "least(v.left_generation_id, v.right_generation_id)"
        b = "greatest(v.left_generation_id, v.right_generation_id)"
        sql = (
            # each rater's first vote on an image pair (ids grow with time)
            f"WITH firsts AS (SELECT min(v.id) AS id FROM votes v{where}"
            f" GROUP BY v.criterion, {a}, {b}, v.rater),"
            # its outcome as `bradley_terry.outcome` names it: the winning image, or a draw
            f" j AS (SELECT v.criterion, {a} AS a, {b} AS b,"
            " CASE v.winner WHEN 'left' THEN v.left_generation_id"
            " WHEN 'right' THEN v.right_generation_id ELSE 'draw' END AS decided"
            " FROM votes v JOIN firsts ON firsts.id = v.id),"
            " o AS (SELECT criterion, a, b, count(*) AS n FROM j"
            " GROUP BY criterion, a, b, decided),"
            " i AS (SELECT criterion, sum(n) AS m, sum(n * n) AS squares FROM o"
            " GROUP BY criterion, a, b HAVING sum(n) >= 2)"
            " SELECT criterion, m, squares, count(*) FROM i GROUP BY criterion, m, squares"
        )
        with self.db.cursor() as cur:
            rows: list[Any] = cur.execute(sql, params).fetchall()
        out: dict[str, list[tuple[int, int, int]]] = {}
        for criterion, m, squares, items in rows:
            out.setdefault(criterion, []).append((int(m), int(squares), int(items)))
        return out
