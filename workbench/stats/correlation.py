"""Agreement of a measurement with human ratings: Pearson and Spearman correlations and a Fisher
interval."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(1, len(values) + 1)
    # ties share the mean of their ranks
    uniq, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    if len(uniq) < len(values):
        sums = np.bincount(inverse, weights=ranks)
        ranks = (sums / counts)[inverse]
    return ranks


def pearson(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float | None:
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(a) < 3 or len(a) != len(b) or a.std() == 0 or b.std() == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Rank correlation (ties averaged); None below 3 points or when either side is constant."""
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(a) < 3 or len(a) != len(b):
        return None
    return pearson(_ranks(a), _ranks(b))


def correlation_interval(r: float | None, n: int) -> tuple[float, float] | None:
    """95% interval of a correlation by Fisher's z (for Spearman, an approximation)."""
    if r is None or n < 4:
        return None
    z = math.atanh(max(min(r, 0.999999), -0.999999))
    half = 1.96 / math.sqrt(n - 3)
    return math.tanh(z - half), math.tanh(z + half)
