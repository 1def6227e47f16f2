"""A NUL character in a History filter is refused at the filter edge with one sentence, on both
backends (PostgreSQL refuses NUL in a text parameter with a driver error; DuckDB would match
nothing): by `HistoryFilter` for every text field, and by the SQL builder for a filter that was
built without validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from workbench.domain.filters import NUL_MESSAGE, HistoryFilter
from workbench.errors import InvalidInput
from workbench.services.workbench import Workbench


@pytest.mark.parametrize(
    "fields",
    [
        {"text": "light\x00house"},
        {"models": ("flux-2-pro\x00",)},
        {"providers": ("\x00",)},
        {"templates": ("t\x00",)},
        {"categories": ("portrait\x00",)},
        {"run_id": "run_\x00"},
        {"raters": ("ann\x00",)},
        {"lineage": "gen\x00"},
    ],
)
def test_every_text_field_of_a_filter_refuses_a_nul(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as refused:
        HistoryFilter(**fields)  # type: ignore[arg-type]
    (error,) = refused.value.errors()
    assert error["loc"] == (next(iter(fields)),) and NUL_MESSAGE in error["msg"]


def test_a_nul_reaches_neither_database(backend_wb: Workbench) -> None:
    unchecked = HistoryFilter.model_construct(text="light\x00house")
    with pytest.raises(InvalidInput, match="A filter contains a NUL character"):
        backend_wb.log.page(unchecked, limit=10)
    with pytest.raises(InvalidInput, match="A filter contains a NUL character"):
        backend_wb.log.count(unchecked)
    assert backend_wb.log.count(HistoryFilter(text="lighthouse")) == 0  # the store still answers


@pytest.mark.parametrize("backend", ["duckdb", "postgres"])
def test_the_history_page_says_one_line_for_a_nul_on_both_backends(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from tests.ui import pages

    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WORKBENCH_LOCK_TIMEOUT_S", "5")
    if backend == "postgres":
        monkeypatch.setenv("WORKBENCH_DATABASE_URL", request.getfixturevalue("pg_url"))
    st.cache_resource.clear()
    try:
        at = AppTest.from_function(pages.history_page, default_timeout=60)
        at.run()
        at.text_input(key="h_text").set_value("light\x00house").run()
        assert not at.exception
        errors = [e.value for e in at.error]
        assert len(errors) == 1 and errors[0].startswith("Filter not applied: ")
        assert NUL_MESSAGE in errors[0]
    finally:
        st.cache_resource.clear()
