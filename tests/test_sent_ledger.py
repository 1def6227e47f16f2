"""The sent-requests ledger beside the DuckDB file: a run killed with SIGKILL whose write-ahead
log is then cut to half its size (the database opens without its last writes) is resumed
without sending any request a second time, and says which cells it cannot account for; a
ledger that cannot be written stops a run before anything is sent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from harness.slow_gemini import slow_gemini
from workbench import cli
from workbench.config import load_settings
from workbench.services.workbench import open_workbench
from workbench.store.sent_ledger import SentEntry, SentLedger

ROOT = Path(__file__).resolve().parent.parent


def _prompt(recorded: object) -> str:
    return recorded.json()["contents"][0]["parts"][0]["text"]  # type: ignore[attr-defined]


def _run(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "workbench", *args], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_a_lost_write_ahead_log_never_makes_resume_pay_again(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("".join(f"a copper weathervane number {i}\n" for i in range(12)))
    data = tmp_path / "data"
    with slow_gemini(data, delay_s=0.25) as (fake, env):
        run = _run(["run", str(prompts), "--models", "nano-banana-2", "--concurrency", "3",
                    "--quiet"], env)
        deadline = time.monotonic() + 60
        while len(fake.on("submit")) < 6:
            assert run.poll() is None, run.communicate()
            assert time.monotonic() < deadline, "the run never got going"
            time.sleep(0.01)
        run.send_signal(signal.SIGKILL)
        _, err = run.communicate()
        run_id = err.split("run id: ")[1].split()[0]
        wal = Path(str(data / "workbench.duckdb") + ".wal")
        assert wal.exists() and wal.stat().st_size > 0
        with wal.open("r+b") as fh:  # the log loses its second half
            fh.truncate(wal.stat().st_size // 2)
        sent_before = Counter(_prompt(r) for r in fake.on("submit"))

        resume = _run(["run", "--resume", run_id, "--quiet"], env)
        _, err = resume.communicate(timeout=120)
        sent_after = Counter(_prompt(r) for r in fake.on("submit")) - sent_before
    assert resume.returncode in (0, 1), err
    again = set(sent_before) & set(sent_after)
    assert not again, f"sent a second time: {sorted(again)}"
    assert max(sent_before.values()) == 1
    note = next(line for line in err.splitlines() if "sent-requests ledger" in line)
    assert "not sent again" in note and "|" in note  # it names the cells (model|prompt...)
    settings = load_settings(env={"WORKBENCH_DATA_DIR": str(data)},
                             secrets_file=tmp_path / "none.toml")
    wb = open_workbench(settings, idle_close_s=0)
    named = set(note.split("not sent again: ")[1].split(", "))
    rows = [r for r in wb.log.run_cells(run_id) if r.cell in named]
    wb.close()
    # the attempts still in the log now say they may or may not have reached Google, so
    # `--resend-uncertain` can send them on purpose
    assert rows and {r.error_kind for r in rows} == {"uncertain"}


def test_a_ledger_that_cannot_be_written_stops_the_run_before_sending(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ledger = SentLedger.beside(data_dir / "workbench.duckdb")
    ledger.path.mkdir(parents=True)  # a directory where the ledger file should be
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a tin robot\n")
    with slow_gemini(data_dir, delay_s=0.0) as (fake, env):
        for name in ("GEMINI_API_KEY", "GEMINI_BASE_URL"):
            monkeypatch.setenv(name, env[name])
        code = cli.main(["run", str(prompts), "--models", "nano-banana-2", "--quiet"])
        err = capsys.readouterr().err
        assert code == 2
        assert str(ledger.path) in err and "nothing was sent" in err
        assert fake.paid_submits == 0 and not fake.on("submit")


def test_the_ledger_keeps_whole_lines_and_skips_a_torn_one(tmp_path: Path) -> None:
    ledger = SentLedger(tmp_path / "w.duckdb.sent")
    ledger.append(SentEntry("gen_1", "h1", "gemini", "run_1", "a|1"))
    ledger.append(SentEntry("gen_2", "h2", "bfl", None, None))
    with ledger.path.open("a") as fh:
        fh.write('{"generation_id": "gen_3", "request_ha')  # the process died mid-append
    assert [e.generation_id for e in ledger.entries()] == ["gen_1", "gen_2"]
    assert [e.cell for e in ledger.entries("run_1")] == ["a|1"]
    assert os.stat(ledger.path).st_size > 0


def test_a_ledger_lost_during_a_run_stops_it_before_the_next_request(tmp_path: Path) -> None:
    from workbench.services.runs.generation import GenerateRequest
    from workbench.services.runs.runner import Cell, RunSettings, start_run

    with slow_gemini(tmp_path / "data", delay_s=0.0) as (fake, env):
        settings = load_settings(env={k: env[k] for k in (
            "WORKBENCH_DATA_DIR", "GEMINI_API_KEY", "GEMINI_BASE_URL")},
            secrets_file=tmp_path / "none.toml")
        wb = open_workbench(settings, idle_close_s=0)
        cells = [Cell(f"c{i}", GenerateRequest(model="nano-banana-2", provider="gemini",
                                               prompt=f"a tin robot {i}")) for i in range(3)]
        handle = start_run(wb, "matrix", "ledger", cells, RunSettings())
        ledger = wb.sent.ledger
        assert ledger is not None
        ledger.path.unlink(missing_ok=True)
        ledger.path.mkdir()  # the ledger cannot be appended to any more
        progress = handle.run_sync()
        assert fake.paid_submits == 0
    assert handle.ledger_error and str(ledger.path) in handle.ledger_error
    assert progress.stop_reason and str(ledger.path) in progress.stop_reason
    assert {r.status for r in wb.log.run_cells(handle.run_id)} == {"cancelled"}
    assert wb.spending.spent_today(wb.settings.user) == (0.0, 0.0)  # reservations released
    wb.close()
