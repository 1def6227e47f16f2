"""The "Refine on MODEL" action (History detail, Compare and Matrix cells) and the builder's
panel for the draft being refined. The mapping and the reference image are the hand-off
service's (services/handoff.py); this module only draws and forwards."""

from __future__ import annotations

from typing import Any

import streamlit as st

from workbench.domain.catalog import PROVIDER_LABELS, ModelSpec
from workbench.services.runs import handoff
from workbench.services.workbench import Workbench
from workbench.ui.navigation import open_in_builder
from workbench.ui.text import plain

REFINE_KEY = "builder_refine"  # the draft the builder is refining (from the load), or absent
HELP = (
    "Opens the Build page for that model: the slots both templates share are filled from this "
    "generation, the production details it lacks are marked to fill, and this image can go "
    "along as a reference image."
)


def refine_action(wb: Workbench, generation_id: str, key: str, *, compact: bool = False) -> None:
    """A target select (FLUX.2 Pro first) and a "Refine on MODEL" button; `compact` puts them in
    a popover, for grid cells."""
    targets = handoff.targets(wb)
    labels = {t.model_id: t.label for t in targets}
    box = st.popover("Refine…", help=HELP) if compact else st.container()
    with box:
        target = st.selectbox(
            "Refine on",
            list(labels),
            format_func=labels.__getitem__,
            key=f"{key}_refine_target",
        )
        if st.button(f"Refine on {labels[target]}", key=f"{key}_refine", help=HELP):
            open_in_builder(handoff.refine_load(wb, generation_id, target))


def refine_panel(model: ModelSpec, provider: str) -> dict[str, Any]:
    """What the builder adds to its request while refining a draft: the parent and whether its
    image goes along ("Send the draft as reference image", on by default where the chosen
    provider takes one). Empty when no draft is being refined."""
    refine: dict[str, Any] | None = st.session_state.get(REFINE_KEY)
    if not refine:
        return {}
    with st.container(border=True):
        image_col, text_col = st.columns([1, 4], vertical_alignment="center")
        if refine.get("thumb_file"):
            image_col.image(refine["thumb_file"])
        text_col.markdown(
            # Markdown of our own around the values; only the values are escaped (an id is
            # shown as code, where escapes would show).
            f"**Refining** generation `{refine['parent_id'].replace('`', '')}` "
            f"({plain(refine['parent_model'])}) on {plain(model.name)}. The slots both "
            "templates share are filled in; the ones marked *to fill* are the details the "
            "draft lacks."
        )
        if refine.get("left_behind"):
            text_col.caption(
                plain(
                    "From the draft, not carried over: "
                    + "; ".join(f"{k}: {v}" for k, v in refine["left_behind"].items())
                )
            )
        offer = model.offer(provider)
        takes = offer.reference is not None and bool(refine.get("has_image"))
        send = text_col.checkbox(
            "Send the draft as reference image",
            value=takes,
            disabled=not takes,
            key=f"b_send_reference_{refine['parent_id']}_{model.id}_{provider}",
            help="The draft's image goes with the request in the provider's own reference "
            "field, so the refinement keeps its composition.",
        )
        if offer.reference is None:
            text_col.caption(
                f"{model.name} via {PROVIDER_LABELS[provider]} takes no reference image; the "
                "draft is recorded as the parent only."
            )
        if text_col.button("Stop refining", key="b_refine_stop",
                           help="Keeps the slots, forgets the draft."):
            st.session_state.pop(REFINE_KEY, None)
            st.rerun()
    return {"parent_id": refine["parent_id"], "send_reference": bool(send and takes)}


def to_fill(slot_id: str) -> bool:
    """Whether the builder highlights this slot as one the refined draft still needs."""
    refine: dict[str, Any] = st.session_state.get(REFINE_KEY) or {}
    return slot_id in refine.get("to_fill", ())
