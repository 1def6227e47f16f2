"""The hand-off from a draft to another model's template: which slots carry over, which to fill.

Refining a generation on another model (a Nano Banana draft on FLUX.2 Pro, say) opens the
target's template with what the draft already says. Each target slot takes the draft's slots
named in its `takes` (data in `prompt_templates/`; default: the slot of the same id), joined
in that order, each as the draft's template would have written it (with its connector, so an
environment "a park" that read "in a park" still does). Every draft slot is used at most once.
Target slots marked `to_fill` that stay empty are the production details the draft lacks (for
FLUX: lighting direction, lens and settings, material textures); draft values no target slot
takes are listed as left behind, so nothing the user wrote silently disappears. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from workbench.domain.templates import PREPOSITIONS, Slot, Template

_AR_FLAG = re.compile(r"\s*--ar\s+\S+\s*$")


@dataclass(frozen=True)
class SlotMapping:
    slots: dict[str, str]  # target slot id -> value
    carried: dict[str, tuple[str, ...]] = field(default_factory=dict)  # target <- draft slots
    to_fill: tuple[str, ...] = ()  # target slot ids highlighted as still to fill
    left_behind: dict[str, str] = field(default_factory=dict)  # draft slot label -> value


def _as_written(slot: Slot, value: str) -> str:
    """The value as the draft's template put it in the text (connector added, flag removed)."""
    value = _AR_FLAG.sub("", " ".join(value.split()))
    if value and slot.connector and value.split(" ", 1)[0].lower() not in PREPOSITIONS:
        value = f"{slot.connector} {value}"
    return value


def map_slots(source: Template, values: dict[str, str], target: Template) -> SlotMapping:
    """The target template's slot values from a draft written in `source` with `values`."""
    draft = {
        s.id: _as_written(s, values.get(s.id) or "")
        for s in source.slots
        if s.kind == "text"
    }
    used: set[str] = set()
    slots: dict[str, str] = {}
    carried: dict[str, tuple[str, ...]] = {}
    for slot in target.slots:
        if slot.kind != "text":
            aspect = (values.get(slot.id) or "").strip()
            if any(s.id == slot.id and s.kind == slot.kind for s in source.slots) and aspect:
                slots[slot.id] = aspect
            continue
        names = [n for n in (slot.takes or (slot.id,)) if draft.get(n) and n not in used]
        used.update(names)
        if names:
            slots[slot.id] = " ".join(draft[n] for n in names)
            carried[slot.id] = tuple(names)
    to_fill = tuple(s.id for s in target.slots if s.to_fill and not slots.get(s.id))
    left = {
        s.label: draft[s.id] for s in source.slots if draft.get(s.id) and s.id not in used
    }
    return SlotMapping(slots=slots, carried=carried, to_fill=to_fill, left_behind=left)
