"""The default each widget is drawn with: the value this session holds for the widget's key.

Streamlit tells the browser about a value set through `st.session_state` (a seeded model, a
saved rating, filters read from a link, a loaded example) only in the run that set it. A widget
the browser mounts after a later run has arrived (selectboxes, radios and star rows are loaded
lazily; a user typing right after a page opens, or a rerun that redraws a list, gets there
first) starts from the widget's own default and sends that back as if the user had chosen it:
Build's model fell back to the first in the list and a History rating row to no stars, which
cleared the saved rating. Drawn with the held value as its default, a late widget shows what
the session holds. A keyed widget keeps its identity when its default changes (Streamlit
identifies it by its key), so a default that follows the value makes no new widget.
`tests/ui/test_widget_defaults.py` checks every page for a widget whose default is not its
value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar, overload

import streamlit as st

Held = TypeVar("Held")


def held(key: str, fallback: Held) -> Held:
    """The session's value for `key`, or `fallback` before the widget has one."""
    return st.session_state.get(key, fallback)


@overload
def position(key: str, options: Sequence[Any], fallback: int = 0) -> int: ...
@overload
def position(key: str, options: Sequence[Any], fallback: None) -> int | None: ...
def position(key: str, options: Sequence[Any], fallback: int | None = 0) -> int | None:
    """For a selectbox or radio: where the session's value stands among `options` (`fallback`
    when it has none or one that is not an option)."""
    if key not in st.session_state:
        return fallback
    value = st.session_state[key]
    for i, option in enumerate(options):
        if option == value:
            return i
    return fallback


def picked(key: str, options: Sequence[Any]) -> list[Any]:
    """For a multiselect: the session's values that are among `options`, in its order."""
    allowed = list(options)
    return [v for v in st.session_state.get(key) or [] if v in allowed]
