"""The Status page: where the data lives, its size, the schema's migrations, and which provider
keys are configured (by variable name; the keys themselves are never shown)."""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd
import streamlit as st

from workbench.services.team import status as status_service
from workbench.ui.shared import page, workbench
from workbench.ui.text import count


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size} B"


@page
def render() -> None:
    wb = workbench()
    st.title("Status")
    facts = status_service.status(wb)
    cols = st.columns(3)
    cols[0].metric("Database size", _size(facts.db_bytes))
    cols[1].metric(f"Images ({facts.images_count:,})", _size(facts.images_bytes))
    cols[2].metric("Generations logged", f"{sum(facts.generations.values()):,}")
    st.markdown(f"**Data directory:** `{facts.data_dir}` (set `WORKBENCH_DATA_DIR` to move it)")
    st.markdown(f"**Database:** `{facts.db_path}` ({facts.backend})")
    st.text(f"Images: {facts.images_location} (WORKBENCH_IMAGES_URL chooses), "
            f"{count(facts.images_count, 'image')}, {_size(facts.images_bytes)}"
            + (f", {count(facts.images_spooled, 'file')} waiting to upload" if facts.images_spooled
               else "") + (f". {facts.images_problem}" if facts.images_problem else "")
            + " (counted at most a minute ago)")
    st.markdown("**Migrations applied:** " + ", ".join(f"`{m}`" for m in facts.migrations))
    if facts.generations:
        st.caption(" · ".join(f"{k}: {v:,}" for k, v in sorted(facts.generations.items())))
    if facts.team_mode:
        st.subheader(f"Sessions connected ({len(facts.sessions)})")
        st.dataframe(pd.DataFrame([asdict(s) for s in facts.sessions]), hide_index=True,
                     key="status_sessions")
        st.caption("Each workbench process names itself `workbench <command>` on the server.")
    st.subheader("Provider keys")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "provider": k.label,
                    "key": "present" if k.present else "missing",
                    "from": k.source or "–",
                    "set it with": " or ".join(k.variables),
                    "endpoint": k.base_url,
                }
                for k in facts.keys
            ]
        ),
        hide_index=True,
        key="status_keys",
    )
    st.caption(
        "Keys are read from the environment or from `.streamlit/secrets.toml` (never committed). "
        "They are used only in request headers: never stored, logged or shown."
    )
