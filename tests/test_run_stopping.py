"""Stopping a `workbench run` with real signals, against the loopback BFL fake holding its jobs
`Pending` until the test lets them finish: the first signal (Ctrl-C; SIGTERM alike) stops
sending and lets the jobs in flight finish and be logged; a second one stops waiting and leaves
them `interrupted` with their request ids, which `workbench recover` then fetches."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image

from harness.fakes import FakeBfl
from workbench import cli
from workbench.config import load_settings
from workbench.domain.filters import HistoryFilter
from workbench.services.workbench import Workbench, open_workbench

ROOT = Path(__file__).resolve().parent.parent
KEY = "stopping-key-5521"
PROMPTS = 6
AT_ONCE = 2


class Lines:
    """A subprocess's stderr read line by line in a thread, waited on by content."""

    def __init__(self, stream: object) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, needle: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            line = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            if line is None:
                raise AssertionError(f"{needle!r} never came: {self.seen}")
            self.seen.append(line)
            if needle in line:
                return line

    def rest(self) -> str:
        while (line := self._queue.get(timeout=60)) is not None:
            self.seen.append(line)
        return "".join(self.seen)


def _until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Wait for a condition on the fake's counters (it offers no event to wait on)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


@contextmanager
def _held_jobs(tmp_path: Path) -> Iterator[tuple[FakeBfl, dict[str, str], subprocess.Popen]]:
    """A run of PROMPTS cells, AT_ONCE at a time, whose jobs BFL keeps `Pending` until the test
    sets `fake.pending_polls = 0`; yields once AT_ONCE jobs are with BFL."""
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("".join(f"a glass lantern number {i}\n" for i in range(PROMPTS)))
    with FakeBfl(KEY) as fake:
        fake.pending_polls = 10**9
        env = {
            **os.environ,
            "WORKBENCH_DATA_DIR": str(tmp_path / "data"),
            "BFL_API_KEY": KEY,
            "BFL_BASE_URL": fake.url,
            "WORKBENCH_POLL_INTERVAL_S": "0.05",
        }
        run = subprocess.Popen(
            [sys.executable, "-m", "workbench", "run", str(prompts), "--models", "flux-2-pro",
             "--provider-for", "flux-2-pro=bfl", "--concurrency", str(AT_ONCE), "--seed", "1",
             "--quiet"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            _until(lambda: len(fake.polls) == AT_ONCE, "the run never had its jobs with BFL")
            yield fake, env, run
        finally:
            if run.poll() is None:
                run.kill()
            run.wait(30)


def _open(env: dict[str, str], tmp_path: Path) -> Workbench:
    settings = load_settings(env={"WORKBENCH_DATA_DIR": env["WORKBENCH_DATA_DIR"]},
                             secrets_file=tmp_path / "none.toml")
    return open_workbench(settings, idle_close_s=0)


def _run_id(lines: Lines) -> str:
    return lines.wait_for("run id: ").split("run id: ")[1].split()[0]


def test_a_first_signal_stops_sending_and_logs_the_jobs_in_flight(tmp_path: Path) -> None:
    with _held_jobs(tmp_path) as (fake, env, run):
        lines = Lines(run.stderr)
        run_id = _run_id(lines)
        run.send_signal(signal.SIGINT)  # Ctrl-C
        lines.wait_for("stopping: nothing new is sent")
        fake.pending_polls = 0  # BFL finishes the two jobs it has
        assert run.wait(60) == 130
        err = lines.rest()
        assert fake.paid_submits == AT_ONCE  # nothing was sent after the signal
    assert f"{PROMPTS - AT_ONCE} queued cells cancelled, {AT_ONCE} finished and logged" in err
    wb = _open(env, tmp_path)
    cells = wb.log.run_cells(run_id)
    assert sorted(c.status for c in cells) == ["cancelled"] * 4 + ["succeeded"] * 2
    for cell in cells:
        if cell.status == "succeeded":  # logged with its image and its cost
            assert cell.cost_usd and cell.image_path
            with Image.open(wb.images.absolute(cell.image_path)) as image:
                image.load()
    assert wb.runs.get(run_id).status == "cancelled"
    wb.close()


def test_a_second_signal_leaves_the_jobs_to_recover(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with _held_jobs(tmp_path) as (fake, env, run):
        lines = Lines(run.stderr)
        run_id = _run_id(lines)
        run.send_signal(signal.SIGINT)
        lines.wait_for("stopping: nothing new is sent")
        run.send_signal(signal.SIGINT)
        assert run.wait(60) == 130
        err = lines.rest()
        assert f"{AT_ONCE} still with their provider recorded as interrupted" in err
        wb = _open(env, tmp_path)
        cells = wb.log.run_cells(run_id)
        out = {r.provider_request_id: r for r in wb.log.resumable(run_id)}
        assert len(out) == AT_ONCE  # interrupted with their request ids and status URLs
        assert sorted(c.status for c in cells) == ["cancelled"] * 4 + ["interrupted"] * 2
        assert wb.runs.get(run_id).status == "interrupted"
        wb.close()

        fake.pending_polls = 0  # BFL finishes them; `workbench recover` stores them
        for name in ("WORKBENCH_DATA_DIR", "BFL_API_KEY", "BFL_BASE_URL"):
            monkeypatch.setenv(name, env[name])
        assert cli.main(["recover"]) == 0
        assert f"{AT_ONCE} recovered" in capsys.readouterr().out
        assert fake.paid_submits == AT_ONCE  # fetched, never sent again
    wb = _open(env, tmp_path)
    done = {c.id: c for c in wb.log.run_cells(run_id) if c.status == "succeeded"}
    assert {r.id for r in out.values()} == set(done)
    assert all(c.image_path and c.cost_usd for c in done.values())
    wb.close()


def test_generate_waits_for_its_answer_on_a_first_signal_and_not_on_a_second(
    tmp_path: Path,
) -> None:
    with FakeBfl(KEY) as fake:
        fake.pending_polls = 10**9
        env = {**os.environ, "WORKBENCH_DATA_DIR": str(tmp_path / "data"), "BFL_API_KEY": KEY,
               "BFL_BASE_URL": fake.url, "WORKBENCH_POLL_INTERVAL_S": "0.05"}
        for signals in (1, 2):
            polled = len(fake.polls)
            gen = subprocess.Popen(
                [sys.executable, "-m", "workbench", "generate", "--model", "flux-2-pro",
                 "--provider", "bfl", "--prompt", f"a paper crane {signals}", "--json"],
                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            lines = Lines(gen.stderr)
            _until(lambda polled=polled: len(fake.polls) > polled, "the job never reached BFL")
            # SIGTERM first (a service manager stopping it), then Ctrl-C twice
            gen.send_signal(signal.SIGTERM if signals == 1 else signal.SIGINT)
            lines.wait_for("waiting for the provider's answer")
            if signals == 1:
                fake.pending_polls = 0  # the answer comes: the image is logged, exit 0
                assert gen.wait(60) == 0, lines.rest()
                fake.pending_polls = 10**9
            else:
                gen.send_signal(signal.SIGINT)
                assert gen.wait(60) == 130, lines.rest()
            gen.stdout.read()
        assert fake.paid_submits == 2
    wb = _open(env, tmp_path)
    rows = {r.status: r for r in wb.log.page(HistoryFilter(), limit=10)}
    assert set(rows) == {"succeeded", "interrupted"}
    assert rows["succeeded"].image_path
    [left] = wb.log.resumable()
    assert left.id == rows["interrupted"].id and left.provider_request_id
    wb.close()
