"""Star-rating widgets for one generation: one row of stars per criterion, saved on click
(append-only: a new click adds a row and the newest counts)."""

from __future__ import annotations

import streamlit as st

from workbench.domain.criteria import Criterion, load_criteria
from workbench.services.evidence import ratings as rating_service
from workbench.services.workbench import Workbench


def _save(wb: Workbench, generation_id: str, criterion_id: str, key: str) -> None:
    index = st.session_state.get(key)
    if index is None:
        return
    try:
        rating_service.rate(
            wb,
            rating_service.RatingInput(
                generation_id=generation_id, criterion=criterion_id, stars=int(index) + 1
            ),
        )
    except KeyError:
        st.session_state["rating_error"] = "That generation no longer exists; nothing was saved."
    else:
        st.session_state["rating_saved"] = f"Saved {int(index) + 1}★ for {criterion_id}."


def rating_widgets(
    wb: Workbench,
    generation_id: str,
    current: dict[str, int],
    criteria: tuple[Criterion, ...] | None = None,
) -> None:
    for criterion in criteria or load_criteria():
        key = f"rate_{generation_id}_{criterion.id}"
        label_col, stars_col = st.columns([2, 3], vertical_alignment="center")
        label_col.markdown(f"**{criterion.label}**", help=criterion.help)
        with stars_col:
            st.feedback(
                "stars",
                key=key,
                default=current[criterion.id] - 1 if criterion.id in current else None,
                on_change=_save,
                args=(wb, generation_id, criterion.id, key),
            )
    if message := st.session_state.pop("rating_error", None):
        st.error(message)
    if message := st.session_state.pop("rating_saved", None):
        st.toast(message)
