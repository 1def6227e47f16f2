"""Shared daily spending caps, reserved in the database before a request leaves: threads of one
process, and two runs started at once in two processes whose estimates each fit the cap but
together do not."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.slow_gemini import slow_gemini
from workbench.config import load_settings
from workbench.domain.catalog import estimate_cost, load_catalog
from workbench.services.runs.generation import most_cost
from workbench.services.workbench import Workbench
from workbench.store.backend import open_database
from workbench.store.spending import Caps, SpendLedger


@pytest.fixture
def ledger(backend_wb: Workbench) -> SpendLedger:
    return backend_wb.spending


def _reserve_five(
    ledger: SpendLedger, worker: int, refusals: list[str], *, fresh: bool = False
) -> None:
    """Five $1 reservations against a shared $12 cap; the refusals are collected."""
    for i in range(5):
        why = ledger.reserve(
            f"g{worker}-{i}", f"p{worker}", 1.0, Caps(everyone_usd=12.0), fresh=fresh
        )
        if why:
            refusals.append(why)


def _eight_at_once(work: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@pytest.mark.parametrize("fresh", [False, True], ids=["resumable", "new_attempt"])
def test_concurrent_reservations_never_pass_the_shared_cap(
    ledger: SpendLedger, fresh: bool
) -> None:
    """A new attempt's reservation (a plain insert) is checked against the caps exactly as a
    resumable cell's is."""
    refusals: list[str] = []

    def reserve_five(worker: int) -> None:
        _reserve_five(ledger, worker, refusals, fresh=fresh)

    _eight_at_once(reserve_five)
    assert ledger.spent_today("p0")[0] == 12.0  # exactly the cap: 12 of 40 fit, none more
    assert len(refusals) == 40 - 12
    assert "WORKBENCH_DAILY_BUDGET_USD" in refusals[0]


def test_separate_connections_to_the_team_server_never_pass_the_shared_cap(pg_url: str) -> None:
    """Eight workers, each with its own connection pool as separate processes would have: only
    the server can order their reservations (a transaction-level advisory lock)."""
    from workbench.config import parse_database_url
    from workbench.store.postgres import PgDatabase

    url = parse_database_url(pg_url)
    databases = [PgDatabase(url) for _ in range(8)]
    barrier = threading.Barrier(len(databases))
    refusals: list[str] = []

    def reserve_five(worker: int) -> None:
        ledger = SpendLedger(databases[worker])
        barrier.wait()
        _reserve_five(ledger, worker, refusals)

    _eight_at_once(reserve_five)
    try:
        assert SpendLedger(databases[0]).spent_today("p0")[0] == 12.0  # none over the cap
        assert len(refusals) == 40 - 12
    finally:
        for db in databases:
            db.close()


def test_the_per_person_cap_counts_only_that_persons_spending(ledger: SpendLedger) -> None:
    caps = Caps(per_person_usd=2.0)
    assert ledger.reserve("a1", "ana", 1.5, caps) is None
    assert ledger.reserve("b1", "ben", 1.5, caps) is None  # ben's spending is his own
    refusal = ledger.reserve("a2", "ana", 0.6, caps)
    assert refusal is not None and "ana" in refusal and "USER_DAILY" in refusal
    assert ledger.reserve("a3", "ana", 0.5, caps) is None  # exactly at the cap is allowed
    assert ledger.spent_today("ana") == (3.5, 2.0)


@pytest.mark.parametrize("fresh", [False, True], ids=["resumable", "new_attempt"])
def test_the_cap_allows_exactly_its_amount_and_not_a_hundredth_of_a_cent_more(
    ledger: SpendLedger, fresh: bool
) -> None:
    caps = Caps(everyone_usd=1.0)
    assert ledger.reserve("c1", "ana", 0.6, caps, fresh=fresh) is None
    # $1.0001 would pass the cap
    assert ledger.reserve("c2", "ana", 0.4001, caps, fresh=fresh) is not None
    assert ledger.reserve("c3", "ana", 0.4, caps, fresh=fresh) is None  # $1.00 exactly is allowed
    assert ledger.reserve("c4", "ana", 0.0001, caps, fresh=fresh) is not None
    assert ledger.spent_today("ana")[0] == pytest.approx(1.0)


def test_a_resumed_cell_is_not_reserved_twice(ledger: SpendLedger) -> None:
    assert ledger.reserve("g1", "me", 1.0, Caps()) is None
    assert ledger.reserve("g1", "me", 1.0, Caps(everyone_usd=1.5)) is None
    assert ledger.spent_today("me") == (1.0, 1.0)


def test_two_runs_billed_up_to_the_documented_maximum_never_pass_the_daily_cap(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Two runs at once in two processes, the fake Gemini billing every image at the most
    image tokens Google documents for Nano Banana 2 (2,520, about $0.15 against a $0.067
    estimate): what is recorded as spent never passes the shared cap, because each request
    reserves its documented maximum before it leaves and the bill replaces it after."""
    team = {}
    if backend == "postgres":  # the cap holds across processes on the team server too
        team["WORKBENCH_DATABASE_URL"] = request.getfixturevalue("pg_url")
    catalog = load_catalog()
    model = catalog.model("nano-banana-2")
    estimate = estimate_cost(model, "gemini", "16:9", "1K")
    most = most_cost(model.offer("gemini"), estimate)
    assert estimate and most and most > 4 * estimate
    cap = 1.0
    prompts_per_run = 6
    with slow_gemini(
        tmp_path / "data", delay_s=0.1, WORKBENCH_DAILY_BUDGET_USD=str(cap), **team
    ) as (fake, env):
        fake.image_tokens = 2520  # the documented maximum for one image of this model
        runs = []
        for name in ("alpha", "beta"):
            path = tmp_path / f"{name}.txt"
            path.write_text("".join(f"{name} {i}\n" for i in range(prompts_per_run)))
            runs.append(subprocess.Popen(
                [sys.executable, "-m", "workbench", "run", str(path), "--models",
                 "nano-banana-2", "--concurrency", "2", "--quiet"],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            ))
        errors = [run.communicate(timeout=300)[1] for run in runs]
        paid = fake.paid_submits
    assert any("WORKBENCH_DAILY_BUDGET_USD" in err for err in errors), errors
    assert not any("billed" in err for err in errors), errors  # within the maximum
    settings = load_settings(env={"WORKBENCH_DATA_DIR": str(tmp_path / "data"), **team},
                             secrets_file=tmp_path / "none")
    db = open_database(settings, idle_close_s=0)
    with db.cursor() as cur:
        spent, succeeded = cur.execute(
            "SELECT coalesce(sum(cost_usd), 0), count(*) FROM generations"
            " WHERE status = 'succeeded'").fetchone()
        reserved = cur.execute(
            "SELECT coalesce(sum(amount_usd), 0) FROM spend_reservations").fetchone()[0]
    db.close()
    bill = spent / succeeded
    assert bill > 2 * estimate  # the fake really billed far above the estimate
    assert spent <= cap + 1e-9, (spent, errors)
    assert reserved == pytest.approx(spent)  # every reservation became the bill
    assert paid == succeeded >= 3  # the cap, not a mistake, stopped them
    assert spent > cap - most - bill  # and not much earlier than it had to


def test_a_bill_above_the_documented_maximum_stops_sending_at_that_answer(
    tmp_path: Path,
) -> None:
    """The loopback Gemini bills 5,000 image tokens for one Nano Banana 2 image (Google
    documents at most 2,520): the run sends nothing after that answer and says why."""
    from harness.fakes import FakeGemini
    from workbench.services.runs.generation import GenerateRequest
    from workbench.services.runs.runner import Cell, RunSettings, start_run
    from workbench.services.workbench import open_workbench

    with FakeGemini() as fake:
        fake.image_tokens = 5000
        settings = load_settings(
            env={"WORKBENCH_DATA_DIR": str(tmp_path / "data"), "GEMINI_API_KEY": fake.key,
                 "GEMINI_BASE_URL": fake.url, "WORKBENCH_DAILY_BUDGET_USD": "5"},
            secrets_file=tmp_path / "none.toml",
        )
        wb = open_workbench(settings, idle_close_s=0)
        cells = [Cell(f"c{i}", GenerateRequest(model="nano-banana-2", provider="gemini",
                                               prompt=f"a kite {i}")) for i in range(5)]
        handle = start_run(wb, "matrix", "over", cells, RunSettings(concurrency={"gemini": 1}))
        progress = handle.run_sync()
        assert fake.paid_submits == 1
    assert progress.stop_reason and "5,000 image tokens" in progress.stop_reason
    assert "2,520" in progress.stop_reason
    statuses = sorted(r.status for r in wb.log.run_cells(handle.run_id))
    assert statuses == ["cancelled"] * 4 + ["succeeded"]  # the image it paid for is kept
    wb.close()
