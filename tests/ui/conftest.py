"""AppTest fixtures: each test gets its own data directory, holding a copy of the session's
migrated database (`tests.conftest.seed_data_dir`: the app finds every migration applied), and a
fresh cached Workbench."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st

from tests.conftest import seed_data_dir
from workbench.config import load_settings
from workbench.services.workbench import Workbench, open_workbench


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    directory = tmp_path / "data"
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(directory))
    monkeypatch.setenv("WORKBENCH_LOCK_TIMEOUT_S", "1")
    seed_data_dir(directory)
    st.cache_resource.clear()
    yield directory
    st.cache_resource.clear()


@pytest.fixture
def seeded(data_dir: Path) -> Iterator[Workbench]:
    """The same data directory opened outside the app, to prepare or inspect the log."""
    wb = open_workbench(load_settings(), idle_close_s=0)
    yield wb
    wb.close()
