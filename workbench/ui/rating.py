"""Star-rating widgets for one generation: one row of stars per criterion. A click on a star is
a rating action, saved at once; a click on the selected star clears it. Append-only: each
action adds a row and the newest counts, and an action that changes nothing (a repeated or
replayed event) writes nothing.

A row is drawn with the stars it holds as its default: the saved ones the first time, then the
session's (`ui/widget_value.py`). A browser that draws the row late (a slider moved elsewhere
on the page redraws the list) then shows those stars; with no default it showed none and sent
that back as a click, which cleared the saved rating. Streamlit identifies the widget by its
key and options, so a default that follows the stars keeps the widget's identity."""

from __future__ import annotations

import streamlit as st

from workbench.domain.criteria import Criterion, load_criteria
from workbench.services.evidence import ratings as rating_service
from workbench.services.workbench import Workbench
from workbench.ui.widget_value import held


def _save(wb: Workbench, generation_id: str, criterion: Criterion, key: str) -> None:
    index = st.session_state.get(key)
    stars = None if index is None else int(index) + 1
    try:
        changed = rating_service.rate(
            wb,
            rating_service.RatingInput(
                generation_id=generation_id, criterion=criterion.id, stars=stars
            ),
        )
    except KeyError:
        st.session_state["rating_error"] = "That generation no longer exists; nothing was saved."
        return
    if not changed:
        return
    st.session_state["rating_saved"] = (
        f"Cleared the rating for {criterion.id}." if stars is None
        else f"Saved {stars}★ for {criterion.id}."
    )


def rating_widgets(
    wb: Workbench,
    generation_id: str,
    current: dict[str, int],
    criteria: tuple[Criterion, ...] | None = None,
) -> None:
    for criterion in criteria or load_criteria():
        key = f"rate_{generation_id}_{criterion.id}"
        saved = current[criterion.id] - 1 if criterion.id in current else None
        label_col, stars_col = st.columns([2, 3], vertical_alignment="center")
        label_col.markdown(f"**{criterion.label}**", help=criterion.help)
        with stars_col:
            st.feedback(
                "stars", key=key, default=held(key, saved), on_change=_save,
                args=(wb, generation_id, criterion, key),
            )
    st.caption("Click a star to rate; click the selected star again to clear the rating.")
    if message := st.session_state.pop("rating_error", None):
        st.error(message)
    if message := st.session_state.pop("rating_saved", None):
        st.toast(message)
