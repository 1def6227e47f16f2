"""The page guard: an expected failure (`WorkbenchError`) is a message on the page; anything
else is a bug and surfaces as an exception."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.ui import pages


def _guarded_page_raising_an_expected_failure() -> None:
    from workbench.providers.base import ProviderError
    from workbench.ui.shared import page

    @page
    def render() -> None:
        raise ProviderError("moderated", "The provider refused the prompt (moderation).")

    render()


def _guarded_page_raising_a_bug() -> None:
    from workbench.ui.shared import page

    @page
    def render() -> None:
        raise ZeroDivisionError("a bug in a page")

    render()


def test_an_expected_failure_is_shown_as_a_message() -> None:
    at = AppTest.from_function(_guarded_page_raising_an_expected_failure, default_timeout=30)
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["The provider refused the prompt (moderation)."]


def test_an_unexpected_error_surfaces() -> None:
    at = AppTest.from_function(_guarded_page_raising_a_bug, default_timeout=30)
    at.run()
    assert not at.error
    assert at.exception
    assert "a bug in a page" in at.exception[0].message


def test_a_malformed_setting_is_explained_on_the_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WORKBENCH_LOCK_TIMEOUT_S", "soon")
    st.cache_resource.clear()
    at = AppTest.from_function(pages.status_page, default_timeout=30)
    at.run()
    st.cache_resource.clear()
    assert not at.exception
    assert any("WORKBENCH_LOCK_TIMEOUT_S must be a number" in e.value for e in at.error)
