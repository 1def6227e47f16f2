"""The Leaderboard for one filter: the data the page shows (vote counts and Bradley–Terry fits
per criterion, star summaries, measured columns, display names) and `build_leaderboard`, which
reads it in one connection. Its frames live in `frames`, its verdict table in `verdict`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from workbench.domain.criteria import Criterion, load_criteria
from workbench.domain.filters import HistoryFilter
from workbench.services.evidence.leaderboard import frames
from workbench.services.evidence.leaderboard.aggregates import (
    Measured,
    contestant_names,
    counts_by_criterion,
    leaderboard_filter,
    measured,
    stars,
)
from workbench.services.evidence.leaderboard.fits import FITS
from workbench.services.evidence.leaderboard.verdict import VerdictTable, verdict_table
from workbench.services.workbench import Workbench
from workbench.stats.bradley_terry import (
    BOOTSTRAP_ROUNDS,
    BOOTSTRAP_SEED,
    MIN_VOTES,
    BTResult,
    PairCounts,
    rate,
)
from workbench.stats.ratings import StarSummary


@dataclass
class Leaderboard:
    filter: HistoryFilter
    min_votes: int
    criteria: tuple[Criterion, ...]
    counts: dict[str, PairCounts]
    voted: dict[str, BTResult]
    stars: dict[tuple[str, str], StarSummary]
    measured: dict[str, Measured]
    names: dict[str, str] = field(default_factory=dict)

    @property
    def models(self) -> tuple[str, ...]:
        found: set[str] = set(self.measured)
        found.update(m for m, _ in self.stars)
        for counts in self.counts.values():
            found.update(counts.models)
        return tuple(sorted(found))

    @property
    def is_empty(self) -> bool:
        return not (self.counts or self.stars or self.measured)

    def criterion_label(self, criterion: str) -> str:
        for c in self.criteria:
            if c.id == criterion:
                return c.label
        return criterion

    def result(self, criterion: str) -> BTResult:
        """The Bradley–Terry table of a criterion (an empty one, with a message, if no votes)."""
        if criterion in self.voted:
            return self.voted[criterion]
        return rate(PairCounts.empty(), min_votes=self.min_votes)

    def bt_frame(self, criterion: str) -> pd.DataFrame:
        return frames.bt_frame(self.result(criterion), self.names)

    def stars_frame(self) -> pd.DataFrame:
        return frames.stars_frame(self)

    def measured_frame(self) -> pd.DataFrame:
        return frames.measured_frame(self)

    def overview_frame(self) -> pd.DataFrame:
        return frames.overview_frame(self)

    def overview_numeric(self) -> pd.DataFrame:
        return frames.overview_numeric(self)

    def verdict(
        self, models: Sequence[str], criteria: Iterable[str] | None = None,
        measures: bool = True,
    ) -> VerdictTable:
        """The seed's table for the chosen models (contestant names, in the given order)."""
        wanted = list(criteria) if criteria is not None else [c.id for c in self.criteria]
        return verdict_table(
            self.voted, self.stars, self.measured, models, self.names,
            [(cid, self.criterion_label(cid)) for cid in wanted], measures,
        )

    def score_vs(
        self, criterion: str, measure: Literal["cost", "latency"] = "cost",
        source: Literal["votes", "stars"] = "votes",
    ) -> pd.DataFrame:
        return frames.score_vs(self, criterion, measure, source)

    def win_rate_frame(self, criterion: str) -> pd.DataFrame:
        return frames.win_rate_frame(self, criterion)

    def vote_count_frame(self, criterion: str) -> pd.DataFrame:
        return frames.vote_count_frame(self, criterion)


def build_leaderboard(
    wb: Workbench, f: HistoryFilter | None = None, *, min_votes: int = MIN_VOTES,
    rounds: int = BOOTSTRAP_ROUNDS, seed: int = BOOTSTRAP_SEED,
) -> Leaderboard:
    """Everything the Leaderboard page shows for one filter."""
    f = f if f is not None else leaderboard_filter()
    with wb.db.cursor():  # one connection for the few queries below
        counts = counts_by_criterion(wb, f)
        star_cells = stars(wb, f)
        measures = measured(wb, f)
    voted = {c: FITS.rate(pc, min_votes, rounds, seed) for c, pc in counts.items()}
    board = Leaderboard(
        filter=f, min_votes=min_votes, criteria=load_criteria(), counts=counts, voted=voted,
        stars=star_cells, measured=measures,
    )
    board.names = contestant_names(wb, board.models)
    return board
