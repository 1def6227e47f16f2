"""The Measurements page: how far each automatic measure agrees with the human ratings of the
matching criterion (warmth vs "skin warmth" stars, detail vs "micro-texture" and "hair detail",
text accuracy vs "text in image"), images a provider returned twice for different seeds, and
recomputing the measurements of stored images in the background."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

import altair as alt
import pandas as pd
import streamlit as st

from workbench.domain.filters import HistoryFilter
from workbench.imaging.measure import NEAR_DUPLICATE_DISTANCE, PHASH, SPECS, TEXT_ACCURACY
from workbench.services import history as history_service
from workbench.services.evidence import measurements as measurement_service
from workbench.services.evidence import measurements as metrics_service
from workbench.services.workbench import Workbench
from workbench.ui.judge import note as judge_note
from workbench.ui.names import model_label, model_name
from workbench.ui.shared import page, workbench
from workbench.ui.text import plain

MODES = {"Missing only": True, "All": False}
MIN_POINTS = 3  # below this there is no correlation to draw
STAR_TICKS = [1, 2, 3, 4, 5]  # whole stars: a mean lies between them


def axis_format(metric: str) -> str:
    """The d3 format of a measure's axis labels: a share as a percentage, any other number in
    plain digits with thousands separated and no trailing zeros ("1,250", "0.25", "-3"); never
    SI prefixes ("250µ") nor six decimals."""
    return ".0%" if metric == TEXT_ACCURACY else ",~r"


def _filters(wb: Workbench) -> HistoryFilter:
    options = history_service.choices(wb)
    with st.expander("Filters", expanded=False):
        c1, c2, c3 = st.columns(3)
        models = c1.multiselect("Model", options["models"], key="ms_models")
        providers = c2.multiselect("Provider", options["providers"], key="ms_providers")
        categories = c3.multiselect("Category", options["categories"], key="ms_categories")
    return HistoryFilter(
        models=tuple(models), providers=tuple(providers), categories=tuple(categories)
    )


def _recompute(wb: Workbench, f: HistoryFilter) -> None:
    st.subheader("Recompute measurements")
    # The state before the coverage: once the recompute thread is seen finished, every number
    # it wrote is in the coverage read after it (the other order showed a stale count).
    state = measurement_service.recompute_state(wb)
    # One definition for every count here and in the progress below: succeeded generations
    # with a stored image, not archived, matching the filters (`Coverage`).
    found = measurement_service.coverage(wb, f)
    st.caption(found.sentence())
    if left_out := found.left_out():
        st.caption(left_out)
    left, right, _ = st.columns([1, 1, 2], vertical_alignment="bottom")
    mode = (
        left.segmented_control(
            "Images",
            list(MODES),
            default="Missing only",
            key="ms_mode",
            help="Missing only: images without a number from the current method (and those "
            "whose text was skipped for want of OCR). All: measure every image counted above "
            "again.",
        )
        or "Missing only"
    )
    clicked = right.button(
        "Recompute measurements",
        key="ms_recompute",
        disabled=state.running,
        help="Runs in the background; the app stays usable.",
    )
    started = bool(clicked) and measurement_service.start_recompute(
        wb, only_missing=MODES[mode], f=f
    )
    if clicked and not started:
        st.warning("A recompute is already running.")
    # What the caption above was drawn with (or the recompute just started), not a fresh read:
    # one that finished after the caption was read must still make the fragment redraw the
    # page, or "finished" showed beside the count from before it.
    running = state.running or started

    @st.fragment(run_every=0.5 if running else None)
    def _progress() -> None:
        now = measurement_service.recompute_state(wb)
        if now.running:
            st.progress(now.share, text=f"In the background: {now.sentence()}")
        elif running:
            st.rerun()  # finished: redraw the page with the new numbers
        elif now.last:
            st.success(f"Last recompute finished: {now.last}.")

    _progress()


def _fmt(value: float | None, pattern: str = "{:+.2f}") -> str:
    return "–" if value is None else pattern.format(value)


def _correlations(wb: Workbench, f: HistoryFilter) -> None:
    st.subheader("Do the measures agree with your ratings?")
    st.caption(
        "For each rated quality that a measure speaks to: the images both measured and rated, "
        "Spearman's rank correlation between the measure and the mean stars (+1: the measure "
        "orders the images exactly as you do; 0: no relation) with its 95% interval. Trust a "
        "measure as far as this agreement goes; a wide interval means rate more images."
    )
    found = metrics_service.correlations(wb, f)
    if not found:
        st.info("No rating criterion has a matching measure.")
        return
    # a table, not a dataframe: four rows whose last column is a sentence that must wrap
    st.table(
        pd.DataFrame(
            [
                {
                    "measure": c.metric_label,
                    "rated criterion": c.criterion_label,
                    "images (n)": c.n,
                    "Spearman ρ": _fmt(c.spearman),
                    "95% interval": (
                        f"{c.low:+.2f} to {c.high:+.2f}" if c.low is not None else "–"
                    ),
                    "Pearson r": _fmt(c.pearson),
                    "how far to trust it": c.verdict,
                }
                for c in found
            ]
        ).set_index("measure")
    )
    with_points = [c for c in found if c.n >= MIN_POINTS]
    if not with_points:
        st.info(
            f"Fewer than {MIN_POINTS} images are both measured and rated on any of these "
            "criteria. Rate images on the History page (skin warmth, hair detail, "
            "micro-texture, text in image)."
        )
        return
    columns = st.columns(2)
    for i, c in enumerate(with_points):
        with columns[i % 2]:
            st.markdown(
                "**" + plain(f"{c.metric_label} vs “{c.criterion_label}” stars") + f"** · n = {c.n}"
            )
            st.altair_chart(_scatter(c, model_label(wb)), key=f"ms_chart_{c.criterion}")
            st.caption(c.verdict[0].upper() + c.verdict[1:] + ".")


def _scatter(c: metrics_service.Correlation, name: Callable[[str], str]) -> alt.Chart:
    data = pd.DataFrame([asdict(p) for p in c.points])
    data["prompt"] = data["prompt"].str.slice(0, 80)
    data["model"] = data["model"].map(name)  # the catalog's name, not the id
    return (
        alt.Chart(data)
        .mark_circle(size=80, opacity=0.75)
        .encode(
            x=alt.X(
                "value:Q",
                title=c.metric_label,
                scale=alt.Scale(zero=False),
                axis=alt.Axis(format=axis_format(c.metric)),
            ),
            y=alt.Y(
                "stars:Q",
                title=f"{c.criterion_label} (mean stars)",
                scale=alt.Scale(domain=[0.5, 5.5]),
                axis=alt.Axis(values=STAR_TICKS, format="d"),
            ),
            color=alt.Color("model:N", title="Model"),
            tooltip=[
                alt.Tooltip("generation_id", title="Generation"),
                alt.Tooltip("model", title="Model"),
                alt.Tooltip("prompt", title="Prompt"),
                alt.Tooltip("value:Q", title=c.metric_label, format=".3~f"),
                alt.Tooltip("stars:Q", title="Mean stars", format=".2~f"),
                alt.Tooltip("raters:Q", title="Raters"),
            ],
        )
        .properties(height=260)
    )


def _near_duplicates(wb: Workbench, f: HistoryFilter) -> None:
    st.subheader("Near-duplicates")
    st.caption(
        f"Images of one model and prompt whose perceptual hashes are at most "
        f"{NEAR_DUPLICATE_DISTANCE} bits apart although their seeds differ: "
        "the provider may have returned the same picture for a different seed. "
        f"({SPECS[PHASH].explain})"
    )
    pairs = metrics_service.near_duplicates(wb, f)
    if not pairs:
        st.success("No near-duplicates among the measured images.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "model": model_name(wb, p.model),
                    "prompt": p.prompt,
                    "generation A": p.generation_a,
                    "seed A": p.seed_a,
                    "generation B": p.generation_b,
                    "seed B": p.seed_b,
                    "bits apart": p.distance,
                }
                for p in pairs
            ]
        ),
        hide_index=True,
        key="ms_dupes",
    )


@page
def render() -> None:
    wb = workbench()
    st.title("Measurements")
    st.caption(
        "Warmth, detail, text accuracy and a near-duplicate hash, measured from every stored "
        "image's pixels, set against your star ratings."
    )
    f = _filters(wb)
    if note := measurement_service.ocr_note():
        st.info(note, icon=":material/text_fields:")
    _recompute(wb, f)
    _correlations(wb, f)
    _near_duplicates(wb, f)
    judge_note(wb)  # the adherence judge's state, or how to enable it (ui/judge.py)
