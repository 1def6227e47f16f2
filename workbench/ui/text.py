"""User text on screen: everything people type (prompts, slots, labels, notes, tags, categories)
and everything a provider echoes back (errors) is shown as written, never as Markdown or HTML.

Most Streamlit elements render their body as Markdown (captions, alerts, image captions, table
cells, expander and widget labels). A prompt holding `![x](http://host/pixel.png)` would make
every viewer's browser fetch that URL; escaping the characters that start Markdown syntax keeps
it inert. Code blocks (`st.code`) and `st.text` are already literal."""

from __future__ import annotations

from typing import Any

from workbench.domain.plural import count

__all__ = ["count", "plain"]

# CommonMark lets a backslash escape any ASCII punctuation. These start links and images ([ ]),
# raw HTML and autolinks (< >), emphasis, code, headings, tables, strikethrough, LaTeX ($) and
# Streamlit's colour directives (`:red[...]`).
_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\`*_[]<>#|~$"})


def plain(text: Any) -> str:
    """`text` as written, safe in any element that renders Markdown."""
    return str(text).translate(_MARKDOWN)
