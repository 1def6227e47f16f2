"""Slot mapping for the hand-off from a draft to another model's template (domain/handoff.py)."""

from __future__ import annotations

from workbench.domain.handoff import map_slots
from workbench.domain.templates import load_templates

T = load_templates()
NANO, FLUX, FREE = T.get("nano-banana-scene"), T.get("flux-photographic"), T.get("free-text")


def test_the_articles_nano_banana_draft_fills_flux_subject_environment_and_look() -> None:
    m = map_slots(NANO, NANO.examples[0].slots, FLUX)
    assert m.slots == {
        "subject": "A woman reading",
        "environment": "on a sun-filled apartment balcony",
        "look": "warm and unhurried",
    }
    assert m.carried["subject"] == ("subject", "action")
    assert m.to_fill == ("lighting", "camera", "materials")
    assert m.left_behind == {"Time of day": "late afternoon"}


def test_the_environment_keeps_the_connector_the_draft_template_added() -> None:
    m = map_slots(NANO, {"subject": "A dog", "environment": "a park"}, FLUX)
    assert m.slots["environment"] == "in a park"
    assert FLUX.assemble(m.slots) == "A dog in a park"


def test_filled_production_slots_are_not_to_fill() -> None:
    values = {**FLUX.examples[0].slots, "lighting": "", "look": ""}
    m = map_slots(FLUX, values, FLUX)
    assert m.to_fill == ("lighting",)
    assert m.slots["camera"] == "85mm f/1.8 Canon L" and m.left_behind == {}


def test_flux_back_to_nano_carries_subject_and_environment_and_lists_the_rest() -> None:
    m = map_slots(FLUX, FLUX.examples[0].slots, NANO)
    assert m.slots == {
        "subject": "A woman in a tailored burgundy blazer",
        "environment": "seated at a marble desk",
    }
    assert set(m.left_behind) == {
        "Precise lighting", "Camera, lens and settings", "Material textures",
        "Colour and film look",
    }
    assert m.to_fill == ()  # Nano Banana marks no production slots


def test_free_text_goes_to_the_subject_without_its_aspect_ratio_flag() -> None:
    m = map_slots(FREE, {"prompt": "a red kite over dunes   --ar 3:2"}, FLUX)
    assert m.slots == {"subject": "a red kite over dunes"}
    assert m.to_fill == ("lighting", "camera", "materials")


def test_each_draft_slot_is_used_once_and_empty_ones_are_not_left_behind() -> None:
    m = map_slots(NANO, {"subject": "A cat", "action": "", "mood": "  "}, FLUX)
    assert m.slots == {"subject": "A cat"} and m.left_behind == {}
