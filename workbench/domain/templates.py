"""Prompt templates: data files in `prompt_templates/` validated by pydantic, and their assembly.

A template is an ordered list of slots. Assembly joins the filled slots with each slot's `join`
text (nothing before the first filled slot), adds a slot's `connector` word unless the value
already starts with a preposition, and appends the template's fixed `suffix`. An `aspect_ratio`
slot renders as `--ar W:H`. The seed article's two example prompts live in the data files and the
tests assemble them back to the exact text the article gives.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


def _templates_dir() -> Path:
    """`prompt_templates/`: at the top of a source checkout, where people edit it, or inside the
    package (`workbench/prompt_templates/`) in an installed copy (see pyproject's package-dir)."""
    here = Path(__file__).resolve()
    installed = here.parents[1] / "prompt_templates"
    return installed if installed.is_dir() else here.parents[2] / "prompt_templates"


TEMPLATES_DIR = _templates_dir()
FREE_TEXT = "free-text"

# Words that already say where something is; the environment connector ("in") is not added.
PREPOSITIONS = frozenset(
    [
        "in",
        "on",
        "at",
        "inside",
        "outside",
        "under",
        "beneath",
        "below",
        "above",
        "over",
        "by",
        "near",
        "beside",
        "behind",
        "across",
        "along",
        "among",
        "amid",
        "around",
        "against",
        "atop",
        "through",
        "within",
        "into",
        "onto",
        "from",
        "between",
        "before",
        "underneath",
        "upon",
        "off",
        "past",
        "toward",
        "towards",
        "seated",
        "standing",
        "sitting",
        "lying",
    ]
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Slot(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    help: str
    placeholder: str = ""
    required: bool = False
    join: str = ""
    connector: str = ""
    kind: Literal["text", "aspect_ratio"] = "text"
    presets: tuple[str, ...] = ()
    multiline: bool = False
    multi: bool = False  # presets add to the text (a list of materials) instead of replacing it
    # Refining a draft of another template here (domain/handoff.py): the draft's slots whose
    # values fill this one, in order (default: the slot of the same id), and whether this slot,
    # left empty, is highlighted as one to fill (the production details the draft lacks).
    takes: tuple[str, ...] = ()
    to_fill: bool = False


class Check(_Strict):
    """A live prompt check declared in data.

    `requires_any`: warn when none of `patterns` (case-insensitive regexes) matches.
    `spatial_overload`: warn when several subjects get precise positions (see prompt_checks).
    """

    id: str
    kind: Literal["requires_any", "spatial_overload"]
    severity: Literal["error", "warning", "info"] = "warning"
    message: str
    patterns: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _patterns_compile(self) -> Check:
        if self.kind == "requires_any" and not self.patterns:
            raise ValueError(f"check {self.id}: requires_any needs patterns")
        for pattern in self.patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"check {self.id}: bad pattern {pattern!r}: {exc}") from None
        return self


class Example(_Strict):
    name: str
    slots: dict[str, str]
    expected: str
    aspect_ratio: str | None = None


class Template(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]*$")
    name: str
    families: tuple[Literal["nano-banana", "flux"], ...] = Field(min_length=1)
    structure: str
    description: str
    word_limit: int | None = Field(default=None, gt=0)
    suffix: str = ""
    tips: tuple[str, ...] = ()
    slots: tuple[Slot, ...] = Field(min_length=1)
    checks: tuple[Check, ...] = ()
    examples: tuple[Example, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Template:
        ids = [s.id for s in self.slots]
        if len(ids) != len(set(ids)):
            raise ValueError(f"template {self.id}: duplicate slot id")
        for example in self.examples:
            unknown = set(example.slots) - set(ids)
            if unknown:
                raise ValueError(f"template {self.id}: example uses unknown slots {unknown}")
        return self

    def slot(self, slot_id: str) -> Slot:
        for slot in self.slots:
            if slot.id == slot_id:
                return slot
        raise KeyError(slot_id)

    def assemble(self, values: dict[str, str]) -> str:
        """The prompt text these slot values make, `--ar` included where the template has it."""
        pieces: list[str] = []
        for slot in self.slots:
            value = " ".join((values.get(slot.id) or "").split())
            if not value:
                continue
            if slot.kind == "aspect_ratio":
                value = f"--ar {value}"
            elif slot.connector and value.split(" ", 1)[0].lower() not in PREPOSITIONS:
                value = f"{slot.connector} {value}"
            pieces.append((slot.join if pieces else "") + value)
        text = "".join(pieces)
        if self.suffix and text:
            # The suffix belongs before a trailing --ar flag, which always stays last.
            text, flag = _split_flag(text)
            text = f"{text}, {self.suffix}" + (f" {flag}" if flag else "")
        return text

    def missing_required(self, values: dict[str, str]) -> list[Slot]:
        return [s for s in self.slots if s.required and not (values.get(s.id) or "").strip()]


class TemplateLibrary(_Strict):
    templates: tuple[Template, ...]

    def get(self, template_id: str) -> Template:
        for template in self.templates:
            if template.id == template_id:
                return template
        raise KeyError(f"Unknown template '{template_id}'")

    def for_family(self, family: str) -> list[Template]:
        return [t for t in self.templates if family in t.families]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.templates)


def _split_flag(text: str) -> tuple[str, str]:
    match = re.search(r"\s*(--ar\s+\S+)\s*$", text)
    if not match:
        return text, ""
    return text[: match.start()], match.group(1)


def parse_template(data: dict[str, Any]) -> Template:
    return Template.model_validate(data)


@cache
def load_templates(directory: Path = TEMPLATES_DIR) -> TemplateLibrary:
    templates = []
    for path in sorted(directory.glob("*.toml")):
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        try:
            templates.append(parse_template(data))
        except ValueError as exc:
            raise ValueError(f"{path.name}: {exc}") from exc
    ids = [t.id for t in templates]
    if len(ids) != len(set(ids)):
        raise ValueError("two template files share an id")
    return TemplateLibrary(templates=tuple(templates))
