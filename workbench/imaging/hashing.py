"""Near-duplicates: a 64-bit DCT perceptual hash; a Hamming distance <= 8 means the same picture
re-encoded, resized or regraded."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from workbench.imaging.specs import PHASH, PHASH_VERSION, MetricResult

_HASH_SIDE = 32
_DCT = np.array([[math.cos(math.pi * (2 * n + 1) * k / (2 * _HASH_SIDE))
                  for n in range(_HASH_SIDE)] for k in range(_HASH_SIDE)])


def phash(image: Image.Image) -> int:
    """64-bit DCT hash: low-frequency 8x8 DCT coefficients of a 32x32 grey copy vs their median."""
    grey = image if image.mode == "L" else image.convert("L")
    tiny = grey.resize((_HASH_SIDE, _HASH_SIDE), Image.Resampling.LANCZOS, reducing_gap=2.0)
    pixels = np.asarray(tiny, dtype=np.float64)
    low = (_DCT @ pixels @ _DCT.T)[:8, :8].ravel()
    bits = low > np.median(low)
    return int(sum(1 << i for i, bit in enumerate(bits) if bit))


def hash_hex(value: int) -> str:
    return f"{value:016x}"


def hamming(a: int | str, b: int | str) -> int:
    a_int = int(a, 16) if isinstance(a, str) else a
    b_int = int(b, 16) if isinstance(b, str) else b
    return (a_int ^ b_int).bit_count()


def measure_hash(image: Image.Image, grey_1024: np.ndarray | None = None) -> MetricResult:
    source = Image.fromarray(grey_1024.astype(np.uint8)) if grey_1024 is not None else image
    return MetricResult(PHASH, PHASH_VERSION, None, {"hash": hash_hex(phash(source))})

