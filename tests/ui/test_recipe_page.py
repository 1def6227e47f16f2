""""Open from image" on the Build page (AppTest): a recipe restores the builder; an image
without one gets a clear message and changes nothing."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from PIL.PngImagePlugin import PngInfo
from streamlit.testing.v1 import AppTest

from tests.ui import pages
from workbench.services.delivery.provenance import image_with_provenance
from workbench.services.delivery.recipes import NO_RECIPE
from workbench.services.runs.generation import GenerateRequest, generate_sync
from workbench.services.workbench import Workbench

TIMEOUT = 30


def _png(parameters: str | None = None) -> bytes:
    info = PngInfo()
    if parameters is not None:
        info.add_text("parameters", parameters)
    out = io.BytesIO()
    Image.new("RGB", (64, 64)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def _upload(at: AppTest, data: bytes) -> None:
    at.file_uploader(key="b_recipe_upload").set_value(("image.png", data, "image/png")).run()
    at.button(key="b_recipe_apply").click().run()


def test_an_exported_image_restores_model_template_slots_and_seed(
    data_dir: Path, seeded: Workbench
) -> None:
    outcome = generate_sync(seeded, GenerateRequest(
        model="flux-2-pro", template_id="flux-photographic", seed=77, aspect_ratio="16:9",
        slots={"subject": "A copper kettle", "camera": "85mm f/1.4"},
        prompt="A copper kettle, 85mm f/1.4",
    ))
    data = image_with_provenance(seeded, outcome.id).data
    at = AppTest.from_function(pages.build_page, default_timeout=TIMEOUT)
    at.run()
    assert at.selectbox(key="b_model").value == "nano-banana-2"
    _upload(at, data)
    assert not at.exception
    assert at.selectbox(key="b_model").value == "flux-2-pro"
    assert at.text_input(key="slot_flux-photographic_subject").value == "A copper kettle"
    assert at.text_input(key="slot_flux-photographic_camera").value == "85mm f/1.4"
    assert at.text_input(key="b_seed").value == "77"
    assert any("Restored" in s.value for s in at.success)


def test_an_image_without_a_recipe_says_so_and_changes_nothing(data_dir: Path) -> None:
    at = AppTest.from_function(pages.build_page, default_timeout=TIMEOUT)
    at.run()
    at.text_input(key="slot_nano-banana-scene_subject").set_value("A lighthouse").run()
    _upload(at, _png())
    assert not at.exception
    assert NO_RECIPE in [w.value for w in at.warning]
    assert at.text_input(key="slot_nano-banana-scene_subject").value == "A lighthouse"


def test_a_corrupt_file_gets_a_message_not_a_traceback(data_dir: Path) -> None:
    at = AppTest.from_function(pages.build_page, default_timeout=TIMEOUT)
    at.run()
    _upload(at, b"\x89PNG\r\n\x1a\n broken")
    assert not at.exception
    assert any("not a readable image" in w.value for w in at.warning)
