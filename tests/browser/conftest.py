"""A real app server and Debian's chromium, for the browser journey."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.app_server import free_port, stop, wait_healthy
from workbench.config import KEY_VARIABLES

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def start_app(data_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """A real `streamlit run app.py` on a free loopback port, keyless (the offline renderer),
    with `extra_env` added to its environment; yields its URL once it answers. A port that
    another process (a parallel test worker) took between choosing and binding is chosen
    again."""
    env = {**os.environ, "WORKBENCH_DATA_DIR": str(data_dir), **(extra_env or {})}
    for names in KEY_VARIABLES.values():  # the journey runs keyless, on the offline renderer
        for name in names:
            env.pop(name, None)
    log_path = data_dir / "server.log"
    for attempt in range(5):
        port = free_port()
        log = log_path.open("w")
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(ROOT / "app.py"),
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if wait_healthy(server, port, 60):
            break
        stop(server)
        log.close()
        if attempt == 4 or "already in use" not in log_path.read_text():
            raise RuntimeError(log_path.read_text())
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(server)
        log.close()


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("browser-data")
    with start_app(data_dir) as url:
        yield url, data_dir


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (see README Quick start)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()
