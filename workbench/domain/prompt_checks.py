"""Live prompt checks and the step that turns what the user wrote into what is sent.

`prepare` cleans the text (control characters, white space), takes a trailing or inline
`--ar W:H` out of the text and into the aspect-ratio parameter, and refuses what no provider
should receive (empty, over MAX_PROMPT_CHARS). `lint` reports word count against the model's
recommended limit, empty required slots and the checks the templates declare in data.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

from workbench.domain.catalog import ModelSpec
from workbench.domain.plural import count
from workbench.domain.templates import Check, Template, TemplateLibrary

MAX_PROMPT_CHARS = 10_000
Severity = Literal["error", "warning", "info"]

_AR_FLAG = re.compile(r"(?<!\S)--(?:ar|aspect)\s+(\d{1,2})\s*:\s*(\d{1,2})(?!\S)", re.IGNORECASE)
_BROKEN_AR_FLAG = re.compile(r"(?<!\S)--(?:ar|aspect)\b(?:\s+\S+)?", re.IGNORECASE)
_WORD = re.compile(r"[\w'’-]+", re.UNICODE)

# Precise placements that multi-subject Nano Banana prompts tend to lose.
_POSITIONAL = re.compile(
    r"\b(to the (left|right) of|on the (left|right)\b|at the (left|right)\b|next to|beside|"
    r"in front of|behind|on top of|underneath|between|(left|right)[- ]hand side|"
    r"directly (above|below|behind|under))",
    re.IGNORECASE,
)
# Coarse placements the seed recommends for Nano Banana instead.
_COARSE = re.compile(
    r"\b(foreground|background|middle ground|(left|right|centre|center) of frame)\b", re.IGNORECASE
)
# An independent subject: an article or number starting a clause (start, after a comma, "and",
# "while", "with"), not one inside a prepositional phrase ("in a red coat").
_SUBJECT = re.compile(
    r"(?:^|[,;]\s*|\b(?:and|while|whilst|as)\s+)(?:a|an|the|two|three|four|one|several|some)\s+\w+",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Finding:
    check: str
    severity: Severity
    message: str
    slot: str | None = None


@dataclass(frozen=True)
class PreparedPrompt:
    """What will be sent: the text and the parameters the text itself asked for."""

    text: str
    aspect_ratio: str | None = None
    findings: tuple[Finding, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    @property
    def errors(self) -> list[str]:
        return [f.message for f in self.findings if f.severity == "error"]


def word_count(text: str) -> int:
    return len(_WORD.findall(_AR_FLAG.sub(" ", text)))


def _strip_controls(text: str) -> tuple[str, int]:
    kept, removed = [], 0
    for ch in text:
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf") or ch == "\u200d":
            kept.append(ch)
        else:
            removed += 1
    return "".join(kept), removed


def prepare(raw: str) -> PreparedPrompt:
    findings: list[Finding] = []
    if len(raw) > MAX_PROMPT_CHARS * 4:
        # Refuse before any regex work: a pasted book must not stall the page.
        return PreparedPrompt(
            text="",
            findings=(_too_long(len(raw)),),
        )
    text, removed = _strip_controls(raw)
    if removed:
        findings.append(
            Finding(
                "control-characters",
                "info",
                f"Removed {count(removed, 'invisible control character')} from the prompt.",
            )
        )
    aspect_ratio = None
    flags = list(_AR_FLAG.finditer(text))
    if flags:
        last = flags[-1]
        aspect_ratio = f"{int(last.group(1))}:{int(last.group(2))}"
        text = _AR_FLAG.sub(" ", text)
        if len({(m.group(1), m.group(2)) for m in flags}) > 1:
            findings.append(
                Finding(
                    "ar-flag",
                    "warning",
                    f"Several --ar flags: the last one ({aspect_ratio}) is used.",
                )
            )
    elif _BROKEN_AR_FLAG.search(text):
        findings.append(
            Finding(
                "ar-flag",
                "error",
                "The --ar flag needs a ratio of two whole numbers, like --ar 16:9.",
            )
        )
    text = " ".join(text.split())
    if not text:
        findings.append(Finding("empty", "error", "The prompt is empty: describe the image."))
    elif len(text) > MAX_PROMPT_CHARS:
        findings.append(_too_long(len(text)))
    return PreparedPrompt(text=text, aspect_ratio=aspect_ratio, findings=tuple(findings))


def _too_long(length: int) -> Finding:
    return Finding(
        "too-long",
        "error",
        f"The prompt has {length:,} characters; the workbench sends at most "
        f"{MAX_PROMPT_CHARS:,}. Shorten it.",
    )


def _spatial_overload(text: str) -> bool:
    positional = len(_POSITIONAL.findall(text))
    subjects = len(_SUBJECT.findall(text))
    return (positional >= 2 and subjects >= 2) or (positional >= 1 and subjects >= 3)


def _run_check(check: Check, text: str) -> Finding | None:
    if check.kind == "requires_any":
        if any(re.search(p, text, re.IGNORECASE) for p in check.patterns):
            return None
        return Finding(check.id, check.severity, check.message)
    if check.kind == "spatial_overload" and _spatial_overload(text):
        message = check.message
        if _COARSE.search(text):
            message += " (Some coarse placement is already there; drop the exact positions.)"
        return Finding(check.id, check.severity, message)
    return None


def lint(
    raw: str,
    model: ModelSpec,
    template: Template,
    library: TemplateLibrary,
    slot_values: dict[str, str] | None = None,
) -> PreparedPrompt:
    """Prepare the prompt and add every check that applies to this model and template."""
    prepared = prepare(raw)
    findings = list(prepared.findings)
    if slot_values is not None:
        for slot in template.missing_required(slot_values):
            findings.append(
                Finding("required-slot", "error", f"'{slot.label}' is required.", slot=slot.id)
            )
    family_template = library.get(model.default_template)
    limit = template.word_limit or family_template.word_limit
    words = word_count(prepared.text)
    if limit:
        severity: Severity = "warning" if words > limit else "info"
        findings.append(
            Finding(
                "word-count", severity, f"{words} words; {model.name} works best under {limit}."
            )
        )
    else:
        findings.append(Finding("word-count", "info", f"{words} words."))
    if prepared.aspect_ratio and prepared.aspect_ratio not in model.aspect_ratios:
        findings.append(
            Finding(
                "aspect-ratio",
                "error",
                f"{model.name} does not take --ar {prepared.aspect_ratio}; it takes "
                f"{', '.join(model.aspect_ratios)}.",
            )
        )
    if prepared.text:
        seen: set[str] = set()
        for check in (*template.checks, *family_template.checks):
            if check.id in seen:
                continue
            seen.add(check.id)
            finding = _run_check(check, prepared.text)
            if finding:
                findings.append(finding)
    return PreparedPrompt(
        text=prepared.text, aspect_ratio=prepared.aspect_ratio, findings=tuple(findings)
    )
