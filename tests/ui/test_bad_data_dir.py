"""An unusable data directory is a message on every page, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.ui import pages


@pytest.mark.parametrize("page", [pages.build_page, pages.history_page, pages.status_page])
def test_unwritable_data_directory_is_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, page
) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(blocker / "data"))
    st.cache_resource.clear()
    at = AppTest.from_function(page, default_timeout=30)
    at.run()
    st.cache_resource.clear()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any(
        "WORKBENCH_DATA_DIR" in e and "Cannot use the data directory" in e for e in errors
    )
