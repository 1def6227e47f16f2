"""What the log says about the people judging: who has rated or voted, each rater's own
consistency in the arena, and how far different raters agree with each other.

- `raters`: everyone with a rating or a vote, for the Leaderboard's rater filter.
- `consistency_by_rater`: per rater, position bias and repeated pairs decided the same way (the
  figures `aggregates.consistency` gives for everyone, with the filter narrowed to one rater).
- `agreement`: Krippendorff's α (ordinal: stars are ordered, their spacing is not known to be
  even) over the star ratings of each criterion, a unit being one generation rated by two or
  more raters; and, for arena votes, the share of image pairs two raters decided the same way.
  The formulas are in `workbench.stats.agreement`.

The two queries here read only units that two or more raters judged, so their size follows the
overlap, not the whole log. Imported votes carry no image ids and cannot be matched to a pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.domain.criteria import load_criteria
from workbench.domain.filters import HistoryFilter
from workbench.services.leaderboard.aggregates import Consistency, consistency
from workbench.services.workbench import Workbench
from workbench.stats.agreement import Alpha, PairAgreement, krippendorff_alpha, pair_agreement
from workbench.stats.bradley_terry import outcome
from workbench.store.queries import filter_sql, ratings_sql
from workbench.store.votes import vote_filter_sql


def raters(wb: Workbench) -> list[str]:
    """Everyone who has rated or voted, sorted."""
    return wb.ratings.raters()


def consistency_by_rater(wb: Workbench, f: HistoryFilter) -> list[tuple[str, Consistency]]:
    """(rater, consistency) for each rater with arena votes in the selection (the chosen raters
    when the filter names some)."""
    names = list(f.raters) or raters(wb)
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


def _rating_units(wb: Workbench, f: HistoryFilter) -> list[tuple[str, str, str, int]]:
    """(criterion, generation id, rater, stars) of each rater's newest rating, for the
    generations and criteria that two or more raters rated."""
    ratings, rating_params = ratings_sql(f)
    where, params = filter_sql(f)
    sql = (
        "WITH r AS (SELECT lr.criterion, lr.generation_id, lr.rater, lr.stars"
        f" FROM {ratings} lr JOIN generations g ON g.id = lr.generation_id{where}),"
        " shared AS (SELECT criterion, generation_id FROM r GROUP BY criterion, generation_id"
        " HAVING count(DISTINCT rater) >= 2)"
        " SELECT r.criterion, r.generation_id, r.rater, r.stars FROM r"
        " JOIN shared ON shared.criterion = r.criterion"
        " AND shared.generation_id = r.generation_id"
    )
    with wb.db.cursor() as cur:
        rows: list[Any] = cur.execute(sql, [*rating_params, *params]).fetchall()
    return [(c, g, r, int(s)) for c, g, r, s in rows]


def _vote_items(wb: Workbench, f: HistoryFilter) -> list[tuple[str, str, str, str, str]]:
    """(criterion, rater, winner, left generation, right generation) of arena votes, oldest
    first, on the image pairs (per criterion) that two or more raters judged."""
    where, params = vote_filter_sql(f)
    ids = "v.left_generation_id IS NOT NULL AND v.right_generation_id IS NOT NULL"
    where = f"{where} AND {ids}" if where else f" WHERE {ids}"
    sql = (
        "WITH j AS (SELECT v.id, v.criterion, v.rater, v.winner, v.left_generation_id AS l,"
        " v.right_generation_id AS r,"
        " least(v.left_generation_id, v.right_generation_id) AS a,"
        f" greatest(v.left_generation_id, v.right_generation_id) AS b FROM votes v{where}),"
        " shared AS (SELECT criterion, a, b FROM j GROUP BY criterion, a, b"
        " HAVING count(DISTINCT rater) >= 2)"
        " SELECT j.criterion, j.rater, j.winner, j.l, j.r FROM j"
        " JOIN shared ON shared.criterion = j.criterion AND shared.a = j.a AND shared.b = j.b"
        " ORDER BY j.id"
    )
    with wb.db.cursor() as cur:
        rows: list[Any] = cur.execute(sql, params).fetchall()
    return [(c, rater, w, left, right) for c, rater, w, left, right in rows]


def agreement(wb: Workbench, f: HistoryFilter) -> Agreement:
    """Inter-rater agreement in the selection, per criterion (see the module docstring)."""
    with wb.db.cursor():
        rated = _rating_units(wb, f)
        voted = _vote_items(wb, f)
    units: dict[str, dict[str, dict[str, float]]] = {}
    for criterion, generation_id, rater, stars in rated:
        units.setdefault(criterion, {}).setdefault(generation_id, {})[rater] = float(stars)
    decisions: dict[str, list[tuple[tuple[str, frozenset[str]], str, str]]] = {}
    for criterion, rater, winner, left, right in voted:
        item = (criterion, frozenset((left, right)))
        decisions.setdefault(criterion, []).append((item, rater, outcome(winner, left, right)))
    labels = {c.id: c.label for c in load_criteria()}
    for cid in [*units, *decisions]:
        labels.setdefault(cid, cid)
    return Agreement(
        stars={cid: krippendorff_alpha(per.values(), "ordinal") for cid, per in units.items()},
        votes=pair_agreement(d for per in decisions.values() for d in per),
        votes_by_criterion={cid: pair_agreement(per) for cid, per in decisions.items()},
        criterion_labels=labels,
    )
