"""AppTest for the hand-off: History detail -> "Refine on FLUX.2 Pro" -> the builder opens the
FLUX template prefilled from the draft, the production slots marked to fill, the draft going
along as a reference image; what it generates records its parent."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.ui import pages
from workbench.services.runs import handoff
from workbench.services.runs import runner as run_service
from workbench.services.runs.generation import GenerateRequest, generate_sync
from workbench.services.workbench import Workbench
from workbench.ui.navigation import BUILDER_LOAD_KEY, HISTORY_OPEN_KEY

TIMEOUT = 30
SLOTS = {"subject": "A woman", "action": "reading", "environment": "on a sun-filled balcony",
         "time_of_day": "late afternoon", "mood": "warm and unhurried"}


def _draft(wb: Workbench) -> str:
    outcome = generate_sync(wb, GenerateRequest(
        model="nano-banana-2", provider="offline", template_id="nano-banana-scene", slots=SLOTS,
        prompt="A woman reading on a sun-filled balcony, late afternoon, warm and unhurried, "
        "photorealistic", aspect_ratio="16:9",
    ))
    assert outcome.status == "succeeded"
    return outcome.id


def test_history_detail_refine_opens_the_builder_prefilled(
    data_dir: Path, seeded: Workbench
) -> None:
    draft = _draft(seeded)
    history = AppTest.from_function(pages.history_page, default_timeout=TIMEOUT)
    history.session_state[HISTORY_OPEN_KEY] = draft
    history.run()
    assert not history.exception
    assert history.selectbox(key="h_refine_target").value == "flux-2-pro"  # the default
    assert history.button(key="h_refine").label == "Refine on FLUX.2 Pro"
    history.button(key="h_refine").click().run()
    load = history.session_state[BUILDER_LOAD_KEY]
    assert load["refine"]["parent_id"] == draft

    build = AppTest.from_function(pages.build_page, default_timeout=TIMEOUT)
    build.session_state[BUILDER_LOAD_KEY] = load
    build.run()
    assert not build.exception
    assert build.selectbox(key="b_model").value == "flux-2-pro"
    # Our own Markdown renders (bold, italics); only the values in it are escaped.
    refining = next(m.value for m in build.markdown if "Refining" in m.value)
    assert refining.startswith(f"**Refining** generation `{draft}`") and "\\*" not in refining
    assert build.radio(key="b_template_flux").value == "flux-photographic"
    assert build.text_input(key="slot_flux-photographic_subject").value == "A woman reading"
    assert (build.text_input(key="slot_flux-photographic_environment").value
            == "on a sun-filled balcony")
    assert build.text_input(key="slot_flux-photographic_lighting").value == ""
    to_fill = [w.label for w in build.text_input if "to fill" in w.label]
    assert to_fill == [":orange[Precise lighting · to fill]",
                       ":orange[Camera, lens and settings · to fill]",
                       ":orange[Material textures · to fill]"]
    # The live checks run on the carried text: FLUX's lighting/lens/materials warnings.
    assert len([w for w in build.warning if "No lighting direction" in w.value]) == 1
    assert any("late afternoon" in c.value for c in build.caption)  # left behind, shown
    checkbox = build.checkbox(key=f"b_send_reference_{draft}_flux-2-pro_offline")
    assert checkbox.label == "Send the draft as reference image" and checkbox.value is True

    build.text_input(key="slot_flux-photographic_lighting").set_value(
        "soft window light from the left").run()
    assert not [w.label for w in build.text_input if "Precise lighting · to fill" in w.label]
    build.button(key="b_generate").click().run()
    assert not build.exception
    (child,) = seeded.lineage.descendants(draft)
    row = seeded.log.get(child.id)
    assert row is not None and row.parent_id == draft and row.model == "flux-2-pro"
    draft_row = seeded.log.get(draft)
    assert draft_row is not None
    assert row.params["reference_images"][0]["source_sha256"] == draft_row.image_sha256
    assert row.prompt.startswith("A woman reading on a sun-filled balcony, soft window light")


def test_unticking_the_reference_records_only_the_parent(data_dir: Path, seeded: Workbench) -> None:
    draft = _draft(seeded)
    build = AppTest.from_function(pages.build_page, default_timeout=TIMEOUT)
    build.session_state[BUILDER_LOAD_KEY] = handoff.refine_load(seeded, draft, "flux-2-pro")
    build.run()
    build.checkbox(key=f"b_send_reference_{draft}_flux-2-pro_offline").uncheck().run()
    build.button(key="b_generate").click().run()
    (child,) = seeded.lineage.descendants(draft)
    row = seeded.log.get(child.id)
    assert row is not None and "reference_images" not in row.params


def test_a_matrix_cell_refines_on_the_chosen_model(data_dir: Path, seeded: Workbench) -> None:
    at = AppTest.from_function(pages.matrix_page, default_timeout=TIMEOUT)
    at.run()
    at.text_area(key="m_prompts").set_value("a lighthouse at dusk").run()
    at.text_input(key="m_seeds").set_value("1").run()
    at.button(key="m_run").click().run()
    run_id = at.session_state["m_grid"]
    handle = run_service.active(run_id)
    assert handle is not None and handle.thread is not None
    handle.thread.join(60)
    at.run()
    assert not at.exception
    cell = next(c for c in seeded.log.run_cells(run_id) if "model=nano-banana-2" in c.cell)
    key = f"m_{cell.id}"
    assert at.selectbox(key=f"{key}_refine_target").value == "flux-2-pro"
    at.selectbox(key=f"{key}_refine_target").set_value("flux-2-max").run()
    at.button(key=f"{key}_refine").click().run()
    load = at.session_state[BUILDER_LOAD_KEY]
    assert (load["model"], load["refine"]["parent_id"]) == ("flux-2-max", cell.id)
    assert load["slots"]["subject"] == "a lighthouse at dusk"  # free text -> FLUX subject


def _refined(wb: Workbench, parent: str, model: str = "flux-2-pro") -> str:
    outcome = generate_sync(wb, GenerateRequest(
        model=model, provider="offline", prompt="A woman reading, 85mm f/1.4",
        parent_id=parent, send_reference=True,
    ))
    assert outcome.status == "succeeded", outcome.error
    return outcome.id


def test_the_detail_view_shows_the_chain_and_its_links_open_the_lineage(
    data_dir: Path, seeded: Workbench
) -> None:
    draft = _draft(seeded)
    final = _refined(seeded, draft)
    _draft(seeded)  # another draft, not in this lineage
    history = AppTest.from_function(pages.history_page, default_timeout=TIMEOUT)
    history.session_state[HISTORY_OPEN_KEY] = final
    history.run()
    assert not history.exception
    assert any("Lineage" in m.value for m in history.markdown)
    captions = [c.value for c in history.caption]
    assert "Nano Banana 2 · succeeded" in captions and "▶ FLUX.2 Pro · succeeded" in captions
    history.button(key=f"h_chain_0_{draft}").click().run()
    assert not history.exception
    assert history.text_input(key="h_lineage").value == draft
    assert history.selectbox(key="h_open").value == draft
    assert set(history.selectbox(key="h_open").options) == {
        history.selectbox(key="h_open").format_func(g) for g in (draft, final)
    }


def test_finals_only_keeps_refinements_across_families(data_dir: Path, seeded: Workbench) -> None:
    draft = _draft(seeded)
    final = _refined(seeded, draft)
    _refined(seeded, draft, model="nano-banana-pro")  # same family: not a final
    history = AppTest.from_function(pages.history_page, default_timeout=TIMEOUT)
    history.run()
    assert len(history.selectbox(key="h_open").options) == 3
    history.checkbox(key="h_finals").check().run()
    assert not history.exception
    box = history.selectbox(key="h_open")
    assert box.options == [box.format_func(final)]
