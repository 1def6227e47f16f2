"""Rating maths: star-score summaries with 95% intervals, mapped to the verdict scale.

Pure functions (no database, no UI) so they are tested on numbers alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from workbench.domain.criteria import verdict

MIN_RATINGS = 3  # below this a mean is shown with its interval but gets no verdict label

# Two-sided 95% Student t critical values by degrees of freedom.
_T95 = {
    1: 12.706,
    2: 4.303,
    3: 3.182,
    4: 2.776,
    5: 2.571,
    6: 2.447,
    7: 2.365,
    8: 2.306,
    9: 2.262,
    10: 2.228,
    12: 2.179,
    15: 2.131,
    20: 2.086,
    25: 2.060,
    30: 2.042,
    40: 2.021,
    60: 2.000,
    120: 1.980,
}


def t95(df: int) -> float:
    if df < 1:
        raise ValueError("need at least one degree of freedom")
    if df in _T95:
        return _T95[df]
    if df > 120:
        return 1.96 + (_T95[120] - 1.96) * 120 / df
    below = max(k for k in _T95 if k < df)
    above = min(k for k in _T95 if k > df)
    # t is close to linear in 1/df between table rows
    w = (1 / df - 1 / above) / (1 / below - 1 / above)
    return _T95[above] + w * (_T95[below] - _T95[above])


@dataclass(frozen=True)
class StarSummary:
    n: int
    mean: float
    low: float
    high: float

    @property
    def enough(self) -> bool:
        return self.n >= MIN_RATINGS

    @property
    def label(self) -> str:
        return verdict(self.mean) if self.enough else "not enough ratings"

    def text(self) -> str:
        if self.n == 1:
            return f"{self.mean:.1f} (n=1)"
        return f"{self.mean:.2f} [{self.low:.1f}–{self.high:.1f}] n={self.n}"


def summarise_stars(n: int, mean: float, sd: float | None) -> StarSummary:
    """Mean with a t-interval on 1-5 stars, clipped to the scale (n=1 spans the whole scale)."""
    if n <= 0 or mean is None or math.isnan(mean):
        raise ValueError("no ratings to summarise")
    if n == 1 or sd is None or math.isnan(sd):
        return StarSummary(n, mean, 1.0, 5.0)
    half = t95(n - 1) * sd / math.sqrt(n)
    return StarSummary(n, mean, max(1.0, mean - half), min(5.0, mean + half))
