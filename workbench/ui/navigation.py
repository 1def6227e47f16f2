"""The app's pages in menu order and their URLs. `app.py` runs them; pages link to each other by
name through `page_for`.

Pages are resolved by module name when they run, so this module imports no page and a page can
link to another without an import cycle. Build opens at `/build` like every other page: the
default page (the bare root URL) is hidden and forwards there, so every page has a URL that can
be bookmarked (a visible default page answers only at `/`, and `/build` would be "not found")."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import streamlit as st
from streamlit.navigation.page import StreamlitPage

HOME = "build"
# Hand-offs between pages, applied by the receiving page before its widgets exist.
BUILDER_LOAD_KEY = "builder_load"  # a logged prompt to reopen on Build
HISTORY_OPEN_KEY = "history_selected"  # a generation to open on History
ARENA_PAIR_KEY = "arena_pair_request"  # two generation ids to judge on the Arena
_PAGES = {
    "build": ("builder", "Build", ":material/construction:"),
    "compare": ("compare", "Compare", ":material/compare:"),
    "matrix": ("matrix", "Matrix", ":material/grid_view:"),
    "history": ("history", "History", ":material/history:"),
    "library": ("library", "Library", ":material/bookmarks:"),
    "arena": ("arena", "Arena", ":material/swords:"),
    "leaderboard": ("leaderboard", "Leaderboard", ":material/leaderboard:"),
    "measurements": ("measurements", "Measurements", ":material/query_stats:"),
    "judge": ("judge", "Judge", ":material/gavel:"),
    "status": ("status", "Status", ":material/monitor_heart:"),
}


def _renderer(module: str) -> Callable[[], None]:
    def render() -> None:
        importlib.import_module(f"workbench.ui.{module}").render()

    render.__name__ = module  # Streamlit names a callable page after its function
    return render


def page_for(name: str) -> StreamlitPage:
    """The page called `name` ("build", "history", …), for `st.switch_page` and the menu.
    Streamlit identifies a page by its URL path, so a fresh object equals the menu's."""
    module, title, icon = _PAGES[name]
    return st.Page(_renderer(module), title=title, icon=icon, url_path=name)


def open_in_builder(load: dict[str, Any]) -> None:
    """Reopens a prompt (model, template, slots, parameters) on the Build page."""
    st.session_state[BUILDER_LOAD_KEY] = load
    st.switch_page(page_for("build"))


def open_in_history(generation_id: str) -> None:
    """Shows one generation's detail (everything logged, its ratings) on the History page."""
    st.session_state[HISTORY_OPEN_KEY] = generation_id
    st.switch_page(page_for("history"))


def vote_on_pair(first_id: str, second_id: str) -> None:
    """Opens the Arena on these two images (names hidden, sides shuffled)."""
    st.session_state[ARENA_PAIR_KEY] = (first_id, second_id)
    st.switch_page(page_for("arena"))


def _home() -> None:
    st.switch_page(page_for(HOME))


def all_pages() -> list[StreamlitPage]:
    home = st.Page(_home, title="Prompt Workbench", default=True, visibility="hidden")
    return [home, *(page_for(name) for name in _PAGES)]
