"""Detail measurements: Tenengrad (mean squared Sobel gradient, grey levels 0-255) on a greyscale
copy resized so its long side is 1024 px, so output size neither helps nor hurts; variance of the
Laplacian on the same copy as a second signal (noise inflates it more)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from workbench.imaging.specs import (
    DETAIL,
    DETAIL_LAPLACIAN,
    DETAIL_SIDE,
    DETAIL_VERSION,
    MeasurementError,
    MetricResult,
)


def _long_side(image: Image.Image, side: int) -> Image.Image:
    """A copy whose long side is `side`. Shrinking uses an integer box average first (2048 ->
    1024 is a pure 2x2 average: fast, and its detail score matched a native 1024 px render
    within 3%, where bilinear lost 12%), then bicubic for any remaining fraction."""
    w, h = image.size
    longest = max(w, h)
    if longest == side:
        return image
    if longest > side and longest % side == 0:
        return image.reduce(longest // side)
    scale = side / longest
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return image.resize(size, Image.Resampling.BICUBIC, reducing_gap=1.0 if scale < 1 else None)


def detail_grey(image: Image.Image) -> np.ndarray:
    """The greyscale copy both detail signals use: long side exactly 1024 px, levels 0-255."""
    return np.asarray(_long_side(image.convert("L"), DETAIL_SIDE), dtype=np.float32)


def tenengrad(grey: np.ndarray) -> float:
    p = grey
    if min(p.shape) < 3:
        raise MeasurementError("the image is too small to measure detail")
    # Sobel is separable: smooth [1 2 1] across, then difference [-1 0 1] along
    down = p[:-2] + 2 * p[1:-1] + p[2:]
    gx = down[:, 2:] - down[:, :-2]
    across = p[:, :-2] + 2 * p[:, 1:-1] + p[:, 2:]
    gy = across[2:] - across[:-2]
    return float(np.mean(gx * gx + gy * gy, dtype=np.float64))


def laplacian_variance(grey: np.ndarray) -> float:
    p = grey
    if min(p.shape) < 3:
        raise MeasurementError("the image is too small to measure detail")
    lap = p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4 * p[1:-1, 1:-1]
    return float(np.var(lap, dtype=np.float64))


def measure_detail(image: Image.Image, grey: np.ndarray | None = None) -> list[MetricResult]:
    grey = detail_grey(image) if grey is None else grey
    info = {"side": DETAIL_SIDE, "source_size": list(image.size)}
    try:
        return [MetricResult(DETAIL, DETAIL_VERSION, tenengrad(grey), info),
                MetricResult(DETAIL_LAPLACIAN, DETAIL_VERSION, laplacian_variance(grey), info)]
    except MeasurementError as exc:
        return [MetricResult.failed(DETAIL, str(exc)),
                MetricResult.failed(DETAIL_LAPLACIAN, str(exc))]
