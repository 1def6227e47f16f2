""""Open from image" on the Build page: drop an image, restore its prompt and settings.

The widget only hands the bytes to `services.recipes` and puts the result where the Build page
loads History's "open in builder" from (`load_key`), so both restore the same way."""

from __future__ import annotations

import streamlit as st

from workbench.imaging.provenance import MAX_FILE_BYTES
from workbench.services.delivery.recipes import RecipeError, recipe_from_image
from workbench.services.workbench import Workbench
from workbench.ui.text import plain

NOTES_KEY = "b_recipe_notes"


def open_from_image(wb: Workbench, load_key: str) -> None:
    """An expander with an uploader; a restored recipe reruns the page with it loaded."""
    notes: tuple[str, ...] | None = st.session_state.pop(NOTES_KEY, None)
    if notes is not None:
        st.success("Restored the prompt and settings from the image.")
        for note in notes:
            st.info(plain(note))  # notes quote the uploaded file's metadata
    with st.expander("Open from image"):
        upload = st.file_uploader(
            "An image made here, or by a tool that writes A1111 'parameters' (PNG or JPEG)",
            type=["png", "jpg", "jpeg", "webp"],
            key="b_recipe_upload",
        )
        if upload is None or not st.button("Restore its recipe", key="b_recipe_apply"):
            return
        if upload.size > MAX_FILE_BYTES:  # refused before the bytes are read
            st.error(f"The file is over {MAX_FILE_BYTES // 1024 // 1024} MB; it was not read.")
            return
        try:
            recipe = recipe_from_image(wb, upload.getvalue(), st.session_state.get("b_model", ""))
        except RecipeError as exc:
            st.warning(plain(str(exc)))
            return
    st.session_state[load_key] = recipe.load
    st.session_state[NOTES_KEY] = recipe.notes
    st.rerun()
