"""History opened in the app while a command-line run writes to the same data directory shows
that run's rows (before, the run held the database file and the page could only wait)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness.slow_gemini import slow_gemini

pytestmark = pytest.mark.browser

PROMPTS = 6


def test_history_opened_while_a_run_writes_shows_that_runs_rows(  # type: ignore[no-untyped-def]
    fresh_app_server, browser, tmp_path: Path
) -> None:
    url, data_dir = fresh_app_server  # an empty log: every row on the page is the run's
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("".join(f"a lighthouse at dusk, study {i}\n" for i in range(PROMPTS)))
    # Each request is held until the page has shown the rows (then `release` lets the run end):
    # the run is writing for as long as the check needs, however slow the machine.
    release = threading.Event()
    with slow_gemini(data_dir, delay_s=120.0, release=release) as (fake, env):
        run = subprocess.Popen(
            [sys.executable, "-m", "workbench", "run", str(prompts), "--models",
             "nano-banana-2", "--concurrency", "1", "--quiet"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            # The run has queued its grid and sent the first request (held by the fake).
            while not fake.on("submit"):
                assert run.poll() is None, run.communicate()
                time.sleep(0.1)
            page = browser.new_page()
            page.goto(url)
            page.get_by_role("link", name="History").click()
            page.get_by_role("heading", name="History").wait_for()
            page.get_by_text(f"{PROMPTS} generations match").wait_for(timeout=60_000)
            assert run.poll() is None  # seen while the run was still writing
            page.get_by_role("heading", name="Generation gen_").wait_for(timeout=60_000)
            page.close()
        finally:
            release.set()
            _out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
