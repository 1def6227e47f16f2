"""Restoring the builder from an image: our own `workbench` record, or an A1111 `parameters`
text written by another tool.

The result has the shape of `history.remix` (what the Build page's "open in builder" loads), so
the page restores both the same way. What cannot be restored (a model the catalog does not have,
an aspect ratio the model does not take, a negative prompt) is said in `notes`, never dropped
silently. Everything read from a file is validated here, at the edge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from math import gcd
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from workbench.domain.catalog import CatalogError, ModelSpec
from workbench.domain.plural import count
from workbench.domain.prompt_checks import MAX_PROMPT_CHARS
from workbench.errors import InvalidInput
from workbench.imaging.provenance import ProvenanceError, parse_parameters, read_metadata
from workbench.services.workbench import Workbench

NO_RECIPE = (
    "No recipe found in this image: it carries neither this workbench's record nor an "
    "A1111-style 'parameters' text."
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class RecipeError(InvalidInput):
    """An image whose recipe cannot be restored; the message says why, in a sentence."""


class _Record(BaseModel):
    """The fields of a `workbench` record the builder uses; anything else is ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str
    provider: str | None = None
    template_id: str | None = None
    slots: dict[str, str] | None = None
    prompt: str
    prompt_written: str | None = None
    aspect_ratio: str | None = None
    size: str | None = None
    seed: int | None = None


@dataclass(frozen=True)
class Recipe:
    source: Literal["workbench", "a1111"]
    load: dict[str, Any]  # the shape of `history.remix`
    notes: tuple[str, ...] = ()


def _clean(text: str, what: str, notes: list[str]) -> str:
    """Refuse text the builder would refuse; remove control characters and say so."""
    if len(text) > MAX_PROMPT_CHARS:
        raise RecipeError(
            f"The {what} in this image is {len(text):,} characters long; the builder takes at "
            f"most {MAX_PROMPT_CHARS:,}. Nothing was changed."
        )
    cleaned, removed = _CONTROLS.subn("", text)
    if removed:
        notes.append(f"Removed {count(removed, 'control character')} from the {what}.")
    return cleaned


def _model(wb: Workbench, wanted: str | None, fallback: str, notes: list[str]) -> ModelSpec:
    if wanted:
        for model in wb.catalog.models:
            if wanted.strip().lower() in (model.id, model.name.lower()):
                return model
        notes.append(f"Model '{wanted[:80]}' is not in the catalog; kept {fallback}.")
    try:
        return wb.catalog.model(fallback)
    except CatalogError:
        return wb.catalog.models[0]


def _ratio(width: int, height: int) -> str:
    d = gcd(width, height) or 1
    return f"{width // d}:{height // d}"


def _from_record(wb: Workbench, raw: dict[str, Any], current_model: str) -> Recipe:
    try:
        record = _Record.model_validate(raw)
    except ValidationError as exc:
        raise RecipeError(
            "This image's workbench record is damaged "
            f"({count(exc.error_count(), 'field')} unreadable); nothing was changed."
        ) from exc
    notes: list[str] = []
    model = _model(wb, record.model, current_model, notes)
    prompt = _clean(record.prompt_written or record.prompt, "prompt", notes)
    slots = {
        key[:100]: _clean(value, f"slot '{key[:40]}'", notes)
        for key, value in (record.slots or {}).items()
    } or None
    template_id = record.template_id
    if template_id and template_id != "free-text":
        try:
            template = wb.templates.get(template_id)
        except KeyError:
            notes.append(f"Template '{template_id[:80]}' is not installed; opened as free text.")
            template_id, slots = "free-text", None
        else:
            if model.family not in template.families:
                notes.append(f"Template '{template.name}' is not for {model.name}; free text.")
                template_id, slots = "free-text", None
    if record.aspect_ratio and record.aspect_ratio not in model.aspect_ratios:
        notes.append(f"{model.name} does not take aspect ratio {record.aspect_ratio[:20]}.")
    return Recipe(
        "workbench",
        {
            "model": model.id,
            "provider": record.provider,
            "template_id": template_id or "free-text",
            "slots": slots,
            "prompt": prompt,
            "aspect_ratio": record.aspect_ratio,
            "size": record.size,
            "seed": record.seed,
        },
        tuple(notes),
    )


def _from_parameters(wb: Workbench, text: str, current_model: str) -> Recipe:
    if len(text) > MAX_PROMPT_CHARS * 4:  # refuse before parsing a pasted book
        _clean(text, "'parameters' text", [])
    try:
        parsed = parse_parameters(text)
    except ProvenanceError as exc:  # longer than any text the workbench reads
        raise RecipeError(str(exc)) from exc
    notes: list[str] = []
    prompt = _clean(parsed.prompt, "prompt", notes)
    if not prompt.strip():
        raise RecipeError(NO_RECIPE)
    model = _model(wb, parsed.fields.get("Model"), current_model, notes)
    if parsed.negative_prompt:
        notes.append("The negative prompt was not restored: these models take none.")
    aspect_ratio = parsed.fields.get("Aspect ratio")
    if aspect_ratio is None and parsed.size is not None and all(parsed.size):
        aspect_ratio = _ratio(*parsed.size)
    if aspect_ratio and aspect_ratio not in model.aspect_ratios:
        notes.append(f"{model.name} does not take aspect ratio {aspect_ratio[:20]}.")
    provider = parsed.fields.get("Provider")
    return Recipe(
        "a1111",
        {
            "model": model.id,
            "provider": provider if provider in {o.provider for o in model.offers} else None,
            "template_id": "free-text",
            "slots": None,
            "prompt": prompt,
            "aspect_ratio": aspect_ratio,
            "size": None,
            "seed": parsed.seed,
        },
        tuple(notes),
    )


def recipe_from_image(wb: Workbench, data: bytes, current_model: str) -> Recipe:
    """What the builder should load from an image file. `current_model` stays chosen when the
    image names a model the catalog does not have. Raises `RecipeError` with a clear message."""
    try:
        found = read_metadata(data)
    except ProvenanceError as exc:
        raise RecipeError(str(exc)) from exc
    if found.workbench is not None:
        return _from_record(wb, found.workbench, current_model)
    if found.parameters:
        return _from_parameters(wb, found.parameters, current_model)
    raise RecipeError(NO_RECIPE)
