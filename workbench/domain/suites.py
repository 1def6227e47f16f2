"""Prompt suites: named sets of test prompts, each tagged with the category it probes.

Suites are data files in `prompt_templates/suites/*.toml` (the file name is the suite id); a
plain text file with one prompt per line also works as an ad-hoc suite. This module owns their
schema, their validation and the text each model family receives. Pure domain code: pydantic
and `tomllib`, no streamlit, httpx or duckdb.

API for the runner and the command line:

    suite = load_suite("quick")              # a shipped suite id, or a path to a .toml / .txt
    for entry in suite.prompts:               # SuitePrompt
        sent = entry.for_family(model.family)  # FamilyPrompt(text, template_id, slots)
        entry.id, entry.category, entry.expected_text, entry.aspect_ratio
    load_suites()                             # {suite id: Suite} for every shipped file
    CATEGORIES["text"].label                  # id -> Category(label, description)

Any problem with a file raises `SuiteError` (a ValueError) whose message names the file, the
entry and what is wrong.

TOML schema (unknown keys are refused):

    id = "portrait"                  # must equal the file name without .toml
    name = "Portraits"
    description = "..."
    [[prompts]]
    id = "fisherman"                 # unique within the suite
    category = "portrait"            # one of CATEGORIES
    prompt = "..."                   # plain text, sent as is to any family without slots
    expected_text = "OPEN 24 HOURS"  # text that must be legible; required for category "text"
    aspect_ratio = "3:2"             # optional; the model's default otherwise
    notes = "..."                    # optional: what to look at when judging
    from_article = true              # optional: the wording is the seed article's, not ours
      [prompts.slots.nano-banana]    # optional: slot values for the family's default template
      subject = "..."
      [prompts.slots.flux]
      subject = "..."

Rules: every family gets a text (slots for it, or a plain `prompt`); slot names exist in the
family's template and its required slots are filled; the aspect ratio goes in `aspect_ratio`,
never as `--ar` in the text; an expected text appears in quotes in every family's text; a
`minimal` prompt stays within MINIMAL_MAX_WORDS words for every family.

Plain text file: one prompt per line; blank lines and lines starting with `#` are skipped (a
`#` inside a prompt is kept); a trailing `--ar W:H` becomes the entry's aspect ratio. Entries
are named `line-N` after their line number and have no category; the suite id is
`file:<file stem>`, which no shipped suite can take.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from workbench.domain.catalog import Family, load_catalog, parse_ratio
from workbench.domain.prompt_checks import prepare, word_count
from workbench.domain.templates import FREE_TEXT, TEMPLATES_DIR, Template, load_templates
from workbench.errors import InvalidInput

SUITES_DIR = TEMPLATES_DIR / "suites"
FAMILIES: tuple[str, ...] = get_args(Family)
MINIMAL_MAX_WORDS = 12
ADHOC_PREFIX = "file:"


class Category(NamedTuple):
    label: str
    description: str


CATEGORIES: dict[str, Category] = {
    "portrait": Category(
        "Portrait", "One person, face first: skin, eyes, hair and how light sits on them."
    ),
    "landscape": Category(
        "Landscape and wide scenes",
        "Vistas and establishing shots: depth, haze and texture far and near.",
    ),
    "texture": Category(
        "Textures and fine detail",
        "Close-ups where the surface is the subject: weave, grain, pores, rust, fibres.",
    ),
    "complex": Category(
        "Complex scenes",
        "Three or more subjects with stated positions; does each land where it was put?",
    ),
    "minimal": Category(
        "Minimal prompts",
        f"A few words (at most {MINIMAL_MAX_WORDS}); the model must fill in the rest itself.",
    ),
    "text": Category(
        "Text in the image", "Signs, labels and titles whose exact words must be legible."
    ),
    "product": Category(
        "Product photography",
        "A single object lit like a catalogue or advertising shot, materials exact.",
    ),
    "fashion": Category(
        "Fashion editorial",
        "Clothes on a model in a styled setting: cut, fabric and drape under directed light.",
    ),
    "architecture": Category(
        "Architectural visualisation",
        "Buildings and interiors: straight verticals, believable materials and light.",
    ),
}

_ID = r"^[a-z0-9][a-z0-9\-]*$"
# Quote pairs accepted around an expected text; the OCR score reads the same styles.
_QUOTE_PAIRS = (
    ('"', '"'),
    ("“", "”"),
    ("„", "“"),
    ("«", "»"),
    ("« ", " »"),
    ("‘", "’"),
    ("'", "'"),
    ("「", "」"),
)


class SuiteError(InvalidInput):
    """A suite file or entry that cannot be used; the message says where and why."""


@dataclass(frozen=True)
class FamilyPrompt:
    """What one model family is sent for an entry, and how it was built (for the log)."""

    text: str
    template_id: str
    slots: dict[str, str] | None


def family_template(family: str) -> Template:
    """The template every model of `family` uses by default (from the catalog)."""
    ids = {m.default_template for m in load_catalog().models if m.family == family}
    if len(ids) != 1:
        raise SuiteError(
            f"family '{family}' has {'no' if not ids else 'several'} default templates in the "
            f"catalog; known families: {', '.join(FAMILIES)}"
        )
    return load_templates().get(ids.pop())


def accepted_aspect_ratios() -> frozenset[str]:
    """Aspect ratios at least one catalog model accepts."""
    return frozenset(r for m in load_catalog().models for r in m.aspect_ratios)


def quoted_in(text: str, wanted: str) -> bool:
    """True when `wanted` appears in `text` between a pair of quotes."""
    return any(f"{left}{wanted}{right}" in text for left, right in _QUOTE_PAIRS)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SuitePrompt(_Strict):
    """One test prompt. `category` is None only for entries of an ad-hoc text file."""

    id: str = Field(pattern=_ID)
    category: str | None
    prompt: str | None = None
    slots: dict[str, dict[str, str]] = {}
    expected_text: str | None = None
    aspect_ratio: str | None = None
    notes: str = ""
    from_article: bool = False

    @model_validator(mode="after")
    def _valid(self) -> SuitePrompt:
        problems: list[str] = []
        if self.category is not None and self.category not in CATEGORIES:
            problems.append(
                f"unknown category '{self.category}' (known: {', '.join(CATEGORIES)})"
            )
        if self.prompt is not None:
            problems += _text_problems(self.prompt, "prompt")
        for family, values in self.slots.items():
            problems += _slot_problems(family, values)
        uncovered = [f for f in FAMILIES if f not in self.slots]
        if uncovered and not (self.prompt or "").strip():
            problems.append(
                "needs a plain `prompt` or slots for every family; nothing for "
                + ", ".join(uncovered)
            )
        if problems:
            raise ValueError("; ".join(problems))

        texts = {family: self.for_family(family).text for family in FAMILIES}
        for family in self.slots:
            problems += _text_problems(texts[family], f"text assembled for {family}")
        if self.category == "text" and not (self.expected_text or "").strip():
            problems.append(
                "a 'text' entry needs expected_text: the exact words the image must show"
            )
        if self.expected_text is not None:
            if not self.expected_text.strip():
                problems.append("expected_text is blank")
            else:
                for family, text in texts.items():
                    if not quoted_in(text, self.expected_text):
                        problems.append(
                            f'expected_text "{self.expected_text}" is not quoted in the text '
                            f"for {family}: {text!r}"
                        )
        if self.aspect_ratio is not None and self.aspect_ratio not in accepted_aspect_ratios():
            accepted = sorted(accepted_aspect_ratios(), key=_ratio_value)
            problems.append(
                f"no model accepts aspect ratio '{self.aspect_ratio}' "
                f"(accepted: {', '.join(accepted)})"
            )
        if self.category == "minimal":
            for family, text in texts.items():
                words = word_count(text)
                if words > MINIMAL_MAX_WORDS:
                    problems.append(
                        f"a 'minimal' prompt has at most {MINIMAL_MAX_WORDS} words; the text "
                        f"for {family} has {words}"
                    )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def for_family(self, family: str) -> FamilyPrompt:
        """The text sent to models of `family`: its slots assembled with the family's default
        template when the entry gives them, else the plain prompt."""
        if family not in FAMILIES:
            raise SuiteError(f"unknown family '{family}' (known: {', '.join(FAMILIES)})")
        values = self.slots.get(family)
        if values is not None:
            template = family_template(family)
            return FamilyPrompt(template.assemble(values), template.id, dict(values))
        if self.prompt is None:  # the validator makes this unreachable for a loaded entry
            raise SuiteError(f"entry '{self.id}' has no text for {family}")
        return FamilyPrompt(" ".join(self.prompt.split()), FREE_TEXT, None)

    def text_for(self, family: str) -> str:
        return self.for_family(family).text


def _ratio_value(ratio: str) -> float:
    width, height = parse_ratio(ratio)
    return width / height


def _text_problems(text: str, what: str) -> list[str]:
    prepared = prepare(text)
    problems = [f"{what}: {message}" for message in prepared.errors]
    if prepared.aspect_ratio:
        problems.append(f"{what}: put the aspect ratio in `aspect_ratio`, not as --ar in the text")
    return problems


def _slot_problems(family: str, values: dict[str, str]) -> list[str]:
    if family not in FAMILIES:
        return [f"slots for unknown family '{family}' (known: {', '.join(FAMILIES)})"]
    template = family_template(family)
    known = {s.id: s for s in template.slots}
    problems = []
    for name in values:
        slot = known.get(name)
        if slot is None:
            problems.append(
                f"slot '{name}' is not in template '{template.id}' used for {family} "
                f"(its slots: {', '.join(known)})"
            )
        elif slot.kind == "aspect_ratio":
            problems.append(
                f"slot '{name}' of {family}: give the aspect ratio in the entry's `aspect_ratio`"
            )
    for slot in template.missing_required(values):
        problems.append(f"template '{template.id}' for {family} needs slot '{slot.id}'")
    return problems


class Suite(_Strict):
    id: str = Field(pattern=r"^(file:)?[a-z0-9][a-z0-9._\-]*$")
    name: str = Field(min_length=1)
    description: str = ""
    prompts: tuple[SuitePrompt, ...]

    @model_validator(mode="after")
    def _unique_ids(self) -> Suite:
        if not self.prompts:
            raise ValueError("a suite needs at least one [[prompts]] entry")
        seen: set[str] = set()
        duplicates: set[str] = set()
        for entry in self.prompts:
            (duplicates if entry.id in seen else seen).add(entry.id)
        if duplicates:
            twice = sorted(set(duplicates))
            noun = "id" if len(twice) == 1 else "ids"
            raise ValueError(f"duplicate prompt {noun}: {', '.join(twice)}")
        return self

    @property
    def categories(self) -> tuple[str, ...]:
        """Categories present, in the order of CATEGORIES."""
        present = {p.category for p in self.prompts}
        return tuple(c for c in CATEGORIES if c in present)

    def get(self, prompt_id: str) -> SuitePrompt:
        for entry in self.prompts:
            if entry.id == prompt_id:
                return entry
        raise KeyError(f"suite '{self.id}' has no prompt '{prompt_id}'")


def _describe(exc: ValidationError, data: Any, whole: str = "suite") -> str:
    """Pydantic's errors as lines naming the entry by index and id (`whole` when neither)."""
    lines = []
    for error in exc.errors():
        loc = list(error["loc"])
        where = ""
        if len(loc) >= 2 and loc[0] == "prompts" and isinstance(loc[1], int):
            index = loc[1]
            entries = data.get("prompts") if isinstance(data, dict) else None
            entry_id = None
            if isinstance(entries, list) and index < len(entries) and isinstance(
                entries[index], dict
            ):
                entry_id = entries[index].get("id")
            where = f"prompt #{index + 1}" + (f" '{entry_id}'" if entry_id else "")
            loc = loc[2:]
        field = ".".join(str(part) for part in loc)
        where = ", ".join(part for part in (where, field) if part) or whole
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {message}" if where else message)
    return "; ".join(lines)


def parse_suite(data: dict[str, Any], source: str = "suite") -> Suite:
    """Validate suite data (a parsed TOML document); SuiteError names `source` on failure."""
    try:
        return Suite.model_validate(data)
    except ValidationError as exc:
        raise SuiteError(f"{source}: {_describe(exc, data)}") from None


def _prompt_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line of a prompt file that is a prompt: not blank, not a
    `#` comment."""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            yield number, line


def count_prompt_lines(text: str) -> int:
    """How many prompts `parse_prompt_lines` makes of `text` when every line is valid: what a
    run's size is counted from before any line is checked (a few ms for 10,000 lines; checking
    them takes seconds)."""
    return sum(1 for _ in _prompt_lines(text))


def parse_prompt_lines(text: str, name: str) -> Suite:
    """An ad-hoc suite from plain text: one prompt per line, `#` comment lines skipped."""
    prompts = []
    for number, line in _prompt_lines(text):
        prepared = prepare(line)
        if not prepared.ok:
            raise SuiteError(f"{name}, line {number}: {'; '.join(prepared.errors)}")
        try:
            prompts.append(
                SuitePrompt(
                    id=f"line-{number}",
                    category=None,
                    prompt=prepared.text,
                    aspect_ratio=prepared.aspect_ratio,
                )
            )
        except ValidationError as exc:
            raise SuiteError(f"{name}, line {number}: {_describe(exc, {}, '')}") from None
    if not prompts:
        raise SuiteError(f"{name}: no prompts (every line is blank or a # comment)")
    stem = re.sub(r"[^a-z0-9._\-]+", "-", Path(name).stem.lower()).strip("-._") or "prompts"
    return Suite(
        id=ADHOC_PREFIX + stem,
        name=Path(name).name,
        description=f"Prompts from {name}, one per line.",
        prompts=tuple(prompts),
    )


def _load_toml(path: Path) -> Suite:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{path.name}: not valid TOML: {exc}") from None
    suite = parse_suite(data, path.name)
    if suite.id != path.stem:
        raise SuiteError(
            f"{path.name}: suite id '{suite.id}' must match its file name ('{path.stem}')"
        )
    return suite


def load_suites(directory: Path = SUITES_DIR) -> dict[str, Suite]:
    """Every `*.toml` suite in `directory`, by id, in file-name order."""
    return {path.stem: _load_toml(path) for path in sorted(directory.glob("*.toml"))}


def load_suite(path_or_id: str | Path, directory: Path = SUITES_DIR) -> Suite:
    """A suite by shipped id ('quick'), or from a file: `.toml` as a suite, else plain text."""
    path = Path(path_or_id)
    if path.is_file():
        if path.suffix.lower() == ".toml":
            return _load_toml(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise SuiteError(f"{path.name}: not a UTF-8 text file") from None
        return parse_prompt_lines(text, str(path))
    name = str(path_or_id)
    if re.fullmatch(_ID, name) and (directory / f"{name}.toml").is_file():
        return _load_toml(directory / f"{name}.toml")
    known = ", ".join(sorted(p.stem for p in directory.glob("*.toml"))) or "none"
    raise SuiteError(f"no suite or prompt file '{name}' (shipped suites: {known})")
