"""What every image measurement shares: metric names, versions and labels (`SPECS`), one
measured number (`MetricResult`) and the measurement errors.

Every stored number carries its metric's name and version. Change a method, bump its version:
old and new numbers then never mix in an aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.errors import WorkbenchError

WARMTH = "warmth"
WARMTH_A = "warmth_a"
COLOUR_TEMP = "colour_temp"
WB_CAST = "wb_cast"
DETAIL = "detail"
DETAIL_LAPLACIAN = "detail_laplacian"
PHASH = "phash"
TEXT_ACCURACY = "text_accuracy"

WARMTH_VERSION = 1
DETAIL_VERSION = 1
PHASH_VERSION = 1
TEXT_VERSION = 1

NEAR_DUPLICATE_DISTANCE = 8
WARMTH_SIDE = 256
DETAIL_SIDE = 1024
OCR_SIDE = 1024


@dataclass(frozen=True)
class MetricSpec:
    name: str
    version: int
    label: str
    unit: str
    explain: str
    heavy: bool = False  # needs OCR: runs on its own lane, may be skipped
    numeric: bool = True  # its reading is a number (a hash is kept in the detail instead)


SPECS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec(WARMTH, WARMTH_VERSION, "Warmth (b*)", "b*",
                   "Mean CIELAB b*: positive is yellow/warm, negative blue/cool."),
        MetricSpec(WARMTH_A, WARMTH_VERSION, "Tint (a*)", "a*",
                   "Mean CIELAB a*: positive is magenta/red, negative green."),
        MetricSpec(COLOUR_TEMP, WARMTH_VERSION, "Colour temperature", "mired",
                   "McCamy CCT of the mean colour in mireds (1,000,000 / kelvin); higher is "
                   "warmer."),
        MetricSpec(WB_CAST, WARMTH_VERSION, "White-balance cast", "mired",
                   "Grey-edge estimate of the light's colour in mireds; higher is warmer. "
                   "Less fooled by warm or cool scene content than the mean colour."),
        MetricSpec(DETAIL, DETAIL_VERSION, "Detail (Tenengrad)", "",
                   "Mean squared Sobel gradient of a greyscale copy at 1024 px long side."),
        MetricSpec(DETAIL_LAPLACIAN, DETAIL_VERSION, "Detail (Laplacian variance)", "",
                   "Variance of the Laplacian at 1024 px long side; noise inflates it."),
        MetricSpec(PHASH, PHASH_VERSION, "Perceptual hash", "",
                   "64-bit DCT hash; images <= 8 bits apart are near-duplicates.", numeric=False),
        MetricSpec(TEXT_ACCURACY, TEXT_VERSION, "Text accuracy", "",
                   "1 - character error rate of the text the prompt asked for, against what "
                   "OCR read (case and spaces ignored).", heavy=True),
    )
}
FAST_METRICS: tuple[str, ...] = tuple(n for n, s in SPECS.items() if not s.heavy)
VERSIONS: dict[str, int] = {name: spec.version for name, spec in SPECS.items()}


class MeasurementError(WorkbenchError):
    """A measurement could not be made; the message says why, for a person."""


class UnreadableImage(MeasurementError):
    """The image file is missing, empty or not decodable."""


@dataclass(frozen=True)
class MetricResult:
    """One measured number (or the reason there is none)."""

    name: str
    version: int
    value: float | None
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    status: str = "ok"  # ok | error | skipped

    @classmethod
    def failed(cls, name: str, message: str, *, skipped: bool = False,
               detail: dict[str, Any] | None = None) -> MetricResult:
        return cls(name, VERSIONS[name], None, detail or {}, message,
                   "skipped" if skipped else "error")
