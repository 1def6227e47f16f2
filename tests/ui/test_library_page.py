"""The Library page and the Build page's "Save to library" (AppTest): saving appends versions,
a bad name loses nothing, "Open in builder" restores a version and links what it generates,
and the page shows versions, marks, the diff and the side-by-side figures."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.ui import pages
from workbench.services.delivery import library
from workbench.services.runs.generation import GenerateRequest, generate_sync
from workbench.services.workbench import Workbench
from workbench.store.records import LibraryVersion
from workbench.ui.navigation import BUILDER_LOAD_KEY as LOAD_KEY

TIMEOUT = 30
KITE = "A red kite over dunes, late afternoon"
SUBJECT = "slot_nano-banana-scene_subject"


def _save(wb: Workbench, prompt: str = KITE) -> LibraryVersion:
    return library.save(wb, {"name": "kite", "model": "nano-banana-2", "provider": "offline",
                             "template_id": "free-text", "slots": {"prompt": prompt},
                             "prompt": prompt})


def test_save_from_the_builder_appends_versions(data_dir: Path, seeded: Workbench) -> None:
    at = AppTest.from_function(pages.build_page, default_timeout=TIMEOUT)
    at.run()
    at.text_input(key=SUBJECT).set_value("A lighthouse").run()
    at.text_input(key="b_library_name").set_value("coast").run()
    at.button(key="b_library_save").click().run()
    assert not at.exception
    assert any("version 1" in s.value for s in at.success)
    at.text_input(key=SUBJECT).set_value("A lighthouse in fog").run()
    at.button(key="b_library_save").click().run()
    assert any("version 2" in s.value for s in at.success)
    first, second = seeded.library.versions("coast")
    assert "A lighthouse" in first.prompt and "fog" not in first.prompt
    assert "A lighthouse in fog" in second.prompt
    assert first.slots["subject"] == "A lighthouse"
    assert first.template_id == "nano-banana-scene"


def test_a_bad_name_gets_a_message_and_loses_nothing(data_dir: Path, seeded: Workbench) -> None:
    at = AppTest.from_function(pages.build_page, default_timeout=TIMEOUT)
    at.run()
    at.text_input(key=SUBJECT).set_value("A lighthouse").run()
    at.text_input(key="b_library_name").set_value("../coast").run()
    at.button(key="b_library_save").click().run()
    assert not at.exception
    assert any("path or control characters" in e.value for e in at.error)
    assert at.text_input(key=SUBJECT).value == "A lighthouse"
    assert seeded.library.count() == 0


def test_a_version_opened_in_the_builder_links_what_it_generates(
    data_dir: Path, seeded: Workbench
) -> None:
    saved = library.resolve(seeded, _save(seeded).name)
    at = AppTest.from_function(pages.build_page, default_timeout=TIMEOUT)
    at.session_state[LOAD_KEY] = library.to_builder(saved)
    at.run()
    assert at.text_area(key="slot_free-text_prompt").value == KITE
    at.button(key="b_generate").click().run()
    assert not at.exception
    assert len(seeded.library.generations(saved.id)) == 1
    # Edited, it is no longer that version: the next generation is not counted for it.
    at.text_area(key="slot_free-text_prompt").set_value(KITE + " with gulls").run()
    at.button(key="b_generate").click().run()
    assert len(seeded.library.generations(saved.id)) == 1


def test_library_page_shows_versions_marks_diff_and_figures(
    data_dir: Path, seeded: Workbench
) -> None:
    v1 = _save(seeded).id
    _save(seeded, "A blue kite over dunes, late afternoon")
    generated = generate_sync(seeded, GenerateRequest(
        model="nano-banana-2", provider="offline", prompt=KITE, library_version_id=v1,
    ))
    seeded.ratings.add(generated.id, "overall", 4)
    at = AppTest.from_function(pages.library_page, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    assert at.title[0].value == "Prompt library"
    assert at.selectbox(key="lib_name").value == "kite"
    assert at.selectbox(key="lib_version").value == 2
    assert any("~~red~~" in m.value and "blue" in m.value for m in at.markdown)
    table = at.table[0].value
    assert table.loc["generations", "version 1"] == "1 (1 ok)"
    assert table.loc["generations", "version 2"] == "0 (0 ok)"
    assert table.loc["mean stars: overall", "version 1"] == "4.00★ (n=1)"
    at.selectbox(key="lib_version").set_value(1).run()
    assert KITE in [c.value for c in at.code]
    assert list(at.dataframe[1].value["id"]) == [generated.id]

    at.text_input(key="lib_tags").set_value("Beach, draft")
    at.checkbox(key="lib_star").check()
    at.button[0].click().run()  # the marks form's submit button
    assert not at.exception
    assert seeded.library.marks("kite").tags == ["beach", "draft"]
    assert seeded.library.marks("kite").favourite is True


def test_library_search_with_no_match_says_so(data_dir: Path, seeded: Workbench) -> None:
    _save(seeded)
    at = AppTest.from_function(pages.library_page, default_timeout=TIMEOUT)
    at.run()
    at.text_input(key="lib_search").set_value("lighthouse").run()
    assert not at.exception
    assert any("Nothing saved matches" in i.value for i in at.info)


def test_open_in_builder_from_the_library_page(data_dir: Path, seeded: Workbench) -> None:
    saved = library.resolve(seeded, _save(seeded).name)
    at = AppTest.from_function(pages.library_page, default_timeout=TIMEOUT)
    at.run()
    at.button(key="lib_open").click().run()
    assert not at.exception
    # What the Build page loads (the test above shows it restores and links from this).
    assert at.session_state[LOAD_KEY] == library.to_builder(saved)
