"""What the leaderboard reads from the log, per model and filter: the leaderboard's filter and
its offline split, measured speed, cost and failure rates, star summaries, vote counts per
criterion, per-category Bradley–Terry tables, rater consistency and display names.

Offline sketches compete under their own name ("model (offline sketch)"), never as the model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from workbench.domain.catalog import CatalogError
from workbench.domain.filters import HistoryFilter
from workbench.services.evidence.leaderboard.fits import FITS
from workbench.services.workbench import Workbench
from workbench.stats.bradley_terry import (
    BOOTSTRAP_ROUNDS,
    BOOTSTRAP_SEED,
    MIN_VOTES,
    BTResult,
    PairCounts,
    Proportion,
    outcome,
    position_bias,
    repeat_agreement,
)
from workbench.stats.ratings import StarSummary, summarise_stars
from workbench.store.votes import OFFLINE, OFFLINE_TAG, contestant

NO_CATEGORY = "(no category)"


# -- filters --------------------------------------------------------------------------------------
def leaderboard_filter(
    *, categories: Sequence[str] = (), templates: Sequence[str] = (),
    providers: Sequence[str] = (), models: Sequence[str] = (), date_from: date | None = None,
    date_to: date | None = None, include_offline: bool = False, raters: Sequence[str] = (),
) -> HistoryFilter:
    """The Leaderboard's filter; unlike the History page, offline sketches are out by default.
    `raters` limits the ratings and votes that count to those people's (empty: everyone's)."""
    return HistoryFilter(
        categories=tuple(categories), templates=tuple(templates), providers=tuple(providers),
        models=tuple(models), date_from=date_from, date_to=date_to,
        include_offline=include_offline, raters=tuple(raters),
    )


def split_offline(f: HistoryFilter) -> tuple[HistoryFilter, HistoryFilter | None]:
    """The filter for real model output, and the one for offline sketches when chosen."""
    real = f.model_copy(update={"include_offline": False})
    if f.include_offline and (not f.providers or OFFLINE in f.providers):
        return real, f.model_copy(update={"providers": (OFFLINE,)})
    return real, None


# -- what the log measured ------------------------------------------------------------------------
@dataclass(frozen=True)
class Measured:
    model: str  # contestant name
    attempts: int  # finished attempts: succeeded, failed or moderated
    succeeded: int
    failed: int
    moderated: int
    latency_median_s: float | None
    latency_p95_s: float | None
    cost_per_image_usd: float | None
    cost_has_estimates: bool

    @property
    def failure_rate(self) -> float | None:
        return self.failed / self.attempts if self.attempts else None

    @property
    def moderation_rate(self) -> float | None:
        return self.moderated / self.attempts if self.attempts else None


def _seconds(ms: Any) -> float | None:
    return None if ms is None or pd.isna(ms) else float(ms) / 1000.0


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def measured(wb: Workbench, f: HistoryFilter) -> dict[str, Measured]:
    out: dict[str, Measured] = {}
    real, sketches = split_offline(f)
    for part, provider in ((real, None), (sketches, OFFLINE)):
        if part is None:
            continue
        for row in wb.performance.by_model(part):
            name = contestant(row.model, provider)
            out[name] = Measured(
                model=name, attempts=int(row.attempts), succeeded=int(row.succeeded),
                failed=int(row.failed), moderated=int(row.moderated),
                latency_median_s=_seconds(row.latency_median_ms),
                latency_p95_s=_seconds(row.latency_p95_ms),
                cost_per_image_usd=_number(row.cost_per_image_usd),
                cost_has_estimates=bool(row.cost_has_estimates),
            )
    return out


def stars(wb: Workbench, f: HistoryFilter) -> dict[tuple[str, str], StarSummary]:
    """(contestant, criterion) -> mean, n and 95% interval of the latest star ratings."""
    out: dict[tuple[str, str], StarSummary] = {}
    real, sketches = split_offline(f)
    for part, provider in ((real, None), (sketches, OFFLINE)):
        if part is None:
            continue
        for row in wb.ratings.by_model(part):
            if not row.n:
                continue
            sd = _number(row.sd)
            out[(contestant(row.model, provider), row.criterion)] = summarise_stars(
                int(row.n), float(row.mean), sd
            )
    return out


# -- Bradley–Terry tables -------------------------------------------------------------------------
def counts_by_criterion(wb: Workbench, f: HistoryFilter) -> dict[str, PairCounts]:
    grouped: dict[str, list[tuple[str, str, str, int]]] = {}
    for criterion, a, b, winner, n in wb.tallies.pair_counts(f):
        grouped.setdefault(criterion, []).append((a, b, winner, n))
    return {c: PairCounts.from_rows(rows) for c, rows in grouped.items()}


@dataclass(frozen=True)
class CategoryBoard:
    category: str
    result: BTResult

    @property
    def shown(self) -> bool:
        """Small categories are hidden: shown only once a model there has enough votes."""
        return bool(self.result.ranked)


def category_boards(
    wb: Workbench, criterion: str, f: HistoryFilter | None = None, *,
    min_votes: int = MIN_VOTES, rounds: int = BOOTSTRAP_ROUNDS, seed: int = BOOTSTRAP_SEED,
) -> list[CategoryBoard]:
    """The Bradley–Terry table of `criterion` for every category that has votes."""
    f = f if f is not None else leaderboard_filter()
    grouped: dict[str, list[tuple[str, str, str, int]]] = {}
    for category, a, b, winner, n in wb.tallies.pair_counts_by_category(f, criterion):
        grouped.setdefault(category or NO_CATEGORY, []).append((a, b, winner, n))
    return [
        CategoryBoard(category, FITS.rate(PairCounts.from_rows(rows), min_votes, rounds, seed))
        for category, rows in sorted(grouped.items(), key=lambda kv: (kv[0] == NO_CATEGORY, kv[0]))
    ]


# -- rater consistency ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Consistency:
    position: Proportion  # left wins among decisive arena votes
    agreement: Proportion  # repeats with the same outcome as the first vote

    def lines(self) -> list[str]:
        return [
            f"Left image won {self.position.text()} decisive votes (50% means no position bias)."
            if self.position.n
            else "Left image won: no decisive (left or right) votes yet.",
            f"Repeated pairs judged the same way: {self.agreement.text()}.",
        ]


def consistency(
    wb: Workbench, f: HistoryFilter | None = None, criterion: str | None = None
) -> Consistency:
    f = f if f is not None else leaderboard_filter()
    tallies = wb.tallies
    with wb.db.cursor():
        pairs = tallies.repeats(f, criterion)
        winners = tallies.winners(f, criterion)
    repeats = [
        (outcome(w1, l1, r1), outcome(w2, l2, r2))
        for w1, l1, r1, w2, l2, r2 in pairs
        if l1 and r1 and l2 and r2
    ]
    return Consistency(position_bias(winners), repeat_agreement(repeats))


# -- names ----------------------------------------------------------------------------------------
def contestant_names(wb: Workbench, models: Iterable[str]) -> dict[str, str]:
    """Catalog display names for contestant names (sketches keep their tag)."""
    names = {}
    for model in models:
        base, tagged = (model[: -len(OFFLINE_TAG)], True) if model.endswith(OFFLINE_TAG) else (
            model, False)
        try:
            name = wb.catalog.model(base).name
        except CatalogError:
            name = base
        names[model] = name + OFFLINE_TAG if tagged else name
    return names
