"""Single generations for callers without an event loop (a Streamlit rerun) run on the
process's shared loop (`services.runs.shared_loop`): a workbench keeps its provider's client,
and so its connection, between images and closes it with itself; an interrupted wait cancels the
generation and lets it record what it left with the provider before the interruption goes on.
Against the loopback BFL fake (api.bfl.ai/openapi.json shapes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.fakes import FakeBfl
from tests.hosted import workbench_on
from workbench.config import load_settings
from workbench.services.runs.generation import GenerateRequest, InvalidRequest, generate_sync
from workbench.services.workbench import Workbench, open_workbench

ROOT = Path(__file__).resolve().parent.parent
KEY = "bfl-test-key-5678"
REQUEST = GenerateRequest(model="flux-2-pro", provider="bfl", prompt="a paper crane", seed=1)


@pytest.fixture
def bfl(tmp_path: Path) -> Iterator[tuple[Workbench, FakeBfl]]:
    with FakeBfl(KEY) as fake:
        fake.pending_polls = 0
        with workbench_on(fake, tmp_path) as wb:
            yield wb, fake


def test_a_workbench_keeps_its_providers_connection_between_images_and_closes_it_with_itself(
    bfl: tuple[Workbench, FakeBfl],
) -> None:
    wb, fake = bfl
    first = generate_sync(wb, REQUEST)
    kept = wb.loop_providers["bfl"]
    second = generate_sync(wb, REQUEST.model_copy(update={"seed": 2}))
    assert (first.status, second.status) == ("succeeded", "succeeded")
    assert wb.loop_providers["bfl"] is kept
    # submit, poll and download of both images on one keep-alive connection
    assert len(fake.requests) == 6 and fake.connections == 1
    assert fake.closed_connections == 0  # kept open for the next image
    wb.close()
    assert wb.loop_providers == {}
    deadline = time.monotonic() + 30
    while fake.closed_connections < 1 and time.monotonic() < deadline:  # the fake has no event
        time.sleep(0.02)
    assert fake.closed_connections == 1  # the client closed its connection with the workbench


def test_a_request_that_fails_validation_raises_in_the_caller_and_sends_nothing(
    bfl: tuple[Workbench, FakeBfl],
) -> None:
    wb, fake = bfl
    with pytest.raises(InvalidRequest):
        generate_sync(wb, REQUEST.model_copy(update={"aspect_ratio": "7:3"}))
    assert fake.paid_submits == 0 and wb.loop_providers == {}


SCRIPT = """
import sys
from workbench.config import load_settings
from workbench.services.runs.generation import GenerateRequest, generate_sync
from workbench.services.workbench import open_workbench

wb = open_workbench(load_settings())
try:
    generate_sync(wb, GenerateRequest(model="flux-2-pro", provider="bfl", prompt="a kite"))
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
"""


def _stopped_while_with_bfl(
    tmp_path: Path, script: str, stop: Callable[[subprocess.Popen[str]], tuple[str, str]]
) -> tuple[int, str, str]:
    """Run `script` in its own process against a BFL fake that keeps the job pending; once the
    job is with BFL, `stop` ends the process (its output back). Exactly one paid submit."""
    with FakeBfl(KEY) as fake:
        fake.pending_polls = 10**9  # the job stays with BFL
        env = {**os.environ, "WORKBENCH_DATA_DIR": str(tmp_path / "data"), "BFL_API_KEY": KEY,
               "BFL_BASE_URL": fake.url, "WORKBENCH_POLL_INTERVAL_S": "0.05"}
        proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while not fake.polls and time.monotonic() < deadline:  # the fake has no event
                time.sleep(0.02)
            assert fake.polls, "the job never reached BFL"
            out, err = stop(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert fake.paid_submits == 1
    return proc.returncode, out, err


def _left_interrupted_with_its_job_id(tmp_path: Path) -> None:
    """The one attempt is recorded `interrupted` with BFL's job id, so `recover` fetches it."""
    settings = load_settings(env={"WORKBENCH_DATA_DIR": str(tmp_path / "data")},
                             secrets_file=tmp_path / "none.toml")
    wb = open_workbench(settings, idle_close_s=0)
    try:
        [left] = wb.log.resumable()
        assert left.provider_request_id
        record = wb.log.get(left.id)
        assert record is not None and record.status == "interrupted"
    finally:
        wb.close()


def test_ctrl_c_while_waiting_records_the_attempt_left_with_the_provider_before_it_exits(
    tmp_path: Path,
) -> None:
    def ctrl_c(proc: subprocess.Popen[str]) -> tuple[str, str]:
        proc.send_signal(signal.SIGINT)
        return proc.communicate(timeout=60)

    code, out, err = _stopped_while_with_bfl(tmp_path, SCRIPT, ctrl_c)
    assert code == 130, err
    assert out.strip() == "interrupted"
    _left_interrupted_with_its_job_id(tmp_path)


THREAD_SCRIPT = """
import sys, threading, time
from workbench.config import load_settings
from workbench.services.runs.generation import GenerateRequest, generate_sync
from workbench.services.workbench import open_workbench

wb = open_workbench(load_settings())
request = GenerateRequest(model="flux-2-pro", provider="bfl", prompt="a kite")
# As a Streamlit session does: the generation waits in a thread that is not the main one.
threading.Thread(target=generate_sync, args=(wb, request), daemon=True).start()
sys.stdin.readline()  # the test says when the job is with BFL; then the process ends
print("ending", flush=True)
"""


def test_a_generation_still_running_when_the_process_ends_records_itself_first(
    tmp_path: Path,
) -> None:
    code, out, err = _stopped_while_with_bfl(
        tmp_path, THREAD_SCRIPT, lambda proc: proc.communicate("go\n", timeout=60)
    )
    assert code == 0, err
    assert out.strip() == "ending"
    _left_interrupted_with_its_job_id(tmp_path)
