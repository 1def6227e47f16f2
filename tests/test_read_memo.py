"""The Leaderboard's aggregates are remembered only while nothing is written (store/memo.py):
a repeat read does not aggregate again, a write by this process or by another one (a run on
the command line) is seen at the next read, and callers cannot change the remembered answer.
On both backends."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from tests.arena_data import add_generation
from workbench.domain.filters import HistoryFilter
from workbench.services.workbench import Workbench

ROOT = Path(__file__).resolve().parents[1]
NB, FP = "nano-banana-2", "flux-2-pro"

WRITER = """
import os
from pathlib import Path
from tests.arena_data import add_generation
from workbench.config import load_settings
from workbench.services.workbench import open_workbench
data = Path(os.environ["WORKBENCH_DATA_DIR"])
wb = open_workbench(load_settings(secrets_file=data / "none.toml"), idle_close_s=0)
gid = add_generation(wb, "flux-2-pro", "from another process", provider="bfl")
wb.ratings.add(gid, "overall", 1, rater="bob")
wb.close()
"""


def _attempts(wb: Workbench) -> dict[str, int]:
    return {r.model: r.attempts for r in wb.performance.by_model(HistoryFilter())}


def _stars(wb: Workbench) -> dict[str, tuple[int, float]]:
    return {r.model: (r.n, r.mean) for r in wb.ratings.by_model(HistoryFilter())}


def test_a_repeat_read_is_remembered_until_this_or_another_process_writes(
    backend_wb: Workbench, backend: str
) -> None:
    wb = backend_wb
    a = add_generation(wb, NB, "a fox")
    wb.ratings.add(a, "overall", 4, rater="ann")
    assert _attempts(wb) == {NB: 1} and _stars(wb) == {NB: (1, 4.0)}

    aggregated = []
    original = wb.performance._from_log

    def counting(f: HistoryFilter) -> list:
        aggregated.append(f)
        return original(f)

    wb.performance._from_log = counting  # type: ignore[method-assign]  # counts the aggregations
    # (a date bound: on PostgreSQL too, the log is aggregated rather than the summary read)
    since = HistoryFilter(date_from=date(2000, 1, 1))
    first = wb.performance.by_model(since)
    first.clear()  # a caller changing its copy changes nothing remembered (records are frozen)
    assert [r.attempts for r in wb.performance.by_model(since)] == [1]
    # Remembered between writes. (On PostgreSQL the server's log position may also move for
    # its own housekeeping, which only costs a second aggregation: counted on DuckDB alone.)
    assert len(aggregated) == 1 or backend == "postgres"

    add_generation(wb, NB, "a second fox")  # this process writes
    assert _attempts(wb) == {NB: 2}
    env = {**os.environ, "WORKBENCH_DATA_DIR": str(wb.settings.data_dir)}
    if wb.settings.database is not None:
        env["WORKBENCH_DATABASE_URL"] = wb.settings.database.redacted  # no password in tests
    if backend == "duckdb":
        wb.db.close()  # the other process takes its turn at the file
    done = subprocess.run([sys.executable, "-c", WRITER], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert _attempts(wb) == {NB: 2, FP: 1}
    assert _stars(wb) == {NB: (1, 4.0), FP: (1, 1.0)}


@pytest.mark.parametrize("backend", ["duckdb"])
def test_each_filter_is_remembered_apart(backend_wb: Workbench) -> None:
    wb = backend_wb
    add_generation(wb, NB, "a fox", category="portrait")
    add_generation(wb, FP, "a fox", provider="bfl")
    everyone = _attempts(wb)
    portraits = {r.model: r.attempts
                 for r in wb.performance.by_model(HistoryFilter(categories=("portrait",)))}
    assert everyone == {NB: 1, FP: 1} and portraits == {NB: 1}
    assert _attempts(wb) == everyone


def test_filter_choices_follow_every_write(backend_wb: Workbench) -> None:
    wb = backend_wb
    add_generation(wb, NB, "a fox", category="portrait")
    assert wb.log.choices()["models"] == [NB]
    mine = wb.log.choices()
    mine["models"].append("not-a-model")  # a caller's copy
    assert wb.log.choices()["models"] == [NB]
    add_generation(wb, FP, "a fox", provider="bfl", category="product")
    found = wb.log.choices()
    assert found["models"] == [FP, NB] and found["categories"] == ["portrait", "product"]
