"""A page's inputs kept in the URL (`st.query_params`), so a reload, the browser's back and
forward buttons and a link sent to someone show the same view.

A page lists its inputs as `Field`s (widget key = query parameter name), calls `restore` before
drawing its widgets and `publish` after, and draws each widget with the value `restore` put in
the session as its default (`ui/widget_value.py`). Which side wins:

- the URL, when it names any of the page's fields and differs from what this session last
  wrote there: it was opened from a link, reloaded, or moved by back/forward. Not when this
  rerun carries a widget the user just changed: the browser sends its URL with every rerun,
  and one sent before the last write reached it (typing quickly on a busy server) is this
  session's own older URL, whose missing fields would otherwise wipe what was just typed;
- otherwise the session: `publish` keeps a copy of the values beside the widgets (Streamlit
  drops a widget's state when its page is not shown) and `restore` puts them back after a
  page switch, then `publish` writes them into the URL again (a page switch empties it).

Every value read from a URL is untrusted: it is parsed by its field's kind and kept only when
it is one of the field's options, or a number within the field's bounds (a multiselect or select
box given a value outside its options, or a number input one outside its bounds, would stop the
page); anything else leaves the widget at its own default. Streamlit's own
`bind="query-params"` is not used: it writes the URL only when the user changes a widget, so
after a page switch the URL lacks the filters and going back to it reset them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import streamlit as st

Kind = Literal["list", "text", "float", "int", "bool", "choice", "dates"]
MAX_TEXT = 2000

@dataclass(frozen=True)
class Field:
    key: str  # the widget's key and the query parameter's name
    kind: Kind
    default: Any = None
    options: Sequence[Any] | None = None  # list / choice: the values allowed
    low: float | None = None  # int / float: the widget's own bounds (a value outside would
    high: float | None = None  # stop the page with Streamlit's out-of-range error)


def _written_key(scope: str) -> str:
    return f"_url_written_{scope}"


def _saved_key(scope: str) -> str:
    return f"_url_saved_{scope}"


def _encode(field: Field, value: Any) -> list[str] | str | None:
    """The URL's text for a value; None when it is the default (left out of the URL)."""
    if value == field.default or value is None or value == [] or value == ():
        return None
    if field.kind == "list":
        return [str(v) for v in value]
    if field.kind == "dates":
        return [d.isoformat() for d in value if isinstance(d, date)]
    if field.kind == "bool":
        return "1" if value else None
    return str(value)


_UNUSABLE = object()


def _decode(field: Field, raw: list[str]) -> Any:
    """A value from the URL's text, or `_UNUSABLE` when it cannot be used."""
    try:
        if field.kind == "list":
            allowed = list(field.options or [])
            return [v for v in dict.fromkeys(raw) if v in allowed]
        if field.kind == "dates":
            days = [date.fromisoformat(v) for v in raw[:2]]
            return sorted(days)
        text = raw[-1][:MAX_TEXT]
        if field.kind == "text":
            return text
        if field.kind == "bool":
            return text in ("1", "true", "True")
        if field.kind in ("float", "int"):
            number = float(text) if field.kind == "float" else int(text)
            inside = (field.low is None or number >= field.low) and (
                field.high is None or number <= field.high)
            return number if inside and number == number else _UNUSABLE  # NaN: not a number
        allowed = list(field.options or [])  # choice
        return text if text in allowed else _UNUSABLE
    except (ValueError, IndexError):
        return _UNUSABLE


def _in_url(fields: Sequence[Field]) -> dict[str, list[str]]:
    return {f.key: st.query_params.get_all(f.key) for f in fields if f.key in st.query_params}


def restore(scope: str, fields: Sequence[Field]) -> None:
    """Before the widgets: take the URL's values when they came from outside this session."""
    found = _in_url(fields)
    written = st.session_state.get(_written_key(scope))
    saved = st.session_state.get(_saved_key(scope), {})
    if not found or found == written or (written is not None and _user_changed(fields, saved)):
        for field in fields:  # back from another page: the values as they were
            if field.key not in st.session_state and field.key in saved:
                st.session_state[field.key] = saved[field.key]
        return
    for field in fields:
        value = _UNUSABLE if field.key not in found else _decode(field, found[field.key])
        if value is _UNUSABLE:  # not in the URL, or junk: the widget's own default
            st.session_state.pop(field.key, None)
        else:
            st.session_state[field.key] = value


def _user_changed(fields: Sequence[Field], saved: dict[str, Any]) -> bool:
    """Whether this rerun carries a value of the page's widgets that differs from what the
    page last published: the user changed a widget (a back/forward or a reload changes none)."""
    state = st.session_state
    return any(
        field.key in state and (field.key not in saved or state[field.key] != saved[field.key])
        for field in fields
    )


def publish(scope: str, fields: Sequence[Field]) -> None:
    """After the widgets: the current values into the URL (defaults left out)."""
    written: dict[str, list[str]] = {}
    saved: dict[str, Any] = {}
    for field in fields:
        value = st.session_state.get(field.key, field.default)
        if field.key in st.session_state:
            saved[field.key] = value
        text = _encode(field, value)
        if text is None or text == []:
            if field.key in st.query_params:
                del st.query_params[field.key]
            continue
        st.query_params[field.key] = text
        written[field.key] = text if isinstance(text, list) else [text]
    st.session_state[_written_key(scope)] = written
    st.session_state[_saved_key(scope)] = saved
