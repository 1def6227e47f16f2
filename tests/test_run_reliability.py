"""A 50-job run killed with SIGKILL halfway, against the loopback BFL fake: after restart every
job is succeeded (with a readable image) or interrupted, none is missing; resuming fetches the
jobs BFL had accepted from BFL (not sent again), completes the never-sent cells on their own
rows, and never submits a paid job twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from PIL import Image

from harness.fakes import FakeBfl, Fault
from workbench.config import load_settings
from workbench.services.runs.runner import recover
from workbench.services.workbench import open_workbench

ROOT = Path(__file__).resolve().parent.parent
KEY = "reliability-key-8812"


def _cli(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "workbench", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sigkill_mid_run_then_resume(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("".join(f"a paper boat number {i} on a pond\n" for i in range(10)))
    data = tmp_path / "data"
    with FakeBfl(KEY) as fake:
        fake.pending_polls = 2
        fake.fault("poll", Fault(delay_s=0.1, passthrough=True, repeat=True))
        env = {
            **os.environ,
            "WORKBENCH_DATA_DIR": str(data),
            "BFL_API_KEY": KEY,
            "BFL_BASE_URL": fake.url,
            "WORKBENCH_POLL_INTERVAL_S": "0.05",
        }
        run = _cli(
            [
                "run",
                str(prompts),
                "--models",
                "flux-2-pro",
                "--provider-for",
                "flux-2-pro=bfl",
                "--variations",
                "5",
                "--seed",
                "100",
                "--concurrency",
                "6",
                "--quiet",
            ],
            env,
        )
        deadline = time.monotonic() + 60
        while fake.paid_submits < 20:
            assert run.poll() is None, run.communicate()
            assert time.monotonic() < deadline, "the run never got going"
            time.sleep(0.02)
        run.send_signal(signal.SIGKILL)
        _, err = run.communicate()
        run_id = err.split("run id: ")[1].split()[0]
        submits_before = fake.paid_submits
        assert submits_before < 50

        settings = load_settings(
            env={"WORKBENCH_DATA_DIR": str(data)}, secrets_file=tmp_path / "none.toml"
        )
        wb = open_workbench(settings, idle_close_s=0)
        recover(wb)
        cells = wb.log.run_cells(run_id)
        assert len(cells) == 50  # none missing
        assert {c.status for c in cells} <= {"succeeded", "interrupted"}
        succeeded = [c for c in cells if c.status == "succeeded"]
        assert succeeded
        for cell in succeeded:
            with Image.open(wb.images.absolute(cell.image_path)) as image:
                image.load()
        accepted_unfinished = [
            c.cell for c in cells if c.status == "interrupted" and c.submitted_at
        ]
        in_flight = {r.provider_request_id: r.cell for r in wb.log.resumable(run_id)}
        assert in_flight, "the kill should leave jobs accepted by BFL and not yet finished"
        polls_before = {job: fake.polls[job] for job in in_flight}
        never_sent = [c.id for c in cells if c.submitted_at is None]
        wb.close()

        resume = _cli(["run", "--resume", run_id, "--quiet"], env)
        _, err = resume.communicate(timeout=120)
        assert resume.returncode == 0, err

        sent = Counter((r.json()["prompt"], r.json()["seed"]) for r in fake.on("submit"))
        assert max(sent.values()) == 1  # no paid job was ever sent twice
        # Cells whose request had started to go out when the process died are not resent
        # (the provider may have billed them), so at most 50 submits, each cell at most once.
        assert len(sent) == fake.paid_submits <= 50
        # The jobs BFL had accepted were fetched from BFL: polled again, not submitted again.
        assert all(fake.polls[job] > polls_before[job] for job in in_flight)

    wb = open_workbench(settings, idle_close_s=0)
    final = wb.log.run_cells(run_id)
    wb.close()
    assert len(final) == 50  # the resumed cells completed their own rows: no second attempt
    assert {c.id for c in final} >= set(never_sent)
    done = [c.cell for c in final if c.status == "succeeded"]
    assert len(done) == len(set(done))  # exactly one image per cell
    assert set(in_flight.values()) <= set(done)  # the in-flight jobs' images are not lost
    # Only a request cut off before BFL answered (no id to ask about) can stay interrupted:
    # one the database saw start, or one only the sent-requests ledger knows had started to
    # leave (killed between the ledger's append and the row's commit), which resume marks
    # uncertain instead of sending it again.
    lost = set(accepted_unfinished) - set(in_flight.values())
    uncertain = {c.cell for c in final if c.status == "interrupted" and c.error_kind == "uncertain"}
    assert len(done) + len(lost | uncertain) == 50
    assert len(done) <= len(sent)  # every image came from exactly one paid submit
    assert not {c.status for c in final} - {"succeeded", "interrupted"}
