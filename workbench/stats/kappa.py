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
Float32Array = npt.NDArray[np.float32]


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
    """`agreement` on arrays: label indices and cluster indices (any non-negative integers);
    the interval resamples exactly the clusters these items come from."""
    if first.shape[0] == 0:
        return Agreement(0, 0, None, None, None)
    _, dense = np.unique(cluster_ids, return_inverse=True)
    dense = dense.reshape(-1).astype(np.int64)
    clusters = int(dense.max()) + 1
    draws = cluster_draws(clusters, rounds, seed) if rounds > 0 and clusters >= 2 else None
    return agreement_with_draws(first, second, dense, clusters, draws, k=k)


def cluster_draws(clusters: int, rounds: int = ROUNDS, seed: int = SEED) -> Float32Array:
    """How often each of `clusters` clusters is drawn in each bootstrap round (rounds ×
    clusters): each round draws as many clusters as there are, with replacement."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, clusters, size=(rounds, clusters), dtype=np.int64)
    picks += (np.arange(rounds, dtype=np.int64) * clusters)[:, None]
    counts = np.bincount(picks.ravel(), minlength=rounds * clusters)
    # Counts are small integers: float32 holds them exactly and halves the products below.
    return counts.reshape(rounds, clusters).astype(np.float32)


def agreement_with_draws(
    first: IntArray,
    second: IntArray,
    cluster_ids: IntArray,
    clusters: int,
    draws: Float32Array | None,
    *,
    k: int = len(LABELS),
) -> Agreement:
    """One figure of `agreements_with_draws`."""
    return agreements_with_draws([(first, second, cluster_ids)], clusters, draws, k=k)[0]


def agreements_with_draws(
    figures: Sequence[tuple[IntArray, IntArray, IntArray]],
    clusters: int,
    draws: Float32Array | None,
    *,
    k: int = len(LABELS),
) -> list[Agreement]:
    """`agreement` for many (first, second, cluster ids) figures with bootstrap draws made
    once: cluster ids index the `clusters` columns of `draws`. A figure on a subset of the items
    (one criterion among all votes) uses the same resampled prompts, each counting the items it
    holds in the subset (the domain estimate of a cluster bootstrap); a prompt with none of the
    subset's items adds nothing. All figures share one matrix product, so a whole table costs
    about what one figure does."""
    cells = k * k
    tables = []
    for first, second, cluster_ids in figures:
        if first.shape != second.shape or first.shape != cluster_ids.shape:
            raise ValueError("labels and clusters must describe the same items")
        if first.size and (
            min(first.min(), second.min()) < 0 or max(first.max(), second.max()) >= k
        ):
            raise ValueError(f"labels must be indices 0..{k - 1}")
        index = cluster_ids * cells + first * k + second
        tables.append(np.bincount(index, minlength=clusters * cells).reshape(clusters, cells))
    resampled: FloatArray | None = None
    if draws is not None and tables:
        stacked = np.hstack(tables).astype(np.float32)
        # Sums of small integers: exact in float32 below 2**24.
        resampled = (draws @ stacked).astype(np.float64)
    out = []
    for i, per_cluster in enumerate(tables):
        n = int(per_cluster.sum())
        if n == 0:
            out.append(Agreement(0, 0, None, None, None))
            continue
        held = int(per_cluster.any(axis=1).sum())
        total = per_cluster.sum(axis=0).reshape(k, k).astype(np.float64)
        kappa = float(kappa_of(total)[0])
        interval: tuple[float, float] | None = None
        if resampled is not None and not np.isnan(kappa) and held >= 2:
            values = kappa_of(resampled[:, i * cells:(i + 1) * cells].reshape(-1, k, k))
            values = values[~np.isnan(values)]
            if values.size:
                low, high = np.percentile(values, INTERVAL)
                interval = (float(low), float(high))
        out.append(Agreement(
            n=n,
            clusters=held,
            agreement=float(np.trace(total) / n),
            kappa=None if np.isnan(kappa) else kappa,
            interval=interval,
        ))
    return out


def label_index(label: str) -> int:
    """The index of "a", "b" or "tie"."""
    return LABELS.index(label)
