"""The door every page goes through (`gate`, called by `ui/main.py` before the menu) and the
sidebar's "Working as" box.

A request the identity rules refuse (a trusted proxy header is configured and missing) sees the
refusal page only: no menu, no sidebar, no data. Otherwise the sidebar shows who is working: read
only when the name comes from the proxy, else a field that changes it for this browser session
(a bad name gets a message and the old one stays). In team mode without a proxy every page
starts with the warning that anyone who can reach the port can spend the team's keys.
"""

from __future__ import annotations

import streamlit as st

from workbench.config import load_settings
from workbench.errors import WorkbenchError
from workbench.services.team.identity import Identity, InvalidName, Refusal, validate_name
from workbench.ui.shared import USER_KEY, identity, refuse
from workbench.ui.text import plain

NAME_INPUT_KEY = "workbench_user_input"
NAME_ERROR_KEY = "workbench_user_error"


def _choose(current: str) -> None:
    raw = st.session_state.get(NAME_INPUT_KEY)
    try:
        name = validate_name(raw)
    except InvalidName as exc:
        st.session_state[NAME_ERROR_KEY] = f"Name not changed: {exc} Still working as {current}."
        st.session_state[NAME_INPUT_KEY] = current
        return
    st.session_state[USER_KEY] = name
    st.session_state[NAME_INPUT_KEY] = name


def _sidebar(found: Identity) -> None:
    box = st.sidebar.container(border=True)
    if found.locked:
        box.markdown(f"**Signed in as** {plain(found.name)}")
        box.caption(
            f"From the {plain(found.header)} header set by the signing-in proxy; it cannot be "
            "changed here. Your generations, ratings and votes record this name."
        )
        return
    if st.session_state.get(NAME_INPUT_KEY) is None:
        st.session_state[NAME_INPUT_KEY] = found.name
    box.text_input(
        "Working as",
        key=NAME_INPUT_KEY,
        on_change=_choose,
        args=(found.name,),
        help="Recorded with every generation, rating and vote you make in this browser "
        "session. Starts as WORKBENCH_USER, else your operating-system user; 1–64 characters.",
    )
    if message := st.session_state.pop(NAME_ERROR_KEY, None):
        box.error(plain(message))


def gate() -> bool:
    """Whether the page may be drawn. Draws the refusal page (and stops) or the sidebar box and
    the team-mode warning."""
    try:
        settings = load_settings()
    except WorkbenchError as exc:  # a malformed setting: the message, nothing else
        st.error(str(exc))
        return False
    found = identity(settings)
    if isinstance(found, Refusal):
        refuse(found)
        return False
    if found.warning:
        st.warning(found.warning, icon=":material/warning:")
    return True


def name_box() -> None:
    """The sidebar's "Working as" box, drawn after the page: a widget drawn in the entry script
    before the page lost the page's own widget states when a page rerun raced the first one
    (the Build page fell back to its first model while slots were being typed)."""
    found = identity(load_settings())
    if isinstance(found, Identity):
        _sidebar(found)
