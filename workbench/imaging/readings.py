"""Reading the numbers: a plain sentence placing one image's measurement against its peers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from workbench.imaging.specs import (
    COLOUR_TEMP,
    DETAIL,
    DETAIL_LAPLACIAN,
    SPECS,
    TEXT_ACCURACY,
    WARMTH,
    WARMTH_A,
    WB_CAST,
)

_COMPARATIVES = {
    WARMTH: ("warmer (more yellow)", "cooler (more blue)"),
    WARMTH_A: ("more magenta", "greener"),
    COLOUR_TEMP: ("warmer", "cooler"),
    WB_CAST: ("a warmer white balance", "a cooler white balance"),
    DETAIL: ("more fine detail", "less fine detail"),
    DETAIL_LAPLACIAN: ("more fine detail", "less fine detail"),
    TEXT_ACCURACY: ("more accurate text", "less accurate text"),
}


def describe(metric: str, value: float, peers: Sequence[float], scope: str) -> str:
    """A plain sentence placing `value` against the median of `peers` (e.g. this prompt's other
    images): "warmer (more yellow) than the median of this prompt's images (b* 12.1 vs 8.0, 5
    images)"."""
    spec = SPECS[metric]
    unit = f"{spec.unit} " if spec.unit and spec.unit != "mired" else ""
    suffix = " mired" if spec.unit == "mired" else ""
    shown = f"{unit}{_fmt(value)}{suffix}"
    if not peers:
        return f"{spec.label}: {shown}; no other images to compare it with yet."
    median = float(np.median(np.asarray(peers, dtype=np.float64)))
    more, less = _COMPARATIVES.get(metric, ("higher", "lower"))
    spread = float(np.std(peers)) if len(peers) > 1 else 0.0
    tolerance = max(abs(median) * 0.02, spread * 0.1, 1e-9)
    if abs(value - median) <= tolerance:
        relation = f"about the same as the median of {scope}"
    else:
        relation = f"{more if value > median else less} than the median of {scope}"
    count = f"{len(peers)} image{'s' if len(peers) != 1 else ''}"
    return f"{spec.label}: {relation} ({shown} vs {_fmt(median)}{suffix}, {count})."


def _fmt(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"
