"""The Compare page: one intent on several models side by side, several variations each. Built
from slots, each model receives the text of its own recommended structure; the page shows every
text before anything is sent."""

from __future__ import annotations

import streamlit as st

from workbench.domain.suites import Suite
from workbench.services.runs import grids
from workbench.services.runs import runner as run_service
from workbench.services.runs.generation import SEED_PROBLEM, GenerateRequest, preview
from workbench.services.workbench import Workbench
from workbench.ui import url_state
from workbench.ui.judge import run_adherence
from workbench.ui.run_panel import (
    model_picker,
    progress_view,
    provider_pickers,
    run_fields,
    start_panel,
    suite_picker,
)
from workbench.ui.shared import page, workbench
from workbench.ui.text import plain
from workbench.ui.widget_value import held, position

RUN_KEY = "c_results"  # the run whose results show (in the URL too)
ROWS_KEY = "c_rows"
MODES = ("Slots", "Free text", "Suite")
EACH_DEFAULT = "(each model's default)"


def _intent(wb: Workbench, model_ids: list[str]) -> grids.Variant | Suite | None:
    mode = (
        st.segmented_control(
            "Write the prompt as",
            MODES,
            default=held("c_mode", "Slots"),
            key="c_mode",
        )
        or "Slots"
    )
    if mode == "Suite":
        return suite_picker("c")
    if mode == "Free text":
        text = st.text_area(
            "Prompt (sent as written to every model)",
            held("c_text", ""),
            key="c_text",
            placeholder="a portrait of a woman in golden afternoon light",
        )
        return grids.Variant(label="prompt", text=text)
    st.caption("Fill the slots once; each model's own template decides which it uses and how.")
    slots = {}
    cols = st.columns(2)
    for i, slot in enumerate(grids.union_slots(wb, model_ids)):
        slots[slot.id] = cols[i % 2].text_input(
            slot.label,
            held(f"c_slot_{slot.id}", ""),
            key=f"c_slot_{slot.id}",
            placeholder=slot.placeholder,
            help=slot.help,
        )
    return grids.Variant(label="prompt", slots=slots)


def _compare_variant(
    wb: Workbench,
    model_ids: list[str],
    providers: dict[str, str],
    variant: grids.Variant,
    variations: int,
    base_seed: int | None,
    aspect: str,
) -> None:
    st.subheader("What each model receives")
    blocked = False
    text_cols = st.columns(len(model_ids))
    for i, model_id in enumerate(model_ids):
        model = wb.catalog.model(model_id)
        prompt, template_id, slots = grids.text_for(wb, model, variant)
        with text_cols[i]:
            st.markdown(f"**{model.name}**")
            pv = preview(
                wb,
                GenerateRequest(
                    model=model_id,
                    provider=providers[model_id],
                    prompt=prompt,
                    template_id=template_id,
                    slots=slots,
                ),
            )
            if pv.plan:
                st.code(pv.plan.image_request.prompt, language=None, wrap_lines=True)
                for warning in pv.plan.warnings:
                    st.warning(plain(warning), icon=":material/warning:")
            else:
                blocked = True
                for problem in pv.problems:
                    st.error(plain(problem), icon=":material/error:")
    if blocked:
        st.info("Fix the problems above to run the comparison.")
    else:
        cells = grids.compare_cells(
            wb,
            providers,
            variant,
            variations,
            base_seed,
            None if aspect.startswith("(") else aspect,
        )
        run_id = start_panel(wb, "compare", f"Compare {', '.join(model_ids)}", cells, "c")
        if run_id:
            st.session_state[RUN_KEY] = run_id
            st.session_state[ROWS_KEY] = "variation"


def _fields(wb: Workbench) -> list[url_state.Field]:
    """Every input of the page, kept in the URL (ui.url_state), and the run shown."""
    F = url_state.Field
    slots = grids.union_slots(wb, [m.id for m in wb.catalog.models])
    return [
        *run_fields(wb, "c"),
        F("c_mode", "choice", "Slots", MODES),
        F("c_text", "text", ""),
        *(F(f"c_slot_{slot.id}", "text", "") for slot in slots),
        F("c_k", "int", 3, low=1, high=8),
        F("c_seed", "text", ""),
        F("c_ar", "text", EACH_DEFAULT),
        F(RUN_KEY, "text", ""),
        F(ROWS_KEY, "choice", "variation", ("variation", "prompt")),
    ]


@page
def render() -> None:
    wb = workbench()
    st.title("Compare models")
    st.caption("Run the same idea through several models and judge them side by side.")
    fields = _fields(wb)
    url_state.restore("compare", fields)
    try:
        _inputs_and_results(wb)
    finally:
        url_state.publish("compare", fields)


def _inputs_and_results(wb: Workbench) -> None:
    model_ids = model_picker(wb, "c")
    if not model_ids:
        st.info("Choose at least one model.")
        return
    providers = provider_pickers(wb, model_ids, "c")
    intent = _intent(wb, model_ids)
    cols = st.columns(3)
    variations = int(cols[0].number_input(
        "Variations per model", 1, 8, held("c_k", 3), key="c_k"
    ))
    seed_text = cols[1].text_input(
        "First seed",
        held("c_seed", ""),
        key="c_seed",
        placeholder="random",
        help="Variations use this seed, +1, +2 … where supported.",
    )
    common = grids.common_aspect_ratios(wb, model_ids, providers)
    if st.session_state.get("c_ar") not in (EACH_DEFAULT, *common):
        st.session_state["c_ar"] = EACH_DEFAULT  # a ratio these models do not share
    aspect = cols[2].selectbox(
        "Aspect ratio", [EACH_DEFAULT, *common], position("c_ar", [EACH_DEFAULT, *common]),
        key="c_ar",
    )
    try:
        base_seed = int(seed_text) if seed_text.strip() else None
        if base_seed is not None and not 0 <= base_seed < 2**32:
            raise ValueError
    except ValueError:
        st.error(SEED_PROBLEM)
        return

    if intent is None:
        st.info("Pick a suite to run its prompts on these models.")
    elif isinstance(intent, Suite):
        seeds = [None if base_seed is None else base_seed + k for k in range(variations)]
        ratio = None if aspect.startswith("(") else aspect
        cells = grids.suite_cells(wb, intent, providers, seeds, ratio)
        name = f"Suite {intent.id} on {', '.join(model_ids)}"
        run_id = start_panel(wb, "compare", name, cells, "c")
        if run_id:
            st.session_state[RUN_KEY] = run_id
            st.session_state[ROWS_KEY] = "prompt"  # a suite: one row per prompt
    else:
        _compare_variant(wb, model_ids, providers, intent, variations, base_seed, aspect)
    if (run_id := st.session_state.get(RUN_KEY)) and run_service.run_record(wb, run_id) is not None:
        st.subheader("Results")
        st.caption(f"Run `{run_id}`: every cell is a logged generation (see History).")
        rows = st.session_state.get(ROWS_KEY, "variation")
        progress_view(wb, run_id, rows=rows, columns="model", key="c")
        run_adherence(wb, run_id)
