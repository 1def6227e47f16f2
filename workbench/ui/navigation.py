"""The app's pages in menu order. `app.py` runs them; pages link to each other by name."""

from __future__ import annotations

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from workbench.ui import (
    arena,
    builder,
    compare,
    history,
    leaderboard,
    library,
    matrix,
    measurements,
    status,
)

_PAGES = {
    "build": (builder.render, "Build", ":material/construction:"),
    "compare": (compare.render, "Compare", ":material/compare:"),
    "matrix": (matrix.render, "Matrix", ":material/grid_view:"),
    "history": (history.render, "History", ":material/history:"),
    "library": (library.render, "Library", ":material/bookmarks:"),
    "arena": (arena.render, "Arena", ":material/swords:"),
    "leaderboard": (leaderboard.render, "Leaderboard", ":material/leaderboard:"),
    "measurements": (measurements.render, "Measurements", ":material/query_stats:"),
    "status": (status.render, "Status", ":material/monitor_heart:"),
}


def page_for(name: str) -> StreamlitPage:
    render, title, icon = _PAGES[name]
    return st.Page(render, title=title, icon=icon, url_path=name, default=name == "build")


def all_pages() -> list[StreamlitPage]:
    return [page_for(name) for name in _PAGES]
