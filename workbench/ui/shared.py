"""What every page shares: the opened workbench (one per process) as seen by this session's user,
who that user is (`identity`: the trusted proxy header, the name chosen in the sidebar, or the
settings), the guard that turns expected failures (`WorkbenchError`) into a readable message,
and formatting of money and time."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from datetime import date
from typing import Any

import streamlit as st

from workbench.config import Settings
from workbench.errors import WorkbenchError
from workbench.services.evidence.measurements import worker_for
from workbench.services.runs.runner import recover
from workbench.services.team.identity import Identity, Refusal, who
from workbench.services.workbench import Workbench, open_workbench


@st.cache_resource(show_spinner=False)
def _workbench() -> Workbench:
    wb = open_workbench()
    # Attempts and runs left behind by a process that died are marked, once per app start.
    recover(wb)
    # Every new image is measured in the background (warmth, detail, hash; OCR when asked).
    wb.on_success.append(worker_for(wb).submit)
    return wb


USER_KEY = "workbench_user"  # the name chosen in the sidebar, for this browser session


def identity(settings: Settings) -> Identity | Refusal:
    """Who this request is: the trusted proxy header, else the name chosen this session, else
    `Settings.user` (`services.identity.who` decides)."""
    return who(settings, st.context.headers, st.session_state.get(USER_KEY))


def refuse(refusal: Refusal) -> None:
    """The refusal page: its title and message, nothing else (no menu, no data)."""
    st.title(refusal.title)
    st.error(refusal.message, icon=":material/lock:")
    st.stop()


def _as_user(wb: Workbench, name: str) -> Workbench:
    """The process's workbench as this session's user sees it: the same database, images and
    background worker, with `settings.user` naming who generates, rates and votes (sessions of
    different people share one process, so the shared object is never changed)."""
    if wb.settings.user == name:
        return wb
    view = copy.copy(wb)
    view.settings = wb.settings.model_copy(update={"user": name})
    return view


def workbench() -> Workbench:
    """The opened data directory, as this session's user; on an expected failure the page shows
    why and stops, and a request that may not come in sees the refusal and no data."""
    try:
        wb = _workbench()
    except WorkbenchError as exc:
        st.error(str(exc))
        st.stop()
        raise  # unreachable: st.stop raises
    found = identity(wb.settings)
    if isinstance(found, Refusal):
        refuse(found)
        raise AssertionError("unreachable: st.stop raises")
    return _as_user(wb, found.name)


def page(render: Callable[[], None]) -> Callable[[], None]:
    """Wraps a page so an expected failure (a locked database, a provider refusal, input that
    cannot be used) shows its message, not a traceback. Anything else is a bug and surfaces."""

    @functools.wraps(render)
    def wrapper() -> None:
        try:
            render()
        except WorkbenchError as exc:
            st.error(str(exc))

    return wrapper


def date_bounds(dates: Any) -> tuple[date | None, date | None]:
    """(first day, last day) from a `st.date_input` range, whatever part of it is picked."""
    if isinstance(dates, date):
        return dates, dates
    values = [d for d in (dates or ()) if d]
    if not values:
        return None, None
    return values[0], values[-1]


def money(usd: float | None, kind: str | None = None) -> str:
    if usd is None:
        return "price unknown"
    text = f"${usd:,.4f}".rstrip("0").rstrip(".") if usd else "$0"
    return f"≈{text} (est.)" if kind == "estimated" else text


def duration(ms: float | None) -> str:
    if ms is None:
        return "–"
    return f"{ms:,.0f} ms" if ms < 10_000 else f"{ms / 1000:,.1f} s"


def percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.0%}"
