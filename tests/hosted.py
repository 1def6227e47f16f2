"""A workbench whose hosted provider points at a loopback fake (`harness.fakes`): for the tests
that run generations in this process through the real provider clients, as the app builds them
from its settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.fakes import FAKES, FakeServer
from workbench.config import BASE_URL_VARIABLES, KEY_VARIABLES, load_settings
from workbench.services.workbench import Workbench, open_workbench


@contextmanager
def workbench_on(fake: FakeServer, tmp_path: Path, **env: str) -> Iterator[Workbench]:
    """A workbench on a new data directory under `tmp_path`, with the fake's key and address
    for its provider and the extra settings `env`; closed at the end."""
    provider = next(name for name, kind in FAKES.items() if type(fake) is kind)
    settings = load_settings(
        env={"WORKBENCH_DATA_DIR": str(tmp_path / "data"), KEY_VARIABLES[provider][0]: fake.key,
             BASE_URL_VARIABLES[provider]: fake.url, **env},
        secrets_file=tmp_path / "none.toml",
    )
    wb = open_workbench(settings, idle_close_s=0)
    try:
        yield wb
    finally:
        wb.close()
