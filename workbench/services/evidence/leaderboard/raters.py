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

from workbench.domain.criteria import load_criteria
from workbench.domain.filters import HistoryFilter
from workbench.services.evidence.leaderboard.aggregates import Consistency, consistency
from workbench.services.workbench import Workbench
from workbench.stats.agreement import (
    Alpha,
    PairAgreement,
    agreement_from_tallies,
    alpha_from_counts,
)
from workbench.store.agreement_counts import AgreementLog

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


def agreement(wb: Workbench, f: HistoryFilter) -> Agreement:
    """Inter-rater agreement in the selection, per criterion (see the module docstring)."""
    with wb.db.cursor():
        units = AgreementLog(wb.db).star_units(f, STARS)
        tallies = AgreementLog(wb.db).vote_tallies(f)
    labels = {c.id: c.label for c in load_criteria()}
    for cid in [*units, *tallies]:
        labels.setdefault(cid, cid)
    return Agreement(
        stars={cid: alpha_from_counts(per, "ordinal") for cid, per in units.items()},
        votes=agreement_from_tallies(t for per in tallies.values() for t in per),
        votes_by_criterion={cid: agreement_from_tallies(per) for cid, per in tallies.items()},
        criterion_labels=labels,
    )
