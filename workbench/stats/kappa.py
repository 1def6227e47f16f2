"""Agreement between two raters who each chose one of a few labels for the same items (here:
which image of a pair follows the prompt better, "a", "b" or "tie"): raw agreement and Cohen's
κ, with a bootstrap interval that resamples clusters (prompts) rather than single items.

- Cohen's κ = (pₒ − pₑ) / (1 − pₑ), pₒ the share of items both raters labelled alike, pₑ the
  share expected by chance from each rater's own label frequencies (J. Cohen 1960, "A
  coefficient of agreement for nominal scales", Educational and Psychological Measurement
  20(1)). Undefined (None) when pₑ = 1 (both raters always gave the same single label).
- Why clusters: pairs of images of one prompt are not independent (a prompt the judge misreads
  is misread for every pair of it). The interval resamples whole prompts with replacement and
  recomputes κ on the items they hold (the cluster bootstrap: A. C. Davison and D. V. Hinkley,
  "Bootstrap Methods and their Application", 1997, section 3.8), taking the 2.5 and 97.5
  percentiles. Items are aggregated into one confusion matrix per cluster first, and a round's
  resample is a multinomial draw of cluster counts (the same distribution as drawing clusters
  one by one), so 1,000 rounds over 10,000 items cost one matrix product.

numpy only: no database, UI or network here.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

LABELS: tuple[str, ...] = ("a", "b", "tie")
ROUNDS = 1000
SEED = 20261207
INTERVAL = (2.5, 97.5)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Agreement:
    """Two raters on the same items, with the evidence behind the figures."""

    n: int  # items both rated
    clusters: int  # distinct prompts among them
    agreement: float | None  # raw share alike
    kappa: float | None
    interval: tuple[float, float] | None  # bootstrap 95% of κ, resampling clusters

    def text(self) -> str:
        if not self.n or self.agreement is None:
            return "no pairs yet"
        kappa = "κ undefined (one label only)" if self.kappa is None else f"κ = {self.kappa:.2f}"
        if self.kappa is not None and self.interval is not None:
            kappa += f" [{self.interval[0]:.2f}, {self.interval[1]:.2f}]"
        return f"{self.agreement:.0%} alike, {kappa} (n = {self.n}, prompts = {self.clusters})"


def confusion(first: Sequence[int], second: Sequence[int], k: int = len(LABELS)) -> FloatArray:
    """k × k counts: rows the first rater's label index, columns the second's."""
    a = np.asarray(first, dtype=np.int64)
    b = np.asarray(second, dtype=np.int64)
    if a.shape != b.shape:
        raise ValueError("both raters must label the same items")
    counts = np.bincount(a * k + b, minlength=k * k).astype(np.float64)
    return counts.reshape(k, k)


def kappa_of(matrices: FloatArray) -> FloatArray:
    """Cohen's κ of one (k × k) or many (r × k × k) confusion matrices; NaN where undefined
    (no items, or chance agreement of 1)."""
    m = np.asarray(matrices, dtype=np.float64)
    single = m.ndim == 2
    if single:
        m = m[None, :, :]
    n = m.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = np.trace(m, axis1=1, axis2=2) / n
        expected = (m.sum(axis=2) * m.sum(axis=1)).sum(axis=1) / (n * n)
        kappa = (observed - expected) / (1.0 - expected)
    kappa = np.where((n > 0) & (expected < 1.0 - 1e-12), kappa, np.nan)
    return kappa[:1] if single else kappa


def cohen_kappa(first: Sequence[int], second: Sequence[int], k: int = len(LABELS)) -> float | None:
    value = float(kappa_of(confusion(first, second, k))[0])
    return None if np.isnan(value) else value


def agreement(
    first: Sequence[int],
    second: Sequence[int],
    clusters: Sequence[Hashable],
    *,
    k: int = len(LABELS),
    rounds: int = ROUNDS,
    seed: int = SEED,
) -> Agreement:
    """Raw agreement, κ and its cluster-bootstrap interval for label indices (0..k-1) that two
    raters gave the same items; `clusters` names each item's prompt."""
    if not (len(first) == len(second) == len(clusters)):
        raise ValueError("labels and clusters must describe the same items")
    index: dict[Hashable, int] = {}
    cluster_ids = np.fromiter(
        (index.setdefault(c, len(index)) for c in clusters), dtype=np.int64, count=len(clusters)
    )
    return agreement_of(
        np.asarray(first, dtype=np.int64), np.asarray(second, dtype=np.int64), cluster_ids,
        k=k, rounds=rounds, seed=seed,
    )


def agreement_of(
    first: IntArray,
    second: IntArray,
    cluster_ids: IntArray,
    *,
    k: int = len(LABELS),
    rounds: int = ROUNDS,
    seed: int = SEED,
) -> Agreement:
    """`agreement` on arrays: label indices and cluster indices (any non-negative integers)."""
    n = int(first.shape[0])
    if n == 0:
        return Agreement(0, 0, None, None, None)
    if first.shape != second.shape or first.shape != cluster_ids.shape:
        raise ValueError("labels and clusters must describe the same items")
    if min(first.min(), second.min()) < 0 or max(first.max(), second.max()) >= k:
        raise ValueError(f"labels must be indices 0..{k - 1}")
    _, dense = np.unique(cluster_ids, return_inverse=True)
    dense = dense.reshape(-1)
    c = int(dense.max()) + 1
    cells = dense * (k * k) + first * k + second
    per_cluster = np.bincount(cells, minlength=c * k * k).astype(np.float64).reshape(c, k * k)
    total = per_cluster.sum(axis=0).reshape(k, k)
    observed = float(np.trace(total) / n)
    kappa = float(kappa_of(total)[0])
    interval: tuple[float, float] | None = None
    if not np.isnan(kappa) and c >= 2 and rounds > 0:
        interval = _interval(per_cluster, k, rounds, seed)
    return Agreement(
        n=n,
        clusters=c,
        agreement=observed,
        kappa=None if np.isnan(kappa) else kappa,
        interval=interval,
    )


def _interval(
    per_cluster: FloatArray, k: int, rounds: int, seed: int
) -> tuple[float, float] | None:
    c = per_cluster.shape[0]
    rng = np.random.default_rng(seed)
    # Each round draws c clusters with replacement; bincount over (round, cluster) gives how
    # often each cluster was drawn in each round.
    picks = rng.integers(0, c, size=(rounds, c)) + (np.arange(rounds) * c)[:, None]
    draws = np.bincount(picks.ravel(), minlength=rounds * c).reshape(rounds, c)
    draws = draws.astype(np.float64)
    resampled = (draws @ per_cluster).reshape(rounds, k, k)
    values = kappa_of(resampled)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return None
    low, high = np.percentile(values, INTERVAL)
    return float(low), float(high)


def label_index(label: str) -> int:
    """The index of "a", "b" or "tie"."""
    return LABELS.index(label)
