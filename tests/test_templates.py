"""Template data files and assembly, including the seed article's two example prompts."""

import pytest
from pydantic import ValidationError

from workbench.domain.catalog import load_catalog
from workbench.domain.templates import load_templates, parse_template

# The seed article's two example prompts, verbatim, so that a data-file edit that breaks them
# fails here.
SEED_NANO = (
    "A woman reading on a sun-filled apartment balcony, late afternoon, warm and unhurried, "
    "photorealistic"
)
SEED_FLUX = (
    "A woman in a tailored burgundy blazer seated at a marble desk, natural north-facing window "
    "light from the left, 85mm f/1.8 Canon L, warm skin tones with pore-level detail, cream linen "
    "shirt fabric texture, polished marble with visible veining, Kodak Portra 400 color science"
)


def test_seed_examples_assemble_to_the_exact_text_of_the_article() -> None:
    library = load_templates()
    nano = library.get("nano-banana-scene")
    flux = library.get("flux-photographic")
    assert nano.assemble(nano.examples[0].slots) == SEED_NANO
    assert flux.assemble(flux.examples[0].slots) == SEED_FLUX


def test_every_example_in_every_template_assembles_to_its_expected_text() -> None:
    for template in load_templates().templates:
        for example in template.examples:
            assert template.assemble(example.slots) == example.expected, template.id


def test_every_model_has_its_default_template_and_every_family_a_template() -> None:
    library = load_templates()
    for model in load_catalog().models:
        template = library.get(model.default_template)
        assert model.family in template.families
        assert len(library.for_family(model.family)) >= 2  # its own + free text


def test_seed_structures_and_word_limit() -> None:
    library = load_templates()
    assert library.get("nano-banana-scene").structure == (
        "[Subject] [Action or Pose] in [Environment], [Time of day], [Mood], photorealistic"
    )
    assert library.get("nano-banana-scene").word_limit == 80
    assert library.get("flux-photographic").structure.endswith("[Material textures] --ar 16:9")


def test_connector_is_added_unless_the_value_brings_its_own_preposition() -> None:
    nano = load_templates().get("nano-banana-scene")
    with_in = nano.assemble({"subject": "A fox", "action": "sleeping", "environment": "a barn"})
    own = nano.assemble({"subject": "A fox", "action": "sleeping", "environment": "under a tree"})
    assert with_in == "A fox sleeping in a barn, photorealistic"
    assert own == "A fox sleeping under a tree, photorealistic"


def test_empty_slots_leave_no_dangling_separators() -> None:
    flux = load_templates().get("flux-photographic")
    assert flux.assemble({"subject": "A red kettle", "camera": "100mm macro f/2.8"}) == (
        "A red kettle, 100mm macro f/2.8"
    )
    assert flux.assemble({}) == ""


def test_aspect_ratio_slot_renders_as_a_trailing_flag() -> None:
    flux = load_templates().get("flux-photographic")
    text = flux.assemble({"subject": "A kettle", "aspect_ratio": "16:9", "look": "neutral"})
    assert text == "A kettle, neutral --ar 16:9"


def test_slots_have_labels_help_and_the_seeds_presets() -> None:
    library = load_templates()
    for template in library.templates:
        for slot in template.slots:
            assert slot.label and slot.help
    flux = library.get("flux-photographic")
    assert "85mm f/1.4" in flux.slot("camera").presets
    assert "shot on medium format" in flux.slot("camera").presets
    assert "brushed steel" in flux.slot("materials").presets
    assert "soft overcast from directly above" in flux.slot("lighting").presets
    assert library.get("nano-banana-scene").slot("time_of_day").presets


@pytest.mark.parametrize(
    "bad",
    [
        {"slots": [{"id": "a", "label": "A", "help": "h"}, {"id": "a", "label": "B", "help": "h"}]},
        {"examples": [{"name": "x", "slots": {"nope": "v"}, "expected": "v"}]},
        {"checks": [{"id": "c", "kind": "requires_any", "message": "m"}]},
        {
            "checks": [
                {"id": "c", "kind": "requires_any", "message": "m", "patterns": ["(unclosed"]}
            ]
        },
        {"families": ["dall-e"]},
        {"unexpected": True},
    ],
)
def test_invalid_template_data_is_rejected(bad: dict) -> None:
    base = {
        "id": "t",
        "name": "T",
        "families": ["flux"],
        "structure": "s",
        "description": "d",
        "slots": [{"id": "a", "label": "A", "help": "h"}],
    }
    with pytest.raises((ValidationError, ValueError)):
        parse_template({**base, **bad})


def test_a_capitalised_environment_that_brings_its_preposition_gets_no_added_in() -> None:
    nano = load_templates().get("nano-banana-scene")
    text = nano.assemble({"subject": "A fox", "action": "sleeping", "environment": "Under a tree"})
    assert text == "A fox sleeping Under a tree, photorealistic"
