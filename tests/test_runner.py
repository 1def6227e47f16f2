"""The run engine with in-process fake providers: concurrency, budget, cancel, cache, resume."""

from __future__ import annotations

import asyncio
import io
import threading
from typing import Any

import pytest
from PIL import Image

from workbench.config import Settings
from workbench.domain.filters import HistoryFilter
from workbench.providers.base import ImageRequest, ImageResult
from workbench.services.runs.generation import GenerateRequest
from workbench.services.runs.runner import (
    Cell,
    RunRefused,
    RunSettings,
    estimate,
    recover,
    resume_run,
    start_run,
)
from workbench.services.workbench import Workbench, open_workbench


def _png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (seed % 256, 50, 100)).save(buffer, format="PNG")
    return buffer.getvalue()


class CountingProvider:
    """Sleeps, reports a cost, and counts submits and simultaneous jobs."""

    def __init__(self, name: str = "bfl", delay_s: float = 0.02, cost: float | None = None):
        self.name = name
        self.delay_s = delay_s
        self.cost = cost
        self.submits = 0
        self.active = 0
        self.peak = 0
        self.started = threading.Event()

    def wire_params(self, request: ImageRequest) -> dict[str, Any]:
        return {"seed": request.seed}

    async def generate(self, request: ImageRequest) -> ImageResult:
        self.submits += 1
        self.active += 1
        self.peak = max(self.peak, self.active)
        request.submitted(f"task-{self.submits}")
        self.started.set()
        try:
            await asyncio.sleep(self.delay_s)
        finally:
            self.active -= 1
        return ImageResult(data=_png(request.seed or 0), cost_usd=self.cost, seed=request.seed)

    async def aclose(self) -> None:
        return None


def _bench(settings: Settings, provider: CountingProvider) -> Workbench:
    return open_workbench(settings, provider_factory=lambda name, s: provider, idle_close_s=0)


def _cells(n: int, model: str = "flux-2-pro", provider: str = "bfl") -> list[Cell]:
    return [
        Cell(
            f"{model}|seed={i}",
            GenerateRequest(
                model=model,
                provider=provider,
                prompt="A red kettle",
                seed=i,
                aspect_ratio="1:1",
                size="1MP",
            ),
            {"model": model, "seed": str(i)},
        )
        for i in range(n)
    ]


def test_a_run_logs_every_cell_and_honours_the_concurrency_limit(settings: Settings) -> None:
    # long enough that three sends overlap even when a loaded machine delays the run's writes
    provider = CountingProvider(delay_s=0.4)
    wb = _bench(settings, provider)
    handle = start_run(wb, "matrix", "grid", _cells(12), RunSettings(concurrency={"bfl": 3}))
    assert {r.status for r in wb.log.run_cells(handle.run_id)} == {"queued"}
    progress = handle.run_sync()
    assert (progress.succeeded, progress.done, provider.submits) == (12, 12, 12)
    assert provider.peak == 3
    rows = wb.log.run_cells(handle.run_id)
    assert {r.status for r in rows} == {"succeeded"}
    assert sorted(r.cell for r in rows) == sorted(c.key for c in _cells(12))
    assert wb.runs.get(handle.run_id).status == "finished"
    wb.close()


def test_estimate_counts_images_cost_and_unpriced(wb: Workbench) -> None:
    cells = [
        *_cells(4),
        Cell("dev", GenerateRequest(model="flux-2-dev", provider="replicate", prompt="A kettle")),
    ]
    est = estimate(wb, cells)
    assert est.images == 5 and est.unpriced == 1
    assert est.cost_usd == pytest.approx(4 * 0.030729, abs=1e-4)  # BFL: decimal MP
    assert est.duration_s > 0


def test_a_run_over_budget_is_refused_before_anything_is_logged(settings: Settings) -> None:
    provider = CountingProvider()
    wb = _bench(settings, provider)
    with pytest.raises(RunRefused, match="over its budget"):
        start_run(wb, "matrix", "too dear", _cells(10), RunSettings(budget_usd=0.1))
    assert wb.log.count(HistoryFilter()) == 0 and provider.submits == 0
    wb.close()


def test_invalid_cells_are_all_reported(wb: Workbench) -> None:
    cells = [
        *_cells(2),
        Cell("bad", GenerateRequest(model="nano-banana", prompt="x", aspect_ratio="1:8")),
    ]
    with pytest.raises(RunRefused) as caught:
        start_run(wb, "matrix", "bad", cells)
    assert any(p.startswith("bad:") and "1:8" in p for p in caught.value.problems)


def test_sending_stops_when_actual_costs_reach_the_budget(settings: Settings) -> None:
    # Estimates say ~$0.031 an image (BFL's decimal MP); the provider really charges $0.06: the
    # budget of $0.31 covers the estimate of 10 images, but sending must stop once spending
    # reaches it.
    provider = CountingProvider(cost=0.06, delay_s=0.01)
    wb = _bench(settings, provider)
    handle = start_run(
        wb, "matrix", "b", _cells(10), RunSettings(budget_usd=0.31, concurrency={"bfl": 2})
    )
    progress = handle.run_sync()
    assert progress.spent_usd <= 0.31 + 2 * 0.06  # at most the jobs already in flight over
    assert provider.submits < 10
    rows = wb.log.run_cells(handle.run_id)
    stopped = [r for r in rows if r.status == "cancelled"]
    assert len(stopped) == 10 - provider.submits
    assert {r.error_kind for r in stopped} == {"budget"}
    assert "budget" in progress.stop_reason
    wb.close()


def test_cancel_leaves_nothing_pending_and_finishes_what_is_in_flight(settings: Settings) -> None:
    provider = CountingProvider(delay_s=0.2)
    wb = _bench(settings, provider)
    handle = start_run(wb, "matrix", "c", _cells(20), RunSettings(concurrency={"bfl": 2}))
    thread = handle.start_in_thread()
    assert provider.started.wait(10)
    handle.cancel()
    thread.join(30)
    statuses = [r.status for r in wb.log.run_cells(handle.run_id)]
    assert "pending" not in statuses and "queued" not in statuses
    assert statuses.count("succeeded") == provider.submits >= 1
    assert statuses.count("cancelled") == 20 - provider.submits
    assert wb.runs.get(handle.run_id).status == "cancelled"
    wb.close()


def test_identical_requests_reuse_the_earlier_image_only_when_allowed(settings: Settings) -> None:
    provider = CountingProvider(cost=0.03)
    wb = _bench(settings, provider)
    start_run(wb, "matrix", "first", _cells(3)).run_sync()
    assert provider.submits == 3
    again = start_run(wb, "matrix", "again", _cells(3), RunSettings(allow_cache=True))
    progress = again.run_sync()
    assert provider.submits == 3 and progress.cached == 3 and progress.spent_usd == 0
    rows = wb.log.page(HistoryFilter(run_id=again.run_id))
    assert all(r.cost_usd == 0 and r.cost_kind == "cached" for r in rows)
    start_run(wb, "matrix", "no reuse", _cells(3)).run_sync()
    assert provider.submits == 6
    wb.close()


def test_no_seed_means_no_reuse(settings: Settings) -> None:
    provider = CountingProvider()
    wb = _bench(settings, provider)
    cells = [
        Cell(f"v{i}", GenerateRequest(model="flux-2-pro", provider="bfl", prompt="A kettle"))
        for i in range(2)
    ]
    start_run(wb, "matrix", "a", cells, RunSettings(allow_cache=True)).run_sync()
    start_run(wb, "matrix", "b", cells, RunSettings(allow_cache=True)).run_sync()
    assert provider.submits == 4
    wb.close()


def test_resume_sends_only_missing_cells_and_never_a_submitted_one(settings: Settings) -> None:
    provider = CountingProvider()
    wb = _bench(settings, provider)
    handle = start_run(wb, "matrix", "crashy", _cells(6))
    rows = {r.cell: r.id for r in wb.log.run_cells(handle.run_id)}
    # What a crash leaves behind: two done, one accepted by the provider, the rest queued,
    # all owned by a process that no longer exists.
    done_cells = ["flux-2-pro|seed=0", "flux-2-pro|seed=1"]
    with wb.db.cursor() as cur:
        cur.execute(
            "UPDATE generations SET status = 'succeeded' WHERE id IN (?, ?)",
            [rows[c] for c in done_cells],
        )
        cur.execute(
            "UPDATE generations SET status = 'pending', submitted_at = now(),"
            " provider_request_id = 'task-x' WHERE id = ?",
            [rows["flux-2-pro|seed=2"]],
        )
        cur.execute(
            "UPDATE generations SET worker_pid = 999999999 WHERE run_id = ?", [handle.run_id]
        )
        cur.execute("UPDATE runs SET worker_pid = 999999999 WHERE id = ?", [handle.run_id])
    assert recover(wb) == (4, 1)
    statuses = {r.cell: r.status for r in wb.log.run_cells(handle.run_id)}
    assert statuses["flux-2-pro|seed=2"] == "interrupted"
    resumed = resume_run(wb, handle.run_id)
    assert sorted(c.key for _, c, _ in resumed.jobs) == [f"flux-2-pro|seed={i}" for i in (3, 4, 5)]
    resumed.run_sync()
    assert provider.submits == 3
    final = wb.log.run_cells(handle.run_id)
    assert {r.cell for r in final if r.status == "succeeded"} == (
        set(done_cells) | {f"flux-2-pro|seed={i}" for i in (3, 4, 5)}
    )
    interrupted = wb.log.get(rows["flux-2-pro|seed=2"])
    assert "not paid twice" in interrupted.error_message
    wb.close()


def test_a_queued_cell_that_holds_a_reservation_keeps_it_and_is_not_reserved_twice(
    settings: Settings,
) -> None:
    """A new attempt's reservation is a plain insert; a run's queued cell is reserved with the
    guarded one, so a reservation already held for it is kept (settled to the bill), neither
    doubled nor refused by the table's key."""
    provider = CountingProvider(cost=0.03)
    wb = _bench(settings, provider)
    handle = start_run(wb, "matrix", "kept", _cells(2))
    held = wb.log.run_cells(handle.run_id)[0].id
    with wb.db.cursor() as cur:
        cur.execute(
            "INSERT INTO spend_reservations (generation_id, day, person, amount_usd, created_at)"
            " VALUES (?, current_date, ?, 0.5, current_timestamp)", [held, wb.settings.user])
    progress = handle.run_sync()
    assert (progress.succeeded, provider.submits) == (2, 2)
    with wb.db.cursor() as cur:
        rows = cur.execute(
            "SELECT generation_id, amount_usd FROM spend_reservations ORDER BY generation_id"
        ).fetchall()
    assert len(rows) == 2 and dict(rows)[held] == pytest.approx(0.03)
    wb.close()


def test_recover_leaves_the_rows_of_a_living_process_alone(settings: Settings) -> None:
    wb = _bench(settings, CountingProvider())
    handle = start_run(wb, "matrix", "live", _cells(2))
    assert recover(wb) == (0, 0)  # this process owns them and is alive
    assert {r.status for r in wb.log.run_cells(handle.run_id)} == {"queued"}
    wb.close()


# -- what users pay for: each of these fails when its behaviour is broken -----------------------


class StaggeredProvider(CountingProvider):
    """The k-th submit takes k x `step_s`: jobs finish one at a time, in order."""

    def __init__(self, step_s: float, cost: float) -> None:
        super().__init__(cost=cost)
        self.step_s = step_s

    async def generate(self, request: ImageRequest) -> ImageResult:
        self.delay_s = self.step_s * (self.submits + 1)
        return await super().generate(request)


def test_cancel_stops_sending_at_concurrency_one(settings: Settings) -> None:
    provider = CountingProvider(delay_s=0.2)
    wb = _bench(settings, provider)
    handle = start_run(wb, "matrix", "c1", _cells(20), RunSettings(concurrency={"bfl": 1}))
    thread = handle.start_in_thread()
    assert provider.started.wait(10)
    handle.cancel()  # while the first job is still running
    thread.join(30)
    statuses = [r.status for r in wb.log.run_cells(handle.run_id)]
    assert provider.submits < 20
    assert statuses.count("cancelled") >= 1
    assert statuses.count("cancelled") == 20 - provider.submits
    wb.close()


def test_a_bill_above_the_documented_maximum_stops_sending_at_that_answer(
    settings: Settings,
) -> None:
    # FLUX.2 Pro at 1 MP on BFL is priced per megapixel, so its documented maximum is the
    # estimate e = $0.0307; this provider bills $0.06. Eight go out at once; the first answer
    # is above the maximum, so nothing more is sent (a ninth would go out otherwise: the
    # budget alone, 0.06 + 7e + e = 0.306 <= 0.31, still lets it through).
    provider = StaggeredProvider(step_s=0.15, cost=0.06)
    wb = _bench(settings, provider)
    handle = start_run(
        wb, "matrix", "b8", _cells(10), RunSettings(budget_usd=0.31, concurrency={"bfl": 8})
    )
    progress = handle.run_sync()
    assert provider.submits == 8
    assert progress.stop_reason is not None and "billed $0.0600" in progress.stop_reason
    assert "at most" in progress.stop_reason
    assert handle.billed_over_max is not None
    rows = wb.log.run_cells(handle.run_id)
    assert sorted(r.status for r in rows).count("cancelled") == 2
    assert wb.runs.get(handle.run_id).status == "stopped"
    wb.close()


def _nano_cells(n: int) -> list[Cell]:
    return [
        Cell(
            f"nb2|seed={i}",
            GenerateRequest(
                model="nano-banana-2", provider="gemini", prompt="A red kettle", seed=i,
                aspect_ratio="1:1", size="1K",
            ),
        )
        for i in range(n)
    ]


def test_the_budget_holds_the_most_each_job_in_flight_can_cost(settings: Settings) -> None:
    # Nano Banana 2 on Gemini: estimate $0.067, documented maximum m = $0.3075 (131,072 input
    # tokens at $0.50/M, 2,520 image tokens at $60/M, the rest of 32,768 output tokens at
    # $3/M). The provider bills $0.15 (within m). Budget $0.80 with 8 allowed at once: at most
    # two are out at a time (3m > 0.80), and what is spent never passes the budget. Holding
    # only the estimate would send eight at once and spend $1.50.
    provider = CountingProvider(name="gemini", delay_s=0.1, cost=0.15)
    wb = _bench(settings, provider)
    cells = _nano_cells(10)
    handle = start_run(
        wb, "matrix", "m8", cells, RunSettings(budget_usd=0.80, concurrency={"gemini": 8})
    )
    assert handle.jobs[0][2].max_cost_usd == pytest.approx(0.3075, abs=1e-4)
    progress = handle.run_sync()
    assert provider.peak <= 2
    assert progress.spent_usd <= 0.80 + 1e-9
    assert provider.submits >= 3  # it did not stop before the budget required it
    assert "budget" in (progress.stop_reason or "")
    wb.close()


def test_the_reuse_key_includes_the_prompt(settings: Settings) -> None:
    provider = CountingProvider(cost=0.03)
    wb = _bench(settings, provider)
    for prompt in ("A red kettle", "A blue bicycle"):
        cell = Cell(
            prompt,
            GenerateRequest(
                model="flux-2-pro", provider="bfl", prompt=prompt, seed=7, size="1MP"
            ),
        )
        progress = start_run(wb, "matrix", prompt, [cell], RunSettings(allow_cache=True)).run_sync()
        assert progress.cached == 0
    assert provider.submits == 2
    rows = wb.log.page(HistoryFilter())
    assert len(rows) == 2 and all(r.cost_kind != "cached" for r in rows)
    wb.close()


class LeakingProvider(CountingProvider):
    """A provider whose error message quotes the key it was given (some echo the request)."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    async def generate(self, request: ImageRequest) -> ImageResult:
        from workbench.providers.base import ProviderError

        self.submits += 1
        raise ProviderError("bad_request", f"invalid request for key {self.key}: bad seed")


def test_a_provider_error_holding_the_key_is_stored_redacted(tmp_path: Any) -> None:
    from workbench.config import load_settings
    from workbench.services.runs.generation import generate_sync

    key = "bfl-secret-0123456789"
    settings = load_settings(
        env={"WORKBENCH_DATA_DIR": str(tmp_path / "data"), "BFL_API_KEY": key},
        secrets_file=tmp_path / "none.toml",
    )
    wb = _bench(settings, LeakingProvider(key))
    outcome = generate_sync(
        wb, GenerateRequest(model="flux-2-pro", provider="bfl", prompt="A kettle", seed=1)
    )
    row = wb.log.get(outcome.id)
    assert row.status == "failed"
    assert row.error_message == "invalid request for key [redacted]: bad seed"
    assert key not in str(outcome.as_json())
    wb.close()
