"""Star-rating widgets for one generation: one row of stars per criterion. A click on a star is
a rating action, saved at once; a click on the selected star clears it. Append-only: each
action adds a row and the newest counts, and an action that changes nothing (a repeated or
replayed event) writes nothing.

The widgets take their starting value from the session state, seeded from the database the
first time they are drawn, never from a `default` argument: a default that follows the saved
stars would change the widget's identity after every save, and Streamlit would then report an
unchanged widget as changed on an unrelated rerun (moving a slider elsewhere on the page)."""

from __future__ import annotations

import streamlit as st

from workbench.domain.criteria import Criterion, load_criteria
from workbench.services.evidence import ratings as rating_service
from workbench.services.workbench import Workbench


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
        if key not in st.session_state:
            st.session_state[key] = current[criterion.id] - 1 if criterion.id in current else None
        label_col, stars_col = st.columns([2, 3], vertical_alignment="center")
        label_col.markdown(f"**{criterion.label}**", help=criterion.help)
        with stars_col:
            st.feedback(
                "stars", key=key, on_change=_save, args=(wb, generation_id, criterion, key)
            )
    st.caption("Click a star to rate; click the selected star again to clear the rating.")
    if message := st.session_state.pop("rating_error", None):
        st.error(message)
    if message := st.session_state.pop("rating_saved", None):
        st.toast(message)
