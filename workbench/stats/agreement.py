"""Inter-rater agreement: how far different people judge the same thing the same way.

Two figures, both with their n so a reader can weigh them:

- `krippendorff_alpha`: Krippendorff's α over star ratings of one criterion. A *unit* is one
  generation; its values are the stars each rater gave it (each rater's newest rating). Only
  units with values from two or more raters carry information ("pairable" units). α = 1 − Dₒ/Dₑ:
  1 is perfect agreement, 0 is what raters assigning stars at random (with the same overall
  distribution of stars) would reach, below 0 is systematic disagreement. Computed through the
  coincidence matrix as in K. Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability",
  https://repository.upenn.edu/asc_papers/43 , with the nominal, ordinal and interval difference
  functions given there (its section C worked example is the test).
- `pair_agreement`: for blind pairwise votes, among image pairs that two different raters
  judged on the same criterion, the share of rater-pairs that decided them the same way (the
  same image won, or both called it a draw).

No figure is made up: below `MIN_OVERLAP` units (or compared pairs) the result says so and
carries no number, and α is undefined (None) when every pairable value is the same (Dₑ = 0).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from workbench.stats.bradley_terry import Proportion

Level = Literal["nominal", "ordinal", "interval"]
Rater = TypeVar("Rater", bound=Hashable)
# Fewer units rated by two or more raters than this and α is not shown: with a handful of
# units one disagreement swings it by tenths (Krippendorff 2011 recommends far more data
# before relying on α; this only keeps an obviously meaningless number off the page).
MIN_OVERLAP = 5


@dataclass(frozen=True)
class Alpha:
    """Krippendorff's α for one set of units, with the evidence behind it."""

    alpha: float | None  # None: not enough overlap, or no variation to disagree about
    units: int  # pairable units: rated by two or more raters
    values: int  # pairable values (n.. in Krippendorff's notation)
    min_overlap: int = MIN_OVERLAP

    @property
    def enough(self) -> bool:
        return self.units >= self.min_overlap

    def text(self) -> str:
        if not self.enough:
            return f"not enough overlap yet (n = {self.units}; needs {self.min_overlap})"
        if self.alpha is None:
            return f"no variation to measure (every rating the same; n = {self.units})"
        return f"α = {self.alpha:.2f} (n = {self.units})"


def _difference(level: Level, values: Sequence[float], totals: Mapping[float, float]
                ) -> dict[tuple[float, float], float]:
    """δ²(c, k) for every pair of values that occur (Krippendorff 2011, sections C–E)."""
    diff: dict[tuple[float, float], float] = {}
    for c in values:
        for k in values:
            if level == "nominal":
                d = 0.0 if c == k else 1.0
            elif level == "interval":
                d = (c - k) ** 2
            else:  # ordinal: the number of pairable values between c and k, halving the ends
                low, high = min(c, k), max(c, k)
                between = sum(n for g, n in totals.items() if low <= g <= high)
                d = (between - (totals[c] + totals[k]) / 2) ** 2
            diff[c, k] = d
    return diff


def krippendorff_alpha(
    units: Iterable[Mapping[Rater, float]], level: Level = "ordinal",
    *, min_overlap: int = MIN_OVERLAP,
) -> Alpha:
    """α over units, each a mapping rater -> value (a rater with no value is simply absent).

    Units with fewer than two values are not pairable and are ignored, as in the paper."""
    counted: dict[tuple[tuple[float, int], ...], int] = {}
    for unit in units:
        tally: dict[float, int] = {}
        for value in unit.values():
            tally[value] = tally.get(value, 0) + 1
        key = tuple(sorted(tally.items()))
        counted[key] = counted.get(key, 0) + 1
    return alpha_from_counts(
        ((dict(key), same) for key, same in counted.items()), level, min_overlap=min_overlap
    )


def alpha_from_counts(
    units: Iterable[tuple[Mapping[float, int], int]], level: Level = "ordinal",
    *, min_overlap: int = MIN_OVERLAP,
) -> Alpha:
    """α from each unit's value counts (value -> how many raters gave it), each with the
    number of units that have exactly those counts: identical units collapse, so a database
    can send them grouped. Units with fewer than two values are ignored.

    A unit u with m_u values adds n_uc · (n_uk − [c = k]) / (m_u − 1) to the coincidence
    o_ck: every ordered pair of its values, each value pairing with the m_u − 1 others."""
    coincidences: dict[tuple[float, float], float] = {}
    pairable = 0
    for counts, same in units:
        m = sum(counts.values())
        if m < 2 or same <= 0:
            continue
        pairable += same
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                pairs = n_c * (n_k - (1 if c == k else 0))
                if pairs:
                    coincidences[c, k] = coincidences.get((c, k), 0.0) + same * pairs / (m - 1)
    totals: dict[float, float] = {}
    for (c, _k), o in coincidences.items():
        totals[c] = totals.get(c, 0.0) + o
    n = sum(totals.values())
    if pairable < min_overlap:
        return Alpha(None, pairable, round(n), min_overlap)
    seen = sorted(totals)
    diff = _difference(level, seen, totals)
    observed = sum(o * diff[c, k] for (c, k), o in coincidences.items())
    expected = sum(totals[c] * totals[k] * diff[c, k] for c in seen for k in seen)
    # alpha = 1 - D_o / D_e with D_o = observed / n and D_e = expected / (n (n - 1))
    alpha = None if expected == 0 else 1.0 - (n - 1) * observed / expected
    return Alpha(alpha, pairable, round(n), min_overlap)


@dataclass(frozen=True)
class PairAgreement:
    """Blind pairwise votes of different raters on the same image pair and criterion."""

    same: Proportion  # rater-pairs who decided an image pair the same way, of those compared
    pairs: int  # image pairs (per criterion) judged by two or more raters
    min_overlap: int = MIN_OVERLAP

    @property
    def enough(self) -> bool:
        return self.pairs >= self.min_overlap

    def text(self) -> str:
        if not self.enough:
            return f"not enough overlap yet (n = {self.pairs}; needs {self.min_overlap})"
        return (
            f"{self.same.text()} rater-pairs decided the same way "
            f"(n = {self.pairs} image pairs)"
        )


def pair_agreement(
    decisions: Iterable[tuple[Hashable, Hashable, str]], *, min_overlap: int = MIN_OVERLAP
) -> PairAgreement:
    """Agreement over (item, rater, outcome) decisions.

    An item is one image pair on one criterion, named the same whichever side each image was
    shown on; the outcome is side-independent too (`bradley_terry.outcome`). A rater's first
    decision on an item counts: later ones are repeats, which measure that rater's own
    consistency, not agreement between people."""
    by_item: dict[Hashable, dict[Hashable, str]] = {}
    for item, rater, decided in decisions:
        by_item.setdefault(item, {}).setdefault(rater, decided)
    tallies: dict[tuple[int, int], int] = {}
    for outcomes in by_item.values():
        per_outcome: dict[str, int] = {}
        for decided in outcomes.values():
            per_outcome[decided] = per_outcome.get(decided, 0) + 1
        key = (len(outcomes), sum(n * n for n in per_outcome.values()))
        tallies[key] = tallies.get(key, 0) + 1
    return agreement_from_tallies(
        ((m, squares, items) for (m, squares), items in tallies.items()), min_overlap=min_overlap
    )


def agreement_from_tallies(
    tallies: Iterable[tuple[int, int, int]], *, min_overlap: int = MIN_OVERLAP
) -> PairAgreement:
    """Agreement from per-item tallies (m raters, Σ n_o² over the outcomes they chose, number of
    items with that tally), as a database can send them grouped. Every two raters of an item
    are one comparison, m(m − 1)/2 of them; the agreeing ones are Σ n_o(n_o − 1)/2, which is
    (Σ n_o² − m)/2. Items judged by fewer than two raters are ignored."""
    hits = total = pairs = 0
    for m, squares, items in tallies:
        if m < 2 or items <= 0:
            continue
        pairs += items
        total += items * m * (m - 1) // 2
        hits += items * (squares - m) // 2
    return PairAgreement(Proportion(hits, total), pairs, min_overlap)
