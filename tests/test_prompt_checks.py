"""Live prompt checks and the preparation of the text that is sent."""

import pytest

from workbench.domain.catalog import load_catalog
from workbench.domain.prompt_checks import MAX_PROMPT_CHARS, lint, prepare, word_count
from workbench.domain.templates import load_templates

SPATIAL = (
    "A woman in a red coat standing to the left of a wooden doorway, a dog sitting on the right "
    "step, afternoon light from behind"
)


def _lint(text: str, model: str, template: str = "free-text", slots: dict | None = None):
    library = load_templates()
    return lint(text, load_catalog().model(model), library.get(template), library, slots)


def _ids(prepared) -> set[str]:
    return {f.check for f in prepared.findings if f.severity in ("warning", "error")}


def test_word_count_against_the_nano_banana_limit() -> None:
    short = _lint("a portrait of a woman in golden afternoon light", "nano-banana-2")
    long = _lint(" ".join(["word"] * 81), "nano-banana-2")
    assert "word-count" not in _ids(short)
    assert "word-count" in _ids(long)
    message = next(f.message for f in long.findings if f.check == "word-count")
    assert "81 words" in message and "80" in message


def test_word_count_ignores_the_ar_flag() -> None:
    assert word_count("a red kettle --ar 16:9") == 3


def test_empty_required_slots_are_errors_naming_the_slot() -> None:
    result = _lint("A fox", "nano-banana-2", "nano-banana-scene", {"subject": "A fox"})
    missing = [f for f in result.findings if f.check == "required-slot"]
    assert [f.slot for f in missing] == ["environment"]
    assert not result.ok


def test_flux_checks_flag_missing_lighting_lens_and_material() -> None:
    bare = _lint("A kettle on a table", "flux-2-pro")
    assert {"lighting-direction", "lens", "materials"} <= _ids(bare)
    seed = load_templates().get("flux-photographic").examples[0].expected
    assert not {"lighting-direction", "lens", "materials"} & _ids(_lint(seed, "flux-2-pro"))


def test_flux_checks_do_not_apply_to_nano_banana() -> None:
    assert not {"lighting-direction", "lens", "materials"} & _ids(
        _lint("A kettle", "nano-banana-2")
    )


def test_nano_banana_warns_on_many_subjects_with_exact_positions() -> None:
    warned = _lint(SPATIAL, "nano-banana-2")
    assert "spatial-overload" in _ids(warned)
    message = next(f.message for f in warned.findings if f.check == "spatial-overload")
    assert "foreground" in message and "left of frame" in message
    simple = _lint(
        "A woman reading on a sun-filled apartment balcony, late afternoon", "nano-banana-2"
    )
    assert "spatial-overload" not in _ids(simple)
    assert "spatial-overload" not in _ids(_lint(SPATIAL, "flux-2-pro"))


def test_ar_flag_becomes_a_parameter_and_leaves_the_text() -> None:
    prepared = prepare("A misty forest at dawn --ar 21:9")
    assert prepared.text == "A misty forest at dawn"
    assert prepared.aspect_ratio == "21:9"
    inline = prepare("A forest --ar 3:2 at dawn")
    assert (inline.text, inline.aspect_ratio) == ("A forest at dawn", "3:2")


def test_ar_flag_the_model_does_not_take_is_an_error() -> None:
    result = _lint("A tall tower --ar 1:8", "nano-banana")
    assert not result.ok
    assert any("1:8" in e for e in result.errors)
    assert _lint("A tall tower --ar 1:8", "nano-banana-2").ok


def test_broken_ar_flag_is_an_error() -> None:
    assert not prepare("A forest --ar wide").ok


def test_control_characters_are_removed_and_reported() -> None:
    prepared = prepare("A red\x00 kettle\x1b[31m on a\u200b table")
    assert prepared.text == "A red kettle[31m on a table"
    assert any(f.check == "control-characters" for f in prepared.findings)


@pytest.mark.parametrize("text", ["", "   \n\t ", "\x00\x01"])
def test_empty_prompt_is_refused(text: str) -> None:
    prepared = prepare(text)
    assert not prepared.ok
    assert "empty" in prepared.errors[0]


def test_a_100000_character_prompt_is_refused_with_its_length() -> None:
    prepared = prepare("a" * 100_000)
    assert not prepared.ok
    assert "100,000" in prepared.errors[0] and f"{MAX_PROMPT_CHARS:,}" in prepared.errors[0]


def test_an_80_word_nano_banana_prompt_is_fine_and_81_words_warn() -> None:
    assert "word-count" not in _ids(_lint(" ".join(["word"] * 80), "nano-banana-2"))
    assert "word-count" in _ids(_lint(" ".join(["word"] * 81), "nano-banana-2"))


def test_the_last_of_several_ar_flags_is_sent() -> None:
    prepared = prepare("A misty forest --ar 16:9 at dawn --ar 1:1")
    assert prepared.aspect_ratio == "1:1"
    assert "--ar" not in prepared.text
