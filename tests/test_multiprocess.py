"""Several workbench processes on one data directory at once, on the embedded file and in team
mode on the session's PostgreSQL server: two `run` commands and a `history` loop. Every job is
logged exactly once, nobody fails with "in use", and the reader sees the runs' rows while they
are still running. The runs talk to a loopback fake of the Gemini API that answers each request
after half a second, so they last long enough to overlap."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness.slow_gemini import slow_gemini
from workbench.config import load_settings
from workbench.domain.filters import HistoryFilter
from workbench.services.workbench import open_workbench
from workbench.store.backend import open_database
from workbench.store.db import Database

PROMPTS_PER_RUN = 12
NAMES = ("alpha", "beta")


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "workbench", *args]


def _run_two_and_read(
    tmp_path: Path, env: dict[str, str], release: threading.Event | None = None
) -> list[int]:
    """Start two runs at once, list the history until both end; return the number of succeeded
    rows each listing saw while a run was still going. Once a listing has seen some but not all
    rows mid-run, `release` is set (the fake then answers the rest at once)."""
    runs = []
    for name in NAMES:
        path = tmp_path / f"{name}.txt"
        path.write_text("".join(f"{name} kite number {i}\n" for i in range(PROMPTS_PER_RUN)))
        runs.append(
            subprocess.Popen(
                _cli("run", str(path), "--models", "nano-banana-2", "--concurrency", "1",
                     "--quiet"),
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
        )
    seen_mid_run: list[int] = []
    problems: list[str] = []
    deadline = time.monotonic() + 300  # alone each run takes ~10 s; waiting on the other is a bug
    while any(run.poll() is None for run in runs):
        if time.monotonic() > deadline:
            for run in runs:
                run.kill()
            raise AssertionError("the runs did not finish within 300 s")
        listing = subprocess.run(
            _cli("history", "--json", "--limit", "1000"),
            env=env, capture_output=True, text=True, timeout=120,
        )
        if listing.returncode != 0 or "in use" in listing.stderr:
            problems.append(listing.stderr)
        rows = [json.loads(line) for line in listing.stdout.splitlines() if line.strip()]
        if any(run.poll() is None for run in runs):
            seen_mid_run.append(sum(1 for r in rows if r["status"] == "succeeded"))
            if release is not None and 0 < seen_mid_run[-1] < 2 * PROMPTS_PER_RUN:
                release.set()
        time.sleep(0.1)
    outputs = [run.communicate() for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert not any("in use" in err for _, err in outputs)
    assert problems == []
    return seen_mid_run


def _team(backend: str, request: pytest.FixtureRequest) -> dict[str, str]:
    if backend == "duckdb":
        return {}
    return {"WORKBENCH_DATABASE_URL": request.getfixturevalue("pg_url")}


def test_two_runs_and_a_history_loop_share_one_data_directory(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    team = _team(backend, request)
    # On the server runs never wait for a turn on the file and end sooner: slower answers keep
    # them going long enough for a few `history` listings (each a fresh Python process).
    # Once the reader has seen the runs mid-way, the rest of the answers come at once.
    release = threading.Event()
    with slow_gemini(data, delay_s=1.5 if team else 0.5, release=release, **team) as (fake, env):
        seen_mid_run = _run_two_and_read(tmp_path, env, release)
        assert fake.paid_submits == 2 * PROMPTS_PER_RUN  # nothing sent twice

    wb = open_workbench(
        load_settings(env={"WORKBENCH_DATA_DIR": str(data), **team},
                      secrets_file=tmp_path / "none"),
        idle_close_s=0,
    )
    try:
        rows = wb.log.page(HistoryFilter(), limit=1000)
    finally:
        wb.close()
    expected = sorted(f"{name} kite number {i}" for name in NAMES for i in range(PROMPTS_PER_RUN))
    assert sorted(r.prompt for r in rows) == expected  # every job once: none lost or doubled
    assert {r.status for r in rows} == {"succeeded"}
    # the reader saw rows of runs still in progress, not only the end state
    assert any(0 < n < 2 * PROMPTS_PER_RUN for n in seen_mid_run), seen_mid_run


WRITER = """
import sys
from workbench.config import parse_database_url
from workbench.store.db import Database
from workbench.store.attempts import AttemptLog, NewGeneration
from workbench.store.generations import GenerationLog
from workbench.store.postgres import PgDatabase
where = sys.argv[1]
db = (PgDatabase(parse_database_url(where)) if where.startswith("postgresql:")
      else Database(where, idle_close_s=0))
log = GenerationLog(db)
for i in range(int(sys.argv[3])):
    AttemptLog(log.db).insert_pending(NewGeneration(id=f"{sys.argv[2]}-{i}", model="flux-2-pro",
                                     provider="offline", prompt="p", prompt_written="p"))
    print(i, flush=True)
"""


def test_a_writer_killed_mid_write_loses_nothing_another_wrote(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    team = _team(backend, request)
    path = team.get("WORKBENCH_DATABASE_URL") or tmp_path / "shared.duckdb"

    def writer(name: str, n: int) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), name, str(n)],
            stdout=subprocess.PIPE, text=True,
        )

    victim = writer("victim", 100_000)
    assert victim.stdout is not None and victim.stdout.readline()  # it is writing
    survivor = writer("survivor", 60)
    assert survivor.stdout is not None
    for _ in range(10):  # both write in turns for a while ...
        survivor.stdout.readline()
    os.kill(victim.pid, signal.SIGKILL)  # ... then one dies, possibly holding the turn
    victim.wait()
    survivor.communicate(timeout=120)
    assert survivor.returncode == 0
    db = open_database(load_settings(
        env={"WORKBENCH_DATA_DIR": str(tmp_path / "data"), **team}, secrets_file=tmp_path / "no"
    ), idle_close_s=0) if team else Database(path, lock_timeout_s=5, idle_close_s=0)
    with db.cursor() as cur:
        survived = cur.execute(
            "SELECT count(*) FROM generations WHERE id LIKE 'survivor-%'"
        ).fetchone()[0]
        killed = cur.execute(
            "SELECT count(*) FROM generations WHERE id LIKE 'victim-%'"
        ).fetchone()[0]
    db.close()
    assert survived == 60  # every row the other process committed is there
    assert killed >= 1  # and the victim's committed rows too (DuckDB replays its WAL)
