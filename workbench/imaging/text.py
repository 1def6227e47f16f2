"""Text in image: the strings a prompt asks to see (`expected_texts`) and 1 - character error
rate against the best-matching stretch of what OCR read (`score_text`, `measure_text`).

Running OCR is the engine's job (`workbench/engines/ocr.py`); this module only compares strings.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from workbench.imaging.specs import TEXT_ACCURACY, TEXT_VERSION, MetricResult

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
    distances the stretch that ends first wins, taken whole: one that goes on at the same cost
    from the same start is extended.
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
        if cur[m] < best[0] or (cur[m] == best[0] and best[2] == j - 1
                                and cur_start[m] == best[1]):
            # A better stretch, or the best one grown by a character at the same cost ("OPEM"
            # read for OPEN, not its prefix "OPE"): the stretch is reported whole.
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
