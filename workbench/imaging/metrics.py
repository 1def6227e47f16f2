"""Automatic image measurements: warmth, detail, a perceptual hash and text-in-image accuracy.

Pure domain code (numpy and Pillow only): it turns pixels and strings into numbers. Where the
numbers are stored, when they are computed and how OCR is run live elsewhere
(`store/metrics.py`, `services/metrics.py`, `ocr.py`).

Every stored number carries its metric's name and version (`SPECS`). Change a method, bump its
version: old and new numbers then never mix in an aggregate.

- Warmth: mean CIELAB b* (yellow +, blue -) and a* (magenta +, green -) of a ~256 px copy,
  near-black and clipped pixels dropped; correlated colour temperature by McCamy's formula from
  the mean XYZ, reported in **mireds** (10^6 / kelvin, so equal steps are equal perceived
  shifts; higher = warmer); and a grey-edge white-balance cast (Minkowski p=6 norm of the
  per-channel gradients in linear RGB, then McCamy, also in mireds), which scene content fools
  far less than the mean colour does.
- Detail: Tenengrad (mean squared Sobel gradient, grey levels 0-255) on a greyscale copy resized
  so its long side is 1024 px, so output size neither helps nor hurts; variance of the Laplacian
  on the same copy as a second signal (noise inflates it more).
- Near-duplicates: a 64-bit DCT perceptual hash; Hamming distance <= 8 means the same picture
  re-encoded, resized or regraded.
- Text in image: the strings a prompt asks to see (`expected_texts`) and
  1 - character error rate against the best-matching stretch of what OCR read (`score_text`).
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from workbench.errors import WorkbenchError

# -- names and versions ------------------------------------------------------------------------

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
                   "64-bit DCT hash; images <= 8 bits apart are near-duplicates."),
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


# -- loading -----------------------------------------------------------------------------------

def load_image(source: Path | bytes) -> Image.Image:
    """Decode fully, apply EXIF orientation and return RGB; raise `UnreadableImage` otherwise."""
    try:
        if isinstance(source, bytes | bytearray):
            data = bytes(source)
            name = "image"
        else:
            name = Path(source).name
            data = Path(source).read_bytes()
    except FileNotFoundError:
        raise UnreadableImage(f"The image file {name} is missing.") from None
    except OSError as exc:
        raise UnreadableImage(f"The image file {name} cannot be read: {exc.strerror}.") from None
    if not data:
        raise UnreadableImage(f"The image file {name} is empty (0 bytes).")
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
            image = ImageOps.exif_transpose(opened) or opened
            return image.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
            Image.DecompressionBombError) as exc:
        raise UnreadableImage(f"The image file {name} is not a readable image ({exc}).") from None


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


# -- colour ------------------------------------------------------------------------------------

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
    out = np.cbrt(t)
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


# -- detail ------------------------------------------------------------------------------------

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


# -- perceptual hash ---------------------------------------------------------------------------

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


def measure_fast(image: Image.Image) -> list[MetricResult]:
    """Warmth, detail and hash from one decoded image, sharing one 1024 px grey copy."""
    grey = detail_grey(image)
    return [*measure_warmth(image), *measure_detail(image, grey), measure_hash(image, grey)]


# -- expected text -----------------------------------------------------------------------------

# One alternative per quoting style; the first non-empty group is the quoted text. Single quotes
# only open after a non-letter and only close before one, so "Joe's Diner" keeps its apostrophe.
_QUOTED = re.compile(
    r'"([^"\n]+)"'
    r"|“([^”\n]+)”"
    r"|„([^“”\n]+)[“”]"
    r"|«\s?([^»\n]+?)\s?»"
    r"|»([^«\n]+)«"
    r"|‹([^›\n]+)›"
    r"|「([^」]+)」"
    r"|『([^』]+)』"
    r"|＂([^＂]+)＂"
    r"|(?<!\w)'([^\n]+?)'(?!\w)"
    r"|(?<!\w)‘([^\n]+?)’(?!\w)"
)
CUE_WORDS = (
    "say", "says", "saying", "said", "sign", "signs", "signage", "label", "labels", "labeled",
    "labelled", "title", "titled", "read", "reads", "reading", "text", "logo", "written",
    "writing", "caption", "captioned", "banner", "headline", "lettering", "letters",
    "inscription", "inscribed", "spell", "spells", "spelled", "spelling", "word", "words",
    "printed", "stamped", "engraved", "embroidered", "neon", "slogan", "tagline", "marquee",
    "wordmark",
)
_CUE = re.compile(r"\b(?:" + "|".join(CUE_WORDS) + r")\b", re.IGNORECASE)
_CJK_CUE = re.compile(
    r"写着|寫著|书写|書かれ|と書い|看板|标志|標識|招牌|文字|ロゴ|标签|標籤|ラベル|字样")
_CUE_BEFORE = 40  # characters searched before the opening quote
_CUE_AFTER = 25  # and after the closing one
_SENTENCE_END = re.compile(r"[.!?;\n。！？；]")


def _near_cue(prompt: str, start: int, end: int) -> bool:
    before = prompt[max(0, start - _CUE_BEFORE):start]
    ends = list(_SENTENCE_END.finditer(before))
    if ends:
        before = before[ends[-1].end():]
    # after the quote only the next two words count ('"OPEN" sign', '"ACME" logo'), up to a
    # comma or another quote, so a cue meant for a later span is not borrowed
    after = prompt[end:end + _CUE_AFTER]
    after = re.split(r"[,，、\"“„«»‹「『＂'‘]|" + _SENTENCE_END.pattern, after, maxsplit=1)[0]
    after = " ".join(after.split()[:2])
    tail = prompt[end:end + 12]  # CJK has no spaces: a few characters instead
    return bool(_CUE.search(before) or _CUE.search(after) or _CJK_CUE.search(before)
                or _CJK_CUE.search(tail))


def expected_texts(
    prompt: str, *, explicit: str | Sequence[str] | None = None, require_cue: bool = True,
) -> list[str]:
    """The strings a prompt asks to see written in the image, in order, without repeats.

    An explicit expected text (from the prompt's suite entry or the user) wins outright.
    Otherwise quoted spans are taken; with `require_cue` only those near a cue word (says,
    sign, label, titled ...), so that `a "vintage" car` is not mistaken for text.
    """
    if explicit is not None:
        items = [explicit] if isinstance(explicit, str) else list(explicit)
        wanted = [s.strip() for s in items if s and s.strip()]
        if wanted:
            return list(dict.fromkeys(wanted))
    found: list[str] = []
    for match in _QUOTED.finditer(prompt or ""):
        text = next(g for g in match.groups() if g is not None).strip()
        if not text or (require_cue and not _near_cue(prompt, match.start(), match.end())):
            continue
        found.append(text)
    return list(dict.fromkeys(found))


# -- text score --------------------------------------------------------------------------------

def _normalise(text: str) -> tuple[str, list[int]]:
    """Casefolded, NFKC, whitespace removed; with each kept character's index in `text`."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for folded in unicodedata.normalize("NFKC", char).casefold():
            if not folded.isspace():
                chars.append(folded)
                origin.append(index)
    return "".join(chars), origin


def substring_distance(pattern: str, text: str) -> tuple[int, int, int]:
    """Least edit distance from `pattern` to any substring of `text` (Sellers' algorithm).

    Returns (distance, start, end) of the best-matching substring (end exclusive); among equal
    distances the match that ends first wins.
    """
    m = len(pattern)
    prev = list(range(m + 1))  # column j=0: matching against an empty text costs i deletions
    prev_start = [0] * (m + 1)
    best = (m, 0, 0)
    for j, t_char in enumerate(text, start=1):
        cur = [0] * (m + 1)
        cur_start = [j] * (m + 1)  # a match may start anywhere: row 0 costs nothing
        for i in range(1, m + 1):
            sub = prev[i - 1] + (pattern[i - 1] != t_char)
            dele = cur[i - 1] + 1
            ins = prev[i] + 1
            cost = min(sub, dele, ins)
            cur[i] = cost
            if cost == sub:
                cur_start[i] = prev_start[i - 1]
            elif cost == ins:
                cur_start[i] = prev_start[i]
            else:
                cur_start[i] = cur_start[i - 1]
        if cur[m] < best[0]:
            best = (cur[m], cur_start[m], j)
        prev, prev_start = cur, cur_start
    return best


@dataclass(frozen=True)
class TextScore:
    expected: str
    read: str  # the stretch of the OCR output that best matches, as OCR wrote it
    distance: int
    length: int  # characters compared (expected text, casefolded, without spaces)

    @property
    def accuracy(self) -> float:
        return 1.0 if self.length == 0 else max(0.0, 1.0 - self.distance / self.length)

    def sentence(self) -> str:
        if not self.read:
            return f"asked {self.expected}, read nothing like it"
        return f"asked {self.expected}, read {self.read}"

    def as_dict(self) -> dict[str, Any]:
        return {"expected": self.expected, "read": self.read, "distance": self.distance,
                "length": self.length, "accuracy": round(self.accuracy, 6)}


def score_text(expected: str, ocr_text: str) -> TextScore:
    """1 - CER of `expected` against its best-matching substring of `ocr_text`."""
    pattern, _ = _normalise(expected)
    haystack, origin = _normalise(ocr_text)
    if not pattern:
        return TextScore(expected, "", 0, 0)
    distance, start, end = substring_distance(pattern, haystack)
    read = ocr_text[origin[start]:origin[end - 1] + 1] if end > start else ""
    return TextScore(expected, read, distance, len(pattern))


def measure_text(expected: Iterable[str], ocr_lines: Sequence[str]) -> MetricResult:
    """Mean accuracy over the expected strings, each with what was read, for one image."""
    ocr_text = " ".join(line.strip() for line in ocr_lines if line and line.strip())
    scores = [score_text(e, ocr_text) for e in expected]
    scores = [s for s in scores if s.length]
    if not scores:
        return MetricResult.failed(TEXT_ACCURACY, "no expected text to compare", skipped=True)
    value = sum(s.accuracy for s in scores) / len(scores)
    return MetricResult(TEXT_ACCURACY, TEXT_VERSION, value, {
        "ocr_text": ocr_text, "items": [s.as_dict() for s in scores],
        "summary": "; ".join(s.sentence() for s in scores),
    })


# -- reading the numbers -----------------------------------------------------------------------

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


# -- agreement with human ratings --------------------------------------------------------------

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


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
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
