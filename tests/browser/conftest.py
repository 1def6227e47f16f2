"""A real app server and Debian's chromium, for the browser journeys.

Starting them is most of a short journey's cost, so they are shared across the folder (package
scope: stopped after its last test): one Chromium (each test opens its own page or context),
and one Streamlit server per configuration a journey needs:

- `app_server`: the plain app on a data directory of its own. The main journey
  (test_journey.py) counts every generation it made, so its module runs first (see
  `pytest_collection_modifyitems`); the working-day journeys (test_day_in_the_app.py) look only
  at what they made themselves (by id, text filter or run).
- `fresh_app_server`: the plain app on an empty data directory, one per module that asks
  (History during a run counts every row).
- `proxied_app` (tests/browser/test_identity.py, test_media_guard.py): behind a signing-in
  proxy (`WORKBENCH_TRUSTED_USER_HEADER`), with two prompts of two models each to read and
  vote on.

Under `--dist loadgroup` the whole folder is one unit on one worker (tests/conftest.py), in the
order set here.
"""

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
HERE = Path(__file__).resolve().parent

# Modules that need the shared plain server before any other module has written to it.
FIRST = ("test_journey.py",)

TRUSTED_HEADER = "X-Forwarded-Email"
TEAM_PROMPTS = ("a lighthouse only the team may see", "a harbour only the team may see")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The modules of `FIRST` run before the folder's other modules (a stable sort: the order
    inside a module and of everything outside this folder stays as collected)."""

    def rank(item: pytest.Item) -> int:
        path = Path(str(item.path))
        return 0 if path.parent == HERE and path.name in FIRST else 1

    mine = [i for i in items if Path(str(i.path)).parent == HERE]
    if not mine:
        return
    ordered = iter(sorted(mine, key=rank))
    items[:] = [next(ordered) if Path(str(i.path)).parent == HERE else i for i in items]


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


@pytest.fixture(scope="package")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("browser-data")
    with start_app(data_dir) as url:
        yield url, data_dir


@pytest.fixture(scope="module")
def fresh_app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("browser-fresh-data")
    with start_app(data_dir) as url:
        yield url, data_dir


@pytest.fixture(scope="package")
def proxied_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    from tests.arena_data import add_generation
    from workbench.config import load_settings
    from workbench.services.workbench import open_workbench

    data_dir = tmp_path_factory.mktemp("proxied-data")
    settings = load_settings(env={"WORKBENCH_DATA_DIR": str(data_dir)},
                             secrets_file=data_dir.parent / "no-secrets.toml")
    wb = open_workbench(settings, idle_close_s=0)
    try:  # two models' images of each prompt: something to read, and pairs to vote on
        for prompt in TEAM_PROMPTS:
            add_generation(wb, "nano-banana-2", prompt)
            add_generation(wb, "flux-2-pro", prompt, provider="bfl")
    finally:
        wb.close()
    with start_app(data_dir, {"WORKBENCH_TRUSTED_USER_HEADER": TRUSTED_HEADER}) as url:
        yield url, data_dir


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (see README Quick start)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A journey that fails shows what its pages said at that moment (the text of each page
    still open, its end), so a failure seen only on a CI machine can be read from the log."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]  # pluggy's hookwrapper result
    browser = getattr(item, "funcargs", {}).get("browser")
    if report.when != "call" or not report.failed or browser is None:
        return
    for context in browser.contexts:
        for page in context.pages:
            try:
                main = page.locator('[data-testid="stMain"]')  # the page, not the menu
                text = (main if main.count() else page.locator("body")).inner_text(timeout=5_000)
            except Exception as exc:  # the page itself broke: say so instead
                text = f"(the page could not be read: {exc})"
            report.sections.append((f"page {page.url} when the journey failed", text[-3000:]))
