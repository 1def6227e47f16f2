"""The Matrix page: prompt variants x models x seeds x aspect ratios as one run, shown as an
X/Y/Z grid with labelled axes; and the list of recent runs, with resume for unfinished ones."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.services import history as history_service
from workbench.services.runs import grids
from workbench.services.runs import runner as run_service
from workbench.services.workbench import Workbench
from workbench.ui import url_state
from workbench.ui.judge import run_adherence
from workbench.ui.run_panel import (
    model_picker,
    progress_view,
    provider_pickers,
    run_fields,
    run_opener,
    start_panel,
    suite_picker,
)
from workbench.ui.shared import money, page, workbench
from workbench.ui.text import count, plain
from workbench.ui.widget_value import held, position

RUN_KEY = "m_grid"  # the run whose grid shows (in the URL too)
TOAST_KEY = "matrix_toast"
AXIS_LABELS = {"prompt": "Prompt", "model": "Model", "seed": "Seed", "aspect_ratio": "Aspect ratio"}
AXES = list(AXIS_LABELS)


def _seeds(text: str) -> list[int | None]:
    values: list[int | None] = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        if "-" in part:
            low, high = (int(x) for x in part.split("-", 1))
            if high < low or high - low > 99:
                raise ValueError
            values.extend(range(low, high + 1))
        else:
            values.append(int(part))
    if any(v is not None and not 0 <= v < 2**32 for v in values):
        raise ValueError
    return values or [None]


def _runs(wb: Workbench) -> None:
    st.subheader("Recent runs")
    recent = run_service.recent_runs(wb, 15)
    if not recent:
        st.caption("No runs yet.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "run": r.id,
                    "kind": r.kind,
                    "name": r.name,
                    "status": r.status,
                    "attempts": r.attempts,
                    "spent": "–" if r.spent_usd is None else money(r.spent_usd),
                    "started (UTC)": r.created_at,
                }
                for r in recent
            ]
        ),
        hide_index=True,
        key="m_runs",
    )
    every = history_service.run_choices(wb)
    run_opener(wb, "m", list(every), every)
    resumable = [r.id for r in recent if r.status in ("interrupted", "cancelled", "stopped")]
    if resumable:
        cols = st.columns([3, 1], vertical_alignment="bottom")
        chosen = cols[0].selectbox("Resume an unfinished run", resumable, key="m_resume_id")
        if cols[1].button("Resume", key="m_resume"):
            try:
                handle = run_service.resume_run(wb, chosen)
            except run_service.RunRefused as exc:
                for problem in exc.problems:
                    st.error(plain(problem))
            else:
                run_service.launch(handle)
                st.session_state[RUN_KEY] = chosen
                missing = len(handle.jobs)
                st.session_state[TOAST_KEY] = (
                    f"Resuming {chosen}: {count(missing, 'missing cell')}."
                )
                st.rerun()  # the grid above is drawn again, live, for the resumed cells


def _fields(wb: Workbench) -> list[url_state.Field]:
    """Every input of the page, kept in the URL (ui.url_state), and the run shown."""
    F = url_state.Field
    ratios = sorted({r for m in wb.catalog.models for r in m.aspect_ratios})
    return [
        F("m_prompts", "text", ""),
        *run_fields(wb, "m"),
        F("m_seeds", "text", ""),
        F("m_ratios", "list", [], ratios),
        F("m_rows", "choice", "prompt", list(AXIS_LABELS)),
        F("m_cols", "choice", "model", list(AXIS_LABELS)),
        F(RUN_KEY, "text", ""),
    ]


@page
def render() -> None:
    wb = workbench()
    st.title("Matrix")
    fields = _fields(wb)
    url_state.restore("matrix", fields)
    try:
        _page(wb)
    finally:
        url_state.publish("matrix", fields)


def _page(wb: Workbench) -> None:
    if message := st.session_state.pop(TOAST_KEY, None):
        st.toast(message)
    st.caption("Sweep prompt variants, models, seeds and aspect ratios; every cell is logged.")
    prompts_text = st.text_area(
        "Prompt variants (one per line; end a line with --ar W:H to fix its ratio)",
        held("m_prompts", ""),
        key="m_prompts",
        height=120,
        placeholder="a lighthouse at dusk, oil painting\na lighthouse at dusk, photorealistic",
    )
    variants = [
        grids.Variant(label=f"P{i + 1}", text=line.strip())
        for i, line in enumerate(prompts_text.splitlines())
        if line.strip()
    ]
    suite = suite_picker("m") if not variants else None
    if not variants:
        st.caption("…or pick a suite above to fill the prompt axis with its prompts.")
    model_ids = model_picker(wb, "m")
    cols = st.columns(2)
    seed_text = cols[0].text_input(
        "Seeds",
        held("m_seeds", ""),
        key="m_seeds",
        placeholder="e.g. 1,2,3 or 10-13",
        help="Leave empty for one random seed.",
    )
    providers = provider_pickers(wb, model_ids, "m")
    common = grids.common_aspect_ratios(wb, model_ids, providers)  # what each provider makes
    kept = [r for r in st.session_state.get("m_ratios", []) if r in common]
    st.session_state["m_ratios"] = kept  # a ratio the chosen models do not share is dropped
    ratios = cols[1].multiselect(
        "Aspect ratios", common, kept, key="m_ratios", help="Leave empty for each model's default.",
    )
    try:
        seeds = _seeds(seed_text)
    except ValueError:
        st.error(
            "Seeds: whole numbers from 0 to 4294967295, like 1,2,3 or 10-13 "
            "(at most 100 in a range), or empty for one random seed."
        )
        seeds = []
    axis_cols = st.columns(3)
    rows = axis_cols[0].selectbox(
        "Rows (Y)", AXES, position("m_rows", AXES, AXES.index("prompt")),
        key="m_rows", format_func=AXIS_LABELS.__getitem__,
    )
    columns = axis_cols[1].selectbox(
        "Columns (X)", AXES, position("m_cols", AXES, AXES.index("model")),
        key="m_cols", format_func=AXIS_LABELS.__getitem__,
    )
    group_by = tuple(a for a in AXIS_LABELS if a not in (rows, columns))
    axis_cols[2].caption("Blocks (Z): " + ", ".join(AXIS_LABELS[a] for a in group_by))
    if rows == columns:
        st.error("Rows and columns need two different axes.")
    elif not seeds:
        pass  # the seed field is what is wrong, and its message is above
    elif not (variants or suite) or not model_ids:
        st.info("Write at least one prompt (or pick a suite) and choose at least one model.")
    else:
        try:  # counted before any cell is built
            if suite is not None:
                # a suite entry keeps its own aspect ratio; the first one picked fills the others
                cells = grids.suite_cells(
                    wb, suite, providers, seeds, ratios[0] if ratios else None,
                    limit=grids.MATRIX_MAX_CELLS,
                )
            else:
                cells = grids.matrix_cells(
                    wb, variants, providers, seeds, list(ratios) or [None],
                    limit=grids.MATRIX_MAX_CELLS,
                )
        except grids.TooManyCells as exc:
            st.error(f"{exc} One Matrix run takes at most {exc.limit:,}; narrow an axis.")
        else:
            with st.expander("Prompt labels"):
                for v in variants:
                    st.markdown(f"**{plain(v.label)}** · {plain(v.text)}")
            run_id = start_panel(wb, "matrix", f"Matrix of {len(cells)}", cells, "m")
            if run_id:
                st.session_state[RUN_KEY] = run_id
    if (run_id := st.session_state.get(RUN_KEY)) and run_service.run_record(wb, run_id) is not None:
        st.subheader("Grid")
        st.caption(f"Run `{run_id}`")
        progress_view(
            wb,
            run_id,
            rows=rows,
            columns=columns,
            key="m",
            group_by=group_by if rows != columns else (),
        )
        run_adherence(wb, run_id)
    _runs(wb)
