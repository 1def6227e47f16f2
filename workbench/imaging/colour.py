"""Colour measurements: warmth, tint, colour temperature and white-balance cast.

Mean CIELAB b* (yellow +, blue -) and a* (magenta +, green -) of a ~256 px copy, near-black and
clipped pixels dropped; correlated colour temperature by McCamy's formula from the mean XYZ,
reported in **mireds** (10^6 / kelvin, so equal steps are equal perceived shifts; higher =
warmer); and a grey-edge white-balance cast (Minkowski p=6 norm of the per-channel gradients in
linear RGB, then McCamy, also in mireds), which scene content fools far less than the mean
colour does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from workbench.imaging.specs import (
    COLOUR_TEMP,
    WARMTH,
    WARMTH_A,
    WARMTH_SIDE,
    WARMTH_VERSION,
    WB_CAST,
    MeasurementError,
    MetricResult,
)

_SRGB_TO_LINEAR = np.array(
    [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
     for c in (i / 255 for i in range(256))], dtype=np.float32)
_RGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
_RGB_TO_XYZ_T = _RGB_TO_XYZ.T.astype(np.float32)
_D65 = np.array([0.95047, 1.0, 1.08883], dtype=np.float32)
_NEAR_BLACK_L = 8.0
_CLIPPED = 250
MIRED_RANGE = (40.0, 600.0)  # 25,000 K .. 1,667 K: McCamy means nothing further out


def _lab_f(t: np.ndarray) -> np.ndarray:
    delta = 6 / 29
    out: np.ndarray = np.cbrt(t)
    low = t <= delta**3
    if low.any():  # only very dark pixels take the linear branch
        out[low] = t[low] / (3 * delta**2) + 4 / 29
    return out


def _warmth_copy(image: Image.Image) -> Image.Image:
    """A ~256 px copy by integer box reduction: an exact local average, and fast."""
    factor = max(1, max(image.size) // WARMTH_SIDE)
    return image.reduce(factor) if factor > 1 else image


def mccamy_mired(xyz: Sequence[float]) -> tuple[float, bool]:
    """Correlated colour temperature of an XYZ colour by McCamy (1992), in mireds.

    Returns (mireds, clipped): outside ~1,667-25,000 K the cubic is meaningless, so the value
    is clipped to that range and flagged.
    """
    x_, y_, z_ = (float(v) for v in xyz)
    total = x_ + y_ + z_
    if total <= 0:
        raise MeasurementError("no light to measure a colour temperature from")
    x, y = x_ / total, y_ / total
    if abs(0.1858 - y) < 1e-9:
        return MIRED_RANGE[0], True
    n = (x - 0.3320) / (0.1858 - y)
    kelvin = 449 * n**3 + 3525 * n**2 + 6823.3 * n + 5520.33
    if kelvin <= 0:
        return MIRED_RANGE[1], True
    mired = 1e6 / kelvin
    clipped = min(max(mired, MIRED_RANGE[0]), MIRED_RANGE[1])
    return clipped, clipped != mired


def measure_warmth(image: Image.Image) -> list[MetricResult]:
    """Mean b*, a*, McCamy mireds of the mean colour, and the grey-edge cast in mireds."""
    small = _warmth_copy(image if image.mode == "RGB" else image.convert("RGB"))
    rgb8 = np.asarray(small)
    linear = _SRGB_TO_LINEAR[rgb8]  # H x W x 3, float32 in 0..1
    xyz = linear @ _RGB_TO_XYZ_T
    fx, fy, fz = (_lab_f(xyz[..., i] / _D65[i]) for i in range(3))
    lightness = 116 * fy - 16
    a_star = 500 * (fx - fy)
    b_star = 200 * (fy - fz)
    clipped = rgb8.max(axis=2) >= _CLIPPED
    keep = (lightness >= _NEAR_BLACK_L) & ~clipped
    share = float(keep.mean())
    fallback = share < 0.01
    if fallback:  # a black or blown-out frame: measure everything rather than nothing
        keep = np.ones_like(keep)
    detail = {"pixels_used": round(share, 4), "all_pixels_fallback": fallback,
              "side": max(small.size)}
    mean_xyz = xyz[keep].mean(axis=0, dtype=np.float64)
    results = [
        MetricResult(WARMTH, WARMTH_VERSION, float(b_star[keep].mean(dtype=np.float64)),
                     detail),
        MetricResult(WARMTH_A, WARMTH_VERSION, float(a_star[keep].mean(dtype=np.float64)),
                     detail),
    ]
    try:
        mired, was_clipped = mccamy_mired(mean_xyz)
        results.append(MetricResult(COLOUR_TEMP, WARMTH_VERSION, mired,
                                    {**detail, "kelvin": round(1e6 / mired), "clipped": was_clipped,
                                     "unit": "mired"}))
    except MeasurementError as exc:
        results.append(MetricResult.failed(COLOUR_TEMP, str(exc)))
    results.append(_grey_edge(linear, keep))
    return results


def _grey_edge(linear: np.ndarray, keep: np.ndarray, p: int = 6) -> MetricResult:
    """Grey-edge illuminant (van de Weijer et al. 2007): the Minkowski p-norm of each channel's
    gradient magnitude estimates the light's colour, because edges average to grey."""
    if min(linear.shape[:2]) < 3:
        return MetricResult.failed(WB_CAST, "the image is too small to find edges in")
    gx = linear[1:-1, 2:] - linear[1:-1, :-2]
    gy = linear[2:, 1:-1] - linear[:-2, 1:-1]
    squared = gx * gx + gy * gy  # squared gradient magnitude, H-2 x W-2 x 3
    # an edge touching a clipped or black pixel says nothing about the light
    usable = (keep[1:-1, 1:-1] & keep[1:-1, 2:] & keep[1:-1, :-2] & keep[2:, 1:-1]
              & keep[:-2, 1:-1])
    count = int(usable.sum())
    squared *= usable[..., None]
    if count == 0 or float(squared.max()) <= 1e-12:
        return MetricResult.failed(WB_CAST, "the image has no edges to estimate a cast from")
    # |grad|^p = squared^(p/2); sums of powers in float64 so faint edges are not lost
    powered = squared.astype(np.float64) ** (p / 2)
    illuminant = (powered.reshape(-1, 3).sum(axis=0) / count) ** (1 / p)
    try:
        mired, was_clipped = mccamy_mired(_RGB_TO_XYZ @ illuminant)
    except MeasurementError as exc:
        return MetricResult.failed(WB_CAST, str(exc))
    rgb = illuminant / illuminant.sum()
    return MetricResult(WB_CAST, WARMTH_VERSION, mired, {
        "kelvin": round(1e6 / mired), "clipped": was_clipped, "unit": "mired", "p": p,
        "illuminant_rgb": [round(float(c), 4) for c in rgb],
    })
