"""The gallery's Details button (AppTest): the detail opens in a dialog over the gallery, where
the user sees it however long the gallery is, for the image clicked; it is drawn once (not also
under the gallery, whose widgets would share its keys), and shows under the page again on the
next rerun."""

from __future__ import annotations

from typing import Any

from streamlit.testing.v1 import AppTest

from tests.arena_data import add_generation
from tests.ui.pages import history_page
from workbench.services.workbench import Workbench


def _subheaders(node: Any, in_dialog: bool = False) -> list[tuple[str, bool]]:
    """(text, inside a dialog) of every subheader under `node`."""
    found: list[tuple[str, bool]] = []
    if getattr(node, "type", None) == "subheader":
        found.append((node.value, in_dialog))
    dialog = in_dialog or getattr(node, "type", None) == "dialog"
    for child in getattr(node, "children", {}).values():
        found.extend(_subheaders(child, dialog))
    return found


def test_details_opens_the_clicked_image_in_a_dialog(data_dir, seeded: Workbench) -> None:
    ids = [add_generation(seeded, "flux-2-pro", f"a kite number {i}") for i in range(6)]
    at = AppTest.from_function(history_page, default_timeout=30)
    at.session_state["h_view"] = "Gallery"  # the gallery tab chosen
    at.run()
    assert not at.exception
    assert [t for t, dialog in _subheaders(at._tree) if dialog] == []
    oldest = ids[0]  # the last image of the gallery
    at.button(key=f"h_open_{oldest}").click().run()
    assert not at.exception
    shown = _subheaders(at._tree)
    assert (f"Generation {oldest}", True) in shown
    assert (f"Generation {oldest}", False) not in shown  # drawn once, in the dialog
    assert at.selectbox(key="h_open").value == oldest
    at.button(key="h_detail_here").click().run()
    shown = _subheaders(at._tree)
    assert (f"Generation {oldest}", False) in shown
    assert not [t for t, dialog in shown if dialog]
    assert not at.exception


def test_the_gallery_names_each_images_model(data_dir, seeded: Workbench) -> None:
    add_generation(seeded, "flux-2-pro", "a kite over the dunes")
    at = AppTest.from_function(history_page, default_timeout=30)
    at.session_state["h_view"] = "Gallery"
    at.run()
    assert not at.exception
    captions = [img.caption for element in at.get("image") for img in element.proto.imgs
                if img.caption]
    assert captions == ["FLUX.2 Pro · a kite over the dunes"]  # the name, never the id
