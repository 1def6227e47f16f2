"""What the Compare and Matrix pages share: the estimate, budget and limits before a run, and
the live grid with progress, spend, ETA and cancel while it runs."""

from __future__ import annotations

from functools import partial
from typing import Any

import streamlit as st

from workbench.domain.catalog import OFFLINE, PROVIDER_LABELS
from workbench.domain.suites import CATEGORIES, SUITES_DIR, Suite, load_suites
from workbench.services.delivery import exports
from workbench.services.runs import grids
from workbench.services.runs import runner as run_service
from workbench.services.team import status as status_service
from workbench.services.workbench import Workbench
from workbench.ui import url_state
from workbench.ui.names import model_name
from workbench.ui.navigation import open_in_history, page_for, vote_on_pair
from workbench.ui.refine import refine_action
from workbench.ui.report import report_download
from workbench.ui.shared import duration, money
from workbench.ui.text import count, plain
from workbench.ui.widget_value import picked, position

CONFIRM_OVER_USD = 1.0
CONFIRM_OVER_IMAGES = 50


@st.cache_resource(show_spinner=False, max_entries=4)
def _parsed_suites(files: tuple[tuple[str, int, int], ...]) -> dict[str, Suite]:
    return load_suites()


def shipped_suites() -> dict[str, Suite]:
    """The suites shipped in `prompt_templates/suites`, parsed once per process while their
    files stay the same (22 TOML files parsed and checked cost ~40 ms, twice per rerun of
    Compare and Matrix); an edited, added or removed file is read again."""
    files = tuple(
        (path.name, path.stat().st_mtime_ns, path.stat().st_size)
        for path in sorted(SUITES_DIR.glob("*.toml"))
    )
    return _parsed_suites(files)


def run_fields(wb: Workbench, key: str) -> list[url_state.Field]:
    """The URL fields of the inputs Compare and Matrix share: models, a provider per model and
    the suite."""
    F = url_state.Field
    models = [m.id for m in wb.catalog.models]
    return [
        F(f"{key}_models", "list", ["nano-banana-2", "flux-2-pro"], models),
        *(
            F(f"{key}_provider_{m.id}", "choice", None, list(m.providers))
            for m in wb.catalog.models
        ),
        F(f"{key}_suite", "choice", None, list(shipped_suites())),
    ]


def model_picker(wb: Workbench, key: str) -> list[str]:
    """The models to run, Nano Banana 2 and FLUX.2 Pro to start with (the article's pair)."""
    ids = [m.id for m in wb.catalog.models]
    first = f"{key}_models" not in st.session_state
    return st.multiselect(
        "Models",
        ids,
        default=["nano-banana-2", "flux-2-pro"] if first else picked(f"{key}_models", ids),
        key=f"{key}_models",
        format_func=lambda i: wb.catalog.model(i).name,
    )


def suite_picker(key: str) -> Suite | None:
    """One of the article's test suites; its prompts fill the run, each with its category and
    expected text (so "By category" and text accuracy fill from the app)."""
    suites = shipped_suites()
    chosen = st.selectbox(
        "Suite",
        list(suites),
        index=None,  # clearable; a suite from a link is set through the session
        key=f"{key}_suite",
        placeholder="Pick a suite…",
        format_func=lambda i: f"{suites[i].name} ({count(len(suites[i].prompts), 'prompt')})",
    )
    if chosen is None:
        return None
    suite = suites[chosen]
    st.caption(
        plain(
            "Categories: "
            + ", ".join(CATEGORIES[c].label for c in suite.categories)
            + ". Each model receives every prompt in its own template's structure."
        )
    )
    with st.expander(f"The {count(len(suite.prompts), 'prompt')}"):
        st.dataframe(
            [
                {"id": e.id, "category": e.category, "expected text": e.expected_text or ""}
                for e in suite.prompts
            ],
            hide_index=True,
        )
    return suite


def provider_pickers(wb: Workbench, model_ids: list[str], key: str) -> dict[str, str]:
    """One provider choice per model (default: a hosted one with a key, else offline)."""
    keys = {k.provider: k.present for k in status_service.provider_keys(wb)}
    chosen = {}
    cols = st.columns(max(1, len(model_ids)))
    for i, model_id in enumerate(model_ids):
        model = wb.catalog.model(model_id)
        options = list(model.providers)
        chosen[model_id] = cols[i].selectbox(
            f"{model.name} via",
            options,
            index=position(
                f"{key}_provider_{model_id}", options,
                options.index(status_service.default_provider(wb, model_id)),
            ),
            key=f"{key}_provider_{model_id}",
            format_func=lambda p: (
                PROVIDER_LABELS[p] + ("" if p == OFFLINE or keys.get(p) else " (no key)")
            ),
        )
    return chosen


def start_panel(wb: Workbench, kind: str, name: str, cells: list[Any], key: str) -> str | None:
    """Estimate, budget, concurrency and cache choices, and the Run button. Returns the new
    run's id when one was started."""
    providers = sorted({c.request.provider for c in cells})
    with st.expander("Limits and reuse", expanded=False):
        cols = st.columns(max(1, len(providers)))
        concurrency = {
            p: cols[i].number_input(
                f"{PROVIDER_LABELS[p]}: at once",
                min_value=1,
                max_value=64,
                step=1,
                value=run_service.DEFAULT_CONCURRENCY.get(p, 4),
                key=f"{key}_conc_{p}",
            )
            for i, p in enumerate(providers)
        }
        allow_cache = st.checkbox(
            "Reuse the image of an identical earlier request (same provider, model, text, "
            "parameters and seed) instead of paying again",
            key=f"{key}_cache",
        )
        confirm_over = st.number_input(
            "Ask before running over (USD)",
            min_value=0.0,
            value=CONFIRM_OVER_USD,
            step=0.5,
            key=f"{key}_confirm_over",
            format="%.2f",
            help=f"Runs estimated above this, or over {CONFIRM_OVER_IMAGES} images, need a "
            "second look before they start.",
        )
    budget_col, today_col = st.columns([2, 1], vertical_alignment="bottom")
    budget = budget_col.number_input(
        "Budget for this run (USD, 0 = no limit)",
        min_value=0.0,
        value=0.0,
        step=0.5,
        key=f"{key}_budget",
        format="%.2f",
    )
    settings = run_service.RunSettings(
        budget_usd=budget or None,
        concurrency={p: int(n) for p, n in concurrency.items()},
        allow_cache=allow_cache,
    )
    try:
        est = run_service.estimate(wb, cells, settings)
    except run_service.RunRefused as exc:
        for problem in exc.problems:
            st.error(plain(problem))
        return None
    today_col.caption(f"Spent today (UTC): {money(est.spent_today_usd)}")
    metric_cols = st.columns(3)
    metric_cols[0].metric("Images", est.images)
    cost = money(est.cost_usd, "estimated") + (
        f" + {est.unpriced} unpriced" if est.unpriced else ""
    )
    metric_cols[1].metric("Estimated cost", cost)
    metric_cols[2].metric("Expected duration", duration(est.duration_s * 1000))
    try:
        run_service.check_budget(est, settings)
    except run_service.RunRefused as exc:
        for problem in exc.problems:
            st.error(plain(problem))
        return None
    if not st.button(
        f"Run {count(est.images, 'generation')}",
        type="primary",
        key=f"{key}_run",
        disabled=not _confirmed(est, confirm_over, key),
    ):
        return None
    try:
        handle = run_service.start_run(wb, kind, name, cells, settings)
    except run_service.RunRefused as exc:
        for problem in exc.problems:
            st.error(plain(problem))
        return None
    run_service.launch(handle)
    return handle.run_id


def _downloads(wb: Workbench, run_id: str, key: str) -> None:
    zip_col, sheet_col = st.columns(2)
    zip_col.download_button(
        "Download the run as ZIP",
        data=partial(exports.images_zip, wb, exports.run_ids(wb, run_id)),
        file_name=f"{run_id}.zip",
        mime="application/zip",
        key=f"{key}_dl_zip",
        on_click="ignore",
        icon=":material/folder_zip:",
        help="Images with their recipe inside, with manifest.csv and manifest.json of every "
        "cell.",
    )
    sheet_col.download_button(
        "Download a contact sheet (PNG)",
        data=partial(exports.run_contact_sheet, wb, run_id),
        file_name=f"{run_id}-contact-sheet.png",
        mime="image/png",
        key=f"{key}_dl_sheet",
        on_click="ignore",
        icon=":material/grid_on:",
        help="The whole grid as one labelled picture.",
    )


def needs_confirmation(est: run_service.Estimate, over_usd: float) -> bool:
    """A run over `over_usd` (estimated) or over CONFIRM_OVER_IMAGES images asks first."""
    return est.cost_usd > over_usd + 1e-9 or est.images > CONFIRM_OVER_IMAGES


def _confirmed(est: run_service.Estimate, over_usd: float, key: str) -> bool:
    if not needs_confirmation(est, over_usd):
        return True
    st.warning(
        f"A big run: {count(est.images, 'image')}, estimated "
        f"{money(est.cost_usd, 'estimated')}"
        + (f" plus {est.unpriced} unpriced" if est.unpriced else "")
        + f", about {duration(est.duration_s * 1000)}. Check the estimate before sending.",
        icon=":material/payments:",
    )
    # keyed by the estimate: a confirmation does not carry over to a bigger run
    return st.checkbox(
        "I have checked the estimate; run it",
        key=f"{key}_confirm_{est.images}_{est.cost_usd:.4f}",
    )


def _cell_view(
    wb: Workbench, cell: dict[str, Any], key: str, pair_with: str | None
) -> None:
    gid: str | None = cell.get("generation_id")
    if cell["status"] == "succeeded" and cell.get("thumb_file"):
        st.image(cell["thumb_file"])
        extra = " · reused" if cell.get("cost_kind") == "cached" else ""
        st.caption(
            f"{duration(cell['latency_ms'])} · {money(cell['cost_usd'], cell['cost_kind'])}{extra}"
        )
        with st.container(horizontal=True, gap="small"):
            # a succeeded cell always has its generation id; without one there is nothing to open
            if gid and st.button(
                "Details", key=f"{key}_open_{gid}", help="Everything logged; rate it there."
            ):
                open_in_history(gid)
            if (
                gid
                and pair_with
                and st.button(
                    "Vote on this pair",
                    key=f"{key}_pair_{gid}",
                    help="Judge it blind against the same prompt by another model, on the Arena.",
                )
            ):
                vote_on_pair(gid, pair_with)
            if gid:
                refine_action(wb, gid, f"{key}_{gid}", compact=True)
    elif cell["status"] in ("queued", "pending"):
        st.caption(f"⏳ {cell['status']}")
    else:
        st.caption(plain(f"{cell['status']}: {cell.get('error') or 'no details'}"[:160]))
        if gid and st.button("Details", key=f"{key}_open_{gid}"):
            open_in_history(gid)


def progress_view(
    wb: Workbench,
    run_id: str,
    rows: str,
    columns: str,
    key: str,
    group_by: tuple[str, ...] = (),
) -> None:
    """The run's grid, refreshed every second while the run is going."""
    handle = run_service.active(run_id)
    running = handle is not None and not handle.progress.finished

    @st.fragment(run_every=1.0 if running else None)
    def _view() -> None:
        live = run_service.active(run_id)
        if running and (live is None or live.progress.finished):
            # Done: the whole page once more, so "Recent runs", the spend and "Spent today"
            # show what happened without a reload (and this view stops refreshing).
            st.rerun()
        grid = grids.run_grid(wb, run_id)
        if live is not None:
            p = live.progress
            whole = run_counts(grid)  # the whole run: a resumed run counts its earlier cells
            share = whole["finished"] / whole["cells"] if whole["cells"] else 1.0
            eta = "–" if p.eta_s is None else duration(p.eta_s * 1000)
            st.progress(
                min(share, 1.0),
                text=(
                    f"{whole['finished']} of {count(whole['cells'], 'cell')} done · "
                    f"{whole['succeeded']} ok · {whole['failed']} failed · "
                    f"{whole['moderated']} moderated · {whole['cancelled']} cancelled · "
                    f"{p.in_flight} running · spent {money(p.spent_usd)} this time · ETA {eta}"
                ),
            )
            if p.stop_reason:
                st.warning(plain(p.stop_reason))
            if not p.finished and st.button("Cancel run", key=f"{key}_cancel"):
                live.cancel()
                st.toast("Cancelling: nothing new is sent; running jobs finish and are logged.")
        _grid(wb, grid, rows, columns, group_by, key)
        if live is None or live.progress.finished:
            _downloads(wb, run_id, key)

    _view()
    report_download(wb, run_id=run_id, key=key)


FINISHED = ("succeeded", "failed", "moderated", "cancelled", "interrupted")


def run_counts(grid: list[dict[str, Any]]) -> dict[str, int]:
    """Per status, the newest attempt of every cell of the run, and how many are finished."""
    statuses = [str(c.get("status")) for c in grid]
    counts = {s: statuses.count(s) for s in ("succeeded", "failed", "moderated", "cancelled")}
    return {
        **counts, "cells": len(grid), "finished": sum(s in FINISHED for s in statuses),
    }


AXIS_NAMES = {
    "prompt": "Prompt", "model": "Model", "seed": "Seed", "aspect_ratio": "Aspect ratio",
    "variation": "Variation",
}


def axis_value(cell: dict[str, Any], axis: str) -> str:
    """A cell's value on an axis: its run label (a suite prompt's id, the same for every
    model, although each model family received its own wording), not the text as sent."""
    labels = cell.get("labels") or {}
    return str(labels.get(axis, cell.get(axis, "")))


def axis_text(wb: Workbench, axis: str, value: str) -> str:
    """What a person reads for an axis value: the model's name, "each model's default" for
    no aspect ratio, "random" seeds as such."""
    if axis == "model":
        return model_name(wb, value)
    if axis == "aspect_ratio" and value in ("default", ""):
        return "each model's default"
    return value


def prompt_texts(grid: list[dict[str, Any]]) -> dict[str, str]:
    """A prompt label ("P1", a suite entry's id) -> the text it stands for (first wording)."""
    texts: dict[str, str] = {}
    for cell in grid:
        texts.setdefault(axis_value(cell, "prompt"), str(cell.get("prompt") or ""))
    return texts


def _grid(
    wb: Workbench,
    grid: list[dict[str, Any]],
    rows: str,
    columns: str,
    group_by: tuple[str, ...],
    key: str,
) -> None:
    """Rows x columns of images, one block per combination of the `group_by` axes (the Z axis
    of an X/Y/Z plot); cells that share a row and column stack."""
    if not grid:
        st.info("This run has no cells.")
        return
    pairs = grids.neighbours(grid)
    col_values = list(dict.fromkeys(axis_value(c, columns) for c in grid))
    row_values = list(dict.fromkeys(axis_value(c, rows) for c in grid))
    others = list(group_by)
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for cell in grid:
        groups.setdefault(tuple(axis_value(cell, a) for a in others), []).append(cell)
    texts = prompt_texts(grid)
    for group, cells in groups.items():
        if others and len(groups) > 1:
            st.markdown(
                "**"
                + plain(" · ".join(
                    f"{AXIS_NAMES.get(a, a)}: {axis_text(wb, a, v)}"
                    for a, v in zip(others, group, strict=True)
                ))
                + "**"
            )
        header = st.columns([1] + [3] * len(col_values))
        header[0].caption(
            f"{AXIS_NAMES.get(rows, rows)} \\ {AXIS_NAMES.get(columns, columns)}"
        )
        for i, value in enumerate(col_values):
            header[i + 1].markdown(
                f"**{plain(axis_text(wb, columns, value))}**",
                help=plain(texts[value]) if columns == "prompt" and value in texts else None,
            )
        for row_value in row_values:
            line = st.columns([1] + [3] * len(col_values))
            line[0].markdown(
                f"**{plain(axis_text(wb, rows, row_value))}**",
                help=plain(texts[row_value]) if rows == "prompt" and row_value in texts else None,
            )
            for i, col_value in enumerate(col_values):
                match = [
                    c for c in cells
                    if axis_value(c, rows) == row_value and axis_value(c, columns) == col_value
                ]
                with line[i + 1]:
                    for cell in match:
                        _cell_view(wb, cell, key, pairs.get(cell.get("generation_id") or ""))


def open_run(wb: Workbench, run_id: str) -> None:
    """Open a past run's grid: a Compare run on Compare (one row per suite prompt, or per
    variation), any other (Matrix, a command-line run) on Matrix. The run goes in the page's
    URL, so the grid can be bookmarked and sent."""
    run = run_service.run_record(wb, run_id)
    if run is None:
        st.warning(plain(f"Run {run_id} is not in the log."))
        return
    cells = (run.spec or {}).get("cells") or [{}]
    labels = cells[0].get("labels", {})
    if run.kind == "compare":
        rows = "prompt" if "prompt" in labels else "variation"
        st.switch_page(
            page_for("compare"), query_params={"c_results": run_id, "c_rows": rows}
        )
    st.switch_page(page_for("matrix"), query_params={"m_grid": run_id})


def run_opener(wb: Workbench, key: str, run_ids: list[str], labels: dict[str, str]) -> None:
    """"Open a run": any of `run_ids`, its grid on Compare or Matrix."""
    if not run_ids:
        return
    cols = st.columns([3, 1], vertical_alignment="bottom")
    chosen = cols[0].selectbox(
        "Open a run's grid", run_ids, key=f"{key}_open_run",
        format_func=lambda r: labels.get(r, r),
    )
    if cols[1].button("Open", key=f"{key}_open_run_go", icon=":material/grid_view:"):
        open_run(wb, chosen)
