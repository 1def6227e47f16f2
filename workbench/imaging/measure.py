"""Automatic image measurements, one import for callers: warmth, detail, a perceptual hash and
text-in-image accuracy, and how to read and validate them.

Pure domain code (numpy and Pillow only): it turns pixels and strings into numbers. Each subject
has its module; this façade re-exports their public names and runs the fast ones together:

- `specs`: metric names, versions, labels (`SPECS`), `MetricResult`, the measurement errors;
- `loading`: decoding an image file;
- `colour`: warmth, tint, colour temperature, white-balance cast;
- `detail`: Tenengrad and Laplacian variance at 1024 px;
- `hashing`: the 64-bit perceptual hash and near-duplicates;
- `text`: the text a prompt asks for and its accuracy against OCR;
- `readings`: a plain sentence against an image's peers;
- `agreement`: correlations with human ratings.

Where the numbers are stored, when they are computed and how OCR is run live elsewhere
(`store/measurements.py`, `services/evidence/measurements/`, `engines/ocr.py`); see
docs/architecture.md.
"""

from __future__ import annotations

from PIL import Image

from workbench.imaging.colour import MIRED_RANGE, mccamy_mired, measure_warmth
from workbench.imaging.detail import detail_grey, laplacian_variance, measure_detail, tenengrad
from workbench.imaging.hashing import hamming, hash_hex, measure_hash, phash
from workbench.imaging.loading import load_image
from workbench.imaging.readings import describe
from workbench.imaging.specs import (
    COLOUR_TEMP,
    DETAIL,
    DETAIL_LAPLACIAN,
    DETAIL_SIDE,
    DETAIL_VERSION,
    FAST_METRICS,
    NEAR_DUPLICATE_DISTANCE,
    OCR_SIDE,
    PHASH,
    PHASH_VERSION,
    SPECS,
    TEXT_ACCURACY,
    TEXT_VERSION,
    VERSIONS,
    WARMTH,
    WARMTH_A,
    WARMTH_SIDE,
    WARMTH_VERSION,
    WB_CAST,
    MeasurementError,
    MetricResult,
    MetricSpec,
    UnreadableImage,
)
from workbench.imaging.text import (
    CUE_WORDS,
    TextScore,
    expected_texts,
    measure_text,
    score_text,
    substring_distance,
)
from workbench.stats.correlation import correlation_interval, pearson, spearman

__all__ = [
    "COLOUR_TEMP", "CUE_WORDS", "DETAIL", "DETAIL_LAPLACIAN", "DETAIL_SIDE", "DETAIL_VERSION",
    "FAST_METRICS", "MIRED_RANGE", "NEAR_DUPLICATE_DISTANCE", "OCR_SIDE", "PHASH",
    "PHASH_VERSION", "SPECS", "TEXT_ACCURACY", "TEXT_VERSION", "VERSIONS", "WARMTH", "WARMTH_A",
    "WARMTH_SIDE", "WARMTH_VERSION", "WB_CAST", "MeasurementError", "MetricResult", "MetricSpec",
    "TextScore", "UnreadableImage", "correlation_interval", "describe", "detail_grey",
    "expected_texts", "hamming", "hash_hex", "laplacian_variance", "load_image", "mccamy_mired",
    "measure_detail", "measure_fast", "measure_hash", "measure_text", "measure_warmth", "pearson",
    "phash", "score_text", "spearman", "substring_distance", "tenengrad",
]


def measure_fast(image: Image.Image) -> list[MetricResult]:
    """Warmth, detail and hash from one decoded image, sharing one 1024 px grey copy."""
    grey = detail_grey(image)
    return [*measure_warmth(image), *measure_detail(image, grey), measure_hash(image, grey)]
