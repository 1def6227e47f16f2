"""The Library page: saved prompts and their versions (search, tags, note, star), a version's
generations and figures, a word diff and a side-by-side comparison of two versions, and "Open in
builder". Also `save_to_library`, the Build page's "Save to library" box."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from workbench.domain.prompt_diff import DiffPart
from workbench.services.delivery import library
from workbench.services.workbench import Workbench
from workbench.ui.names import model_name, provider_name
from workbench.ui.navigation import open_in_builder
from workbench.ui.shared import page, workbench
from workbench.ui.text import count

VERSION_KEY = "b_library_version"  # the version the builder was opened from (or last saved as)
_PLAIN = str.maketrans({c: "\\" + c for c in "\\`*_[]<>#|~$:"})


def linked_version(wb: Workbench, request: dict[str, Any]) -> str | None:
    """The library version a generation made from `request` belongs to, if the builder still
    holds it unedited."""
    return library.still_matches(wb, st.session_state.get(VERSION_KEY), request)


def save_to_library(wb: Workbench, request: dict[str, Any]) -> None:
    """A name box and a button under the builder: saves what it holds as the next version."""
    with st.expander("Save to library"):
        # No max_chars: a widget that silently cut a pasted name would save under another
        # name; the service says what is wrong instead.
        name = st.text_input("Name", key="b_library_name",
                             help="Saving under an existing name adds a new version.")
        if not st.button("Save", key="b_library_save"):
            return
        try:
            saved = library.save(wb, {**request, "name": name})
        except library.LibraryError as exc:
            st.error(str(exc))
            return
        st.session_state[VERSION_KEY] = saved.id
        st.success(f"Saved as {saved.name} version {saved.version}.")


def _diff_markdown(parts: list[DiffPart]) -> str:
    shown = {"same": "{}", "removed": ":red-background[~~{}~~]", "added": ":green-background[{}]"}
    return " ".join(shown[p.kind].format(p.text.translate(_PLAIN)) for p in parts)


def _search(wb: Workbench) -> library.LibraryPage:
    cols = st.columns([3, 2, 1, 1], vertical_alignment="bottom")
    text = cols[0].text_input("Search names and text", key="lib_search")
    tag = cols[1].selectbox("Tag", library.tags(wb), index=None, key="lib_tag",
                            placeholder="any tag")
    favourites = cols[2].checkbox("★ only", key="lib_fav")
    number = int(cols[3].number_input("Page", min_value=1, step=1, key="lib_page"))
    return library.browse(wb, text, tag, favourites, number)


def _marks(wb: Workbench, name: str) -> None:
    marks = library.marks(wb, name)
    with st.form(f"lib_marks_{name}"):
        tags = st.text_input("Tags (comma-separated)", value=", ".join(marks.tags),
                             key="lib_tags")
        note = st.text_area("Note", value=marks.note, key="lib_note")
        star = st.checkbox("★ Favourite", value=marks.favourite, key="lib_star")
        if st.form_submit_button("Save tags, note and star"):
            try:
                library.mark(wb, name, tags.split(","), note, star)
            except library.LibraryError as exc:
                st.error(str(exc))
            else:
                st.rerun()


def _version(wb: Workbench, saved: library.LibraryVersion) -> None:
    st.code(saved.prompt, language=None, wrap_lines=True)
    params = saved.params or {}
    st.caption(
        f"{model_name(wb, saved.model)} · "
        f"{provider_name(saved.provider) if saved.provider else 'default provider'} · template "
        f"{saved.template_id or 'free-text'} · "
        + " · ".join(f"{str(k).replace('_', ' ')} {v}" for k, v in params.items())
        + f" · saved {saved.created_at:%Y-%m-%d %H:%M} UTC"
    )
    if st.button("Open in builder", key="lib_open", type="primary"):
        open_in_builder(library.to_builder(saved))
    produced = library.produced(wb, saved.id)
    st.markdown(f"**Generations from this version** ({len(produced)} newest shown)")
    if produced:
        st.dataframe(
            pd.DataFrame(produced)[
                ["thumbnail", "created_at", "status", "model", "provider", "cost_usd",
                 "latency_ms", "id"]
            ].assign(
                model=lambda d: d["model"].map(lambda m: model_name(wb, m)),
                provider=lambda d: d["provider"].map(provider_name),
                latency_ms=lambda d: d["latency_ms"] / 1000,
            ),
            hide_index=True,
            row_height=64,
            column_config={
                "thumbnail": st.column_config.ImageColumn("Image", width="small"),
                "created_at": st.column_config.DatetimeColumn(
                    "When (UTC)", format="YYYY-MM-DD HH:mm"
                ),
                "status": "Status",
                "model": "Model",
                "provider": "Provider",
                "cost_usd": st.column_config.NumberColumn("Cost", format="$%.4f"),
                "latency_ms": st.column_config.NumberColumn(
                    "Time", format="%.1f s", help="Seconds from request to image."
                ),
                "id": "Generation",
            },
        )
    else:
        st.caption("None yet: open it in the builder and generate.")


def _compare(wb: Workbench, versions: list[library.LibraryVersion]) -> None:
    st.subheader("Compare two versions")
    numbers = [v.version for v in versions]
    cols = st.columns(2)
    left = cols[0].selectbox("Left", numbers, index=max(0, len(numbers) - 2), key="lib_left")
    right = cols[1].selectbox("Right", numbers, index=len(numbers) - 1, key="lib_right")
    by_number = {v.version: v for v in versions}
    a, b = by_number[left], by_number[right]
    st.markdown(_diff_markdown(library.diff(wb, a.id, b.id)))
    rows = library.side_by_side(wb, a.id, b.id)
    st.table(pd.DataFrame(rows).rename(
        columns={"left": f"version {left}", "right": f"version {right}"}
    ).set_index("figure"))


@page
def render() -> None:
    wb = workbench()
    st.title("Prompt library")
    found = _search(wb)
    if not found.rows:
        st.info("Nothing saved matches. Save a prompt from the Build page's "
                "\"Save to library\", or with `workbench prompts save`.")
        return
    st.caption(f"{count(found.total, 'name')} · page {found.page} of {found.pages}")
    st.dataframe(
        pd.DataFrame([
            {"★": "★" if r.favourite else "", "name": r.name, "version": r.version,
             "versions": r.versions, "model": model_name(wb, r.model), "tags": ", ".join(r.tags),
             "prompt": r.prompt}
            for r in found.rows
        ]),
        hide_index=True,
    )
    name = st.selectbox("Prompt", [r.name for r in found.rows], key="lib_name")
    versions = library.versions(wb, name)
    _marks(wb, name)
    numbers = [v.version for v in versions]
    number = st.selectbox("Version", numbers, index=len(numbers) - 1, key="lib_version")
    _version(wb, next(v for v in versions if v.version == number))
    if len(versions) > 1:
        _compare(wb, versions)
