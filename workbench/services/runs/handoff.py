"""Refining a generation on another model: what the builder opens, and the draft as a reference.

"Refine on MODEL" (History detail, a Compare or Matrix cell) calls `refine_load`: the target
model's default template with the slots the draft's template shares filled in
(`domain/handoff.py`), the target's own production slots listed as still to fill, the draft's
aspect ratio where the target takes it, and the draft to refine (its id, model and thumbnail).
The builder sends it back as `GenerateRequest.parent_id` (and `send_reference`); `reference_for`
then turns the draft's stored image into the reference the chosen offer takes
(`imaging/reference.py`), or refuses with a sentence before anything is sent or paid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.domain.catalog import ModelSpec, Offer
from workbench.domain.handoff import map_slots
from workbench.domain.templates import FREE_TEXT, Template
from workbench.errors import InvalidInput
from workbench.imaging.reference import ReferenceImage, ReferenceRefused, prepare_reference
from workbench.providers.registry import provider_label
from workbench.services.delivery.provenance import stored_image
from workbench.services.workbench import Workbench
from workbench.store.records import Generation

DEFAULT_TARGET = "flux-2-pro"  # the article: move to FLUX.2 Pro for final production


class DraftUnavailable(InvalidInput):
    """The generation to refine is missing, or has no image to send as a reference."""


@dataclass(frozen=True)
class Target:
    model_id: str
    label: str  # "FLUX.2 Pro", for "Refine on FLUX.2 Pro"


def targets(wb: Workbench) -> list[Target]:
    """Every model a draft can be refined on, the default (FLUX.2 Pro) first."""
    models = sorted(wb.catalog.models, key=lambda m: m.id != DEFAULT_TARGET)
    return [Target(m.id, m.name) for m in models]


def _template(wb: Workbench, template_id: str | None) -> Template:
    try:
        return wb.templates.get(template_id or FREE_TEXT)
    except KeyError:
        return wb.templates.get(FREE_TEXT)


def _draft(wb: Workbench, generation_id: str) -> Generation:
    record = wb.log.get(generation_id)
    if record is None:
        raise DraftUnavailable(f"Generation {generation_id} is not in the log.")
    return record


def refine_load(wb: Workbench, generation_id: str, target_model: str) -> dict[str, Any]:
    """The builder's load for refining `generation_id` on `target_model` (see the module doc)."""
    record = _draft(wb, generation_id)
    model = wb.catalog.model(target_model)
    source = _template(wb, record.template_id)
    values = dict(record.slots or {})
    if source.id == FREE_TEXT or not values:
        source = wb.templates.get(FREE_TEXT)
        values = {"prompt": record.prompt_written or record.prompt}
    target = wb.templates.get(model.default_template)
    mapping = map_slots(source, values, target)
    slots = dict(mapping.slots)
    ratio = record.aspect_ratio
    ratio = ratio if ratio in model.aspect_ratios else None
    for slot in target.slots:  # FLUX writes the ratio as `--ar W:H`: keep the draft's
        if slot.kind == "aspect_ratio" and ratio and not slots.get(slot.id):
            slots[slot.id] = ratio
    thumb = record.thumb_path
    return {
        "model": model.id,
        "template_id": target.id,
        "slots": slots,
        "prompt": "",
        "aspect_ratio": ratio,
        "refine": {
            "parent_id": record.id,
            "parent_model": wb.catalog.model(record.model).name
            if record.model in wb.catalog.ids
            else record.model,
            "parent_prompt": record.prompt,
            "thumb_file": str(wb.images.absolute(thumb)) if thumb else None,
            "has_image": bool(record.image_path),
            "to_fill": list(mapping.to_fill),
            "left_behind": mapping.left_behind,
        },
    }


def who(model: ModelSpec, offer: Offer) -> str:
    return f"{model.name} via {provider_label(offer.provider)}"


def reference_for(
    wb: Workbench, parent_id: str, model: ModelSpec, offer: Offer
) -> ReferenceImage:
    """The draft's image as this offer takes it; `InvalidInput` with the reason otherwise."""
    if offer.reference is None:
        others = [
            provider_label(o.provider) for o in model.offers if o.reference is not None
        ]
        can = f" {', '.join(others)} take one." if others else ""
        raise InvalidInput(
            f"{who(model, offer)} takes no reference image. Untick \"Send the draft as "
            f"reference image\" or choose another provider.{can}"
        )
    _, data = stored_image(wb, parent_id)  # ExportError (an InvalidInput) says what is wrong
    try:
        return prepare_reference(data, offer.reference, who(model, offer))
    except ReferenceRefused as exc:
        raise InvalidInput(str(exc)) from None


@dataclass(frozen=True)
class ChainLink:
    """One generation in a lineage chain, as the detail view shows it."""

    id: str
    model: str  # the model's name
    status: str
    thumb_file: str | None
    current: bool = False


def chain(wb: Workbench, generation_id: str) -> list[ChainLink]:
    """The lineage through `generation_id`: ancestors from the first draft, the generation
    itself, then its descendants (nearest first). Just the generation when it has neither."""
    record = _draft(wb, generation_id)

    def name(model_id: str) -> str:
        return wb.catalog.model(model_id).name if model_id in wb.catalog.ids else model_id

    def thumb(path: str | None) -> str | None:
        return str(wb.images.absolute(path)) if path else None

    up = [
        ChainLink(n.id, name(n.model), n.status, thumb(n.thumb_path))
        for n in reversed(wb.lineage.ancestors(generation_id))
    ]
    down = [
        ChainLink(n.id, name(n.model), n.status, thumb(n.thumb_path))
        for n in wb.lineage.descendants(generation_id)
    ]
    here = ChainLink(
        record.id, name(record.model), record.status, thumb(record.thumb_path),
        current=True,
    )
    return [*up, here, *down]
