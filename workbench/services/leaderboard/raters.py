"""What the log says about the people judging: who has rated or voted, each rater's own
consistency in the arena, and how far different raters agree with each other.

- `rater_names`: everyone with a rating or a vote, for the Leaderboard's rater filter.
- `consistency_by_rater`: per rater, position bias and repeated pairs decided the same way (the
  figures `aggregates.consistency` gives for everyone, with the filter narrowed to one rater).
- `agreement`: Krippendorff's α (ordinal: stars are ordered, their spacing is not known to be
  even) over the star ratings of each criterion, a unit being one generation rated by two or
  more raters; and, for arena votes, the share of image pairs two raters decided the same way.
  The formulas are in `workbench.stats.agreement`.

The two queries here count in the database and send back tallies grouped by shape (units with
the same star counts, pairs with the same split of decisions), so what crosses to Python stays
small however large the overlap; `workbench.stats.agreement` turns the tallies into figures.
Imported votes carry no image ids and cannot be matched to a pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.domain.criteria import load_criteria
from workbench.domain.filters import HistoryFilter
from workbench.services.leaderboard.aggregates import Consistency, consistency
from workbench.services.workbench import Workbench
from workbench.stats.agreement import (
    Alpha,
    PairAgreement,
    agreement_from_tallies,
    alpha_from_counts,
)
from workbench.store.queries import filter_sql, ratings_sql
from workbench.store.ratings import _needs_log as needs_log
from workbench.store.votes import vote_filter_sql

STARS = (1, 2, 3, 4, 5)  # the star scale ratings are validated against (services.ratings)


def rater_names(wb: Workbench) -> list[str]:
    """Everyone who has rated or voted, sorted."""
    return wb.ratings.raters()


def consistency_by_rater(wb: Workbench, f: HistoryFilter) -> list[tuple[str, Consistency]]:
    """(rater, consistency) for each rater with arena votes in the selection (the chosen raters
    when the filter names some)."""
    names = list(f.raters) or rater_names(wb)
    out = []
    with wb.db.cursor():  # one connection for the whole table
        for name in names:
            figures = consistency(wb, f.model_copy(update={"raters": (name,)}))
            if figures.position.n or figures.agreement.n:
                out.append((name, figures))
    return out


@dataclass(frozen=True)
class Agreement:
    stars: dict[str, Alpha]  # criterion id -> α over its star ratings
    votes: PairAgreement  # every criterion: an image pair on one criterion is one item
    votes_by_criterion: dict[str, PairAgreement]
    criterion_labels: dict[str, str]

    def rows(self) -> list[dict[str, str]]:
        """One row per criterion with any overlap, as the page shows them."""
        rows = []
        for cid, label in self.criterion_labels.items():
            alpha, pairs = self.stars.get(cid), self.votes_by_criterion.get(cid)
            if (alpha is None or not alpha.units) and (pairs is None or not pairs.pairs):
                continue
            rows.append({
                "Criterion": label,
                "Stars: Krippendorff's α (ordinal)": alpha.text() if alpha else "no overlap",
                "Votes: same decision": pairs.text() if pairs else "no overlap",
            })
        return rows


def _rating_units(wb: Workbench, f: HistoryFilter) -> dict[str, list[tuple[dict[float, int], int]]]:
    """Per criterion, the star counts of each generation that two or more raters rated (each
    rater's newest rating), grouped: (stars -> raters who gave them, generations alike)."""
    ratings, rating_params = ratings_sql(f)
    where, params = filter_sql(f)
    # A filter on what a rating row carries itself (model, provider) needs no join with the
    # log: the ratings then stand in for `g`, as in `RatingLog.by_model` (half the time at 1M).
    source = (
        f"{ratings} lr JOIN generations g ON g.id = lr.generation_id"
        if needs_log(f)
        else f"{ratings} g"
    )
    counts = ", ".join(f"sum(CASE WHEN stars = {v} THEN 1 ELSE 0 END) AS s{v}" for v in STARS)
    columns = ", ".join(f"s{v}" for v in STARS)
    sql = (
        f"WITH r AS (SELECT criterion, generation_id, stars FROM {source}{where}),"
        # latest_ratings holds one row per generation, criterion and rater
        f" u AS (SELECT criterion, {counts} FROM r GROUP BY criterion, generation_id"
        " HAVING count(*) >= 2)"
        f" SELECT criterion, {columns}, count(*) FROM u GROUP BY criterion, {columns}"
    )
    with wb.db.cursor() as cur:
        rows: list[Any] = cur.execute(sql, [*rating_params, *params]).fetchall()
    out: dict[str, list[tuple[dict[float, int], int]]] = {}
    for criterion, *tally, same in rows:
        values = {float(v): int(n) for v, n in zip(STARS, tally, strict=True) if n}
        out.setdefault(criterion, []).append((values, int(same)))
    return out


def _vote_tallies(wb: Workbench, f: HistoryFilter) -> dict[str, list[tuple[int, int, int]]]:
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
        " o AS (SELECT criterion, a, b, count(*) AS n FROM j GROUP BY criterion, a, b, decided),"
        " i AS (SELECT criterion, sum(n) AS m, sum(n * n) AS squares FROM o"
        " GROUP BY criterion, a, b HAVING sum(n) >= 2)"
        " SELECT criterion, m, squares, count(*) FROM i GROUP BY criterion, m, squares"
    )
    with wb.db.cursor() as cur:
        rows: list[Any] = cur.execute(sql, params).fetchall()
    out: dict[str, list[tuple[int, int, int]]] = {}
    for criterion, m, squares, items in rows:
        out.setdefault(criterion, []).append((int(m), int(squares), int(items)))
    return out


def agreement(wb: Workbench, f: HistoryFilter) -> Agreement:
    """Inter-rater agreement in the selection, per criterion (see the module docstring)."""
    with wb.db.cursor():
        units = _rating_units(wb, f)
        tallies = _vote_tallies(wb, f)
    labels = {c.id: c.label for c in load_criteria()}
    for cid in [*units, *tallies]:
        labels.setdefault(cid, cid)
    return Agreement(
        stars={cid: alpha_from_counts(per, "ordinal") for cid, per in units.items()},
        votes=agreement_from_tallies(t for per in tallies.values() for t in per),
        votes_by_criterion={cid: agreement_from_tallies(per) for cid, per in tallies.items()},
        criterion_labels=labels,
    )
