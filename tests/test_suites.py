"""Prompt suites: the shipped data files, the loader's rules and the text each family receives."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from tests.test_templates import SEED_FLUX, SEED_NANO
from workbench.domain import suites as suites_module
from workbench.domain.catalog import load_catalog
from workbench.domain.prompt_checks import word_count
from workbench.domain.suites import (
    CATEGORIES,
    FAMILIES,
    MINIMAL_MAX_WORDS,
    SUITES_DIR,
    Suite,
    SuiteError,
    SuitePrompt,
    load_suite,
    load_suites,
    parse_prompt_lines,
    parse_suite,
)
from workbench.domain.templates import FREE_TEXT, load_templates

EXPECTED_CATEGORIES = {
    "portrait", "landscape", "texture", "complex", "minimal", "text", "product", "fashion",
    "architecture",
}
# Phrases that place a subject, precise or coarse; complex entries need at least two per text.
POSITIONAL = re.compile(
    r"\b(to the (?:left|right) of|(?:on|at) the (?:far )?(?:left|right)|(?:left|right) of frame|"
    r"in front of|behind|between|on top of|above|below|beside|next to|"
    r"in the (?:foreground|background|centre|center|middle))\b",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def shipped() -> dict[str, Suite]:
    return load_suites()


def all_entries(shipped: dict[str, Suite]) -> list[tuple[str, SuitePrompt]]:
    return [(suite.id, entry) for suite in shipped.values() for entry in suite.prompts]


def texts(entry: SuitePrompt) -> dict[str, str]:
    return {family: entry.text_for(family) for family in FAMILIES}


# -- the shipped files ---------------------------------------------------------------------------

def test_every_shipped_file_validates_and_loads_by_id(shipped: dict[str, Suite]) -> None:
    files = sorted(p.stem for p in SUITES_DIR.glob("*.toml"))
    assert sorted(shipped) == files
    assert {"quick", "article"} | EXPECTED_CATEGORIES <= set(files)
    for suite_id, suite in shipped.items():
        assert suite.id == suite_id
        assert load_suite(suite_id) == suite
        assert suite.name and suite.description


def test_categories_are_the_fixed_nine_with_labels_and_descriptions() -> None:
    assert set(CATEGORIES) == EXPECTED_CATEGORIES
    for category in CATEGORIES.values():
        assert category.label and category.description
        assert "\n" not in category.description


def test_at_least_five_own_prompts_per_category(shipped: dict[str, Suite]) -> None:
    counts = dict.fromkeys(CATEGORIES, 0)
    for _, entry in all_entries(shipped):
        assert entry.category in CATEGORIES
        if not entry.from_article:  # the article's wording does not count as ours
            counts[entry.category] += 1
    assert all(n >= 5 for n in counts.values()), counts


def test_each_category_file_holds_only_its_own_category(shipped: dict[str, Suite]) -> None:
    for category in CATEGORIES:
        assert shipped[category].categories == (category,)
        assert len(shipped[category].prompts) >= 5


def test_mixed_suites_cover_every_category(shipped: dict[str, Suite]) -> None:
    quick = shipped["quick"]
    assert quick.categories == tuple(CATEGORIES)
    assert len(quick.prompts) == len(CATEGORIES)  # one each
    assert shipped["article"].categories == tuple(CATEGORIES)


def test_no_prompt_text_is_shipped_twice(shipped: dict[str, Suite]) -> None:
    seen: dict[str, str] = {}
    for suite_id, entry in all_entries(shipped):
        for text in set(texts(entry).values()):
            assert text not in seen, f"{suite_id}/{entry.id} repeats {seen.get(text)}"
            seen[text] = f"{suite_id}/{entry.id}"


def test_entries_from_the_article_are_the_articles_exact_text(shipped: dict[str, Suite]) -> None:
    article = [e for _, e in all_entries(shipped) if e.from_article]
    assert len(article) == 2
    for entry in article:
        family_texts = set(texts(entry).values())
        assert len(family_texts) == 1  # the article sends the same prompt to both
        assert family_texts <= {SEED_NANO, SEED_FLUX}
    assert {e.text_for("nano-banana") for e in article} == {SEED_NANO, SEED_FLUX}


def test_text_entries_quote_their_expected_text_for_every_family(
    shipped: dict[str, Suite],
) -> None:
    expected = []
    for _, entry in all_entries(shipped):
        if entry.category != "text":
            continue
        assert entry.expected_text
        for text in texts(entry).values():
            assert f'"{entry.expected_text}"' in text
        expected.append(entry.expected_text)
    # the set varies what makes text hard to render
    assert any(any(c.isdigit() for c in t) for t in expected)
    assert any(any(ord(c) > 127 and c.isalpha() for c in t) for t in expected)
    assert any(t.islower() for t in expected) and any(t.isupper() for t in expected)
    assert any(re.search(r"[!,'&/.]", t) for t in expected)
    lengths = sorted(len(t) for t in expected)
    assert lengths[0] <= 3 and lengths[-1] >= 20


def test_complex_entries_place_subjects_for_every_family(shipped: dict[str, Suite]) -> None:
    checked = 0
    for _, entry in all_entries(shipped):
        if entry.category == "complex":
            for family, text in texts(entry).items():
                found = POSITIONAL.findall(text)
                assert len(found) >= 2, (entry.id, family, found)
            checked += 1
    assert checked >= 5


def test_minimal_entries_are_short(shipped: dict[str, Suite]) -> None:
    minimal = [e for _, e in all_entries(shipped) if e.category == "minimal"]
    assert len(minimal) >= 5
    for entry in minimal:
        for text in texts(entry).values():
            assert word_count(text) <= MINIMAL_MAX_WORDS, text


def test_nano_banana_texts_stay_within_the_templates_word_limit(
    shipped: dict[str, Suite],
) -> None:
    limit = load_templates().get("nano-banana-scene").word_limit
    assert limit
    for _, entry in all_entries(shipped):
        assert word_count(entry.text_for("nano-banana")) <= limit, entry.id


def test_shipped_aspect_ratios_suit_every_catalog_model(shipped: dict[str, Suite]) -> None:
    # Stricter than the loader (any model): a shipped suite must run on every model unchanged.
    models = load_catalog().models
    for suite_id, entry in all_entries(shipped):
        if entry.aspect_ratio:
            refusing = [m.id for m in models if entry.aspect_ratio not in m.aspect_ratios]
            assert not refusing, f"{suite_id}/{entry.id} {entry.aspect_ratio}: {refusing}"


def test_some_shipped_entries_use_slots_for_both_families(shipped: dict[str, Suite]) -> None:
    both = [e for _, e in all_entries(shipped) if set(e.slots) == set(FAMILIES)]
    assert len(both) >= 9
    for entry in both:
        nano, flux = entry.for_family("nano-banana"), entry.for_family("flux")
        assert nano.template_id == "nano-banana-scene" and flux.template_id == "flux-photographic"
        assert nano.text.endswith(", photorealistic") and nano.text != flux.text


# -- assembly per family -------------------------------------------------------------------------

def entry(**fields: Any) -> SuitePrompt:
    return SuitePrompt.model_validate({"id": "e", "category": "portrait", **fields})


def test_slots_assemble_with_each_familys_default_template() -> None:
    e = entry(
        slots={
            "nano-banana": {
                "subject": "A potter", "action": "shaping a bowl", "environment": "a barn",
                "time_of_day": "dusk",
            },
            "flux": {"subject": "A potter at a wheel", "camera": "50mm f/2"},
        }
    )
    nano = e.for_family("nano-banana")
    assert nano.text == "A potter shaping a bowl in a barn, dusk, photorealistic"
    assert nano.template_id == "nano-banana-scene"
    assert nano.slots == {
        "subject": "A potter", "action": "shaping a bowl", "environment": "a barn",
        "time_of_day": "dusk",
    }
    flux = e.for_family("flux")
    assert (flux.text, flux.template_id) == ("A potter at a wheel, 50mm f/2", "flux-photographic")
    assert e.text_for("flux") == flux.text


def test_plain_prompt_goes_to_families_without_slots() -> None:
    e = entry(
        prompt="  A potter   at work ",
        slots={"flux": {"subject": "A potter at a wheel"}},
    )
    plain = e.for_family("nano-banana")
    assert (plain.text, plain.template_id, plain.slots) == ("A potter at work", FREE_TEXT, None)
    assert e.text_for("flux") == "A potter at a wheel"


def test_unknown_family_is_refused_when_asking_for_text() -> None:
    with pytest.raises(SuiteError, match="unknown family 'dall-e'"):
        entry(prompt="x").for_family("dall-e")


# -- bad data ------------------------------------------------------------------------------------

def suite_data(*prompts: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": "s", "name": "S", "prompts": list(prompts), **extra}


def p(**fields: Any) -> dict[str, Any]:
    return {"id": "a", "category": "portrait", "prompt": "A woman by a window", **fields}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (suite_data(p(category="selfie")), "prompt #1 'a': unknown category 'selfie'"),
        (suite_data(p(), p()), "duplicate prompt id: a"),
        (
            suite_data(p(category="text", prompt='A sign that says "OPEN"')),
            "a 'text' entry needs expected_text",
        ),
        (
            suite_data(p(category="text", prompt="A sign that says OPEN", expected_text="OPEN")),
            'expected_text "OPEN" is not quoted in the text for nano-banana',
        ),
        (
            suite_data(
                p(category="text", prompt='A sign that says "CLOSED"', expected_text="OPEN")
            ),
            'expected_text "OPEN" is not quoted',
        ),
        (
            suite_data(
                p(
                    category="text",
                    prompt='A sign that says "OPEN"',
                    expected_text="OPEN",
                    slots={"flux": {"subject": "A sign that says OPEN"}},
                )
            ),
            'expected_text "OPEN" is not quoted in the text for flux',
        ),
        (suite_data(p(aspect_ratio="7:3")), "no model accepts aspect ratio '7:3'"),
        (suite_data(p(aspect_ratio="wide")), "no model accepts aspect ratio 'wide'"),
        (
            suite_data(p(slots={"flux": {"subject": "A woman", "mood": "calm"}})),
            "slot 'mood' is not in template 'flux-photographic'",
        ),
        (
            suite_data(p(slots={"midjourney": {"subject": "A woman"}})),
            "slots for unknown family 'midjourney'",
        ),
        (
            suite_data(p(slots={"nano-banana": {"subject": "A woman"}})),
            "needs slot 'environment'",
        ),
        (
            suite_data(p(slots={"flux": {"subject": "A woman", "aspect_ratio": "16:9"}})),
            "give the aspect ratio in the entry's `aspect_ratio`",
        ),
        (
            suite_data(p(prompt=None, slots={"flux": {"subject": "A woman"}})),
            "needs a plain `prompt` or slots for every family; nothing for nano-banana",
        ),
        (suite_data(p(prompt="A woman by a window --ar 16:9")), "not as --ar in the text"),
        (suite_data(p(prompt="   ")), "The prompt is empty"),
        (
            suite_data(p(category="minimal", prompt=" ".join(["word"] * 13))),
            "at most 12 words; the text for nano-banana has 13",
        ),
        (suite_data(p(colour="red")), "prompt #1 'a', colour: Extra inputs are not permitted"),
        (suite_data(p(id="Bad Id")), "prompt #1 'Bad Id', id: String should match pattern"),
        (suite_data(p(category=None)), "category"),  # TOML has no null, but JSON would
        (suite_data(), "bad.toml: suite: a suite needs at least one [[prompts]] entry"),
        (suite_data(p(), owner="me"), "owner: Extra inputs are not permitted"),
    ],
)
def test_bad_suite_data_is_rejected_with_a_clear_message(
    data: dict[str, Any], message: str
) -> None:
    if message == "category":
        # None is the ad-hoc marker; a suite file cannot omit the key
        data["prompts"][0].pop("category")
        message = "prompt #1 'a', category: Field required"
    with pytest.raises(SuiteError) as caught:
        parse_suite(data, "bad.toml")
    assert str(caught.value).startswith("bad.toml: ")
    assert message in str(caught.value)


def test_every_problem_of_an_entry_is_reported_at_once() -> None:
    data = suite_data(p(category="text", prompt="A sign", aspect_ratio="7:3"))
    with pytest.raises(SuiteError) as caught:
        parse_suite(data)
    assert "needs expected_text" in str(caught.value)
    assert "aspect ratio '7:3'" in str(caught.value)


def test_curly_and_guillemet_quotes_count_as_quoting() -> None:
    for prompt in ("A sign that says “OPEN”", "Une enseigne « OUVERT »", "A sign reading 'OPEN'"):
        wanted = "OUVERT" if "OUVERT" in prompt else "OPEN"
        e = entry(category="text", prompt=prompt, expected_text=wanted)
        assert e.expected_text == wanted


def test_a_suite_file_must_be_named_after_its_id(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(
        'id = "other"\nname = "N"\n[[prompts]]\nid = "a"\ncategory = "portrait"\nprompt = "x"\n'
    )
    with pytest.raises(SuiteError, match="suite id 'other' must match its file name"):
        load_suite(tmp_path / "mine.toml")
    with pytest.raises(SuiteError, match=re.escape("mine.toml")):
        load_suites(tmp_path)


def test_broken_toml_is_reported_with_the_file_name(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text('id = "broken"\nname = \n')
    with pytest.raises(SuiteError, match=re.escape("broken.toml: not valid TOML")):
        load_suite(tmp_path / "broken.toml")


def test_a_suite_file_outside_the_shipped_folder_loads_by_path(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(
        'id = "mine"\nname = "Mine"\n[[prompts]]\nid = "a"\ncategory = "minimal"\n'
        'prompt = "a fox"\n'
    )
    suite = load_suite(str(tmp_path / "mine.toml"))
    assert (suite.id, suite.prompts[0].text_for("flux")) == ("mine", "a fox")
    assert load_suite("mine", directory=tmp_path) == suite


def test_unknown_suite_lists_the_shipped_ones() -> None:
    with pytest.raises(SuiteError) as caught:
        load_suite("no-such-suite")
    assert "no suite or prompt file 'no-such-suite'" in str(caught.value)
    assert "quick" in str(caught.value) and "portrait" in str(caught.value)


# -- plain text files ----------------------------------------------------------------------------

def test_plain_text_file_is_an_ad_hoc_suite(tmp_path: Path) -> None:
    path = tmp_path / "My Ideas.txt"
    path.write_text(
        "# ideas for Friday\n"
        "\n"
        "a lighthouse in a storm\n"
        "   \n"
        "  # an indented comment\n"
        "a mug that says \"#1 DAD\" on a desk   --ar 3:2\n"
        "   a fox in snow   \n",
        encoding="utf-8",
    )
    suite = load_suite(path)
    assert suite.id == "file:my-ideas"
    assert suite.name == "My Ideas.txt"
    assert [(e.id, e.prompt, e.aspect_ratio) for e in suite.prompts] == [
        ("line-3", "a lighthouse in a storm", None),
        ("line-6", 'a mug that says "#1 DAD" on a desk', "3:2"),
        ("line-7", "a fox in snow", None),
    ]
    assert all(e.category is None and e.expected_text is None for e in suite.prompts)
    assert suite.prompts[1].text_for("nano-banana") == 'a mug that says "#1 DAD" on a desk'
    assert suite.categories == ()


def test_plain_text_with_a_byte_order_mark_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "win.txt"
    path.write_bytes("\ufeffa red kite\r\n# note\r\nsecond one\r\n".encode())
    assert [e.prompt for e in load_suite(path).prompts] == ["a red kite", "second one"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# only a comment\n\n", "no prompts"),
        ("", "no prompts"),
        ("fine\na fox --ar wide\n", "line 2: The --ar flag needs a ratio"),
        ("a fox --ar 7:3\n", "line 1: no model accepts aspect ratio '7:3'"),
    ],
)
def test_bad_plain_text_is_rejected_with_its_line(text: str, message: str) -> None:
    with pytest.raises(SuiteError) as caught:
        parse_prompt_lines(text, "ideas.txt")
    assert message in str(caught.value)
    assert str(caught.value).startswith("ideas.txt")


def test_binary_file_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\xff\xfe")
    with pytest.raises(SuiteError, match=re.escape("photo.jpg: not a UTF-8 text file")):
        load_suite(path)


# -- layering ------------------------------------------------------------------------------------

def test_suites_module_is_domain_code() -> None:
    tree = ast.parse(Path(suites_module.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"streamlit", "duckdb", "httpx"}
    assert ast.get_docstring(tree)
