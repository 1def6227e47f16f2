"""The Leaderboard's speed figures from the log (`PerformanceLog.by_model`), on both backends:
counts and costs per model from one pass; a model's latency median and 95th percentile exact up
to `EXACT_UP_TO` timed successes, and from the 2%-wide buckets beyond, within 1% of exact."""

from __future__ import annotations

import math
from datetime import date

import pytest

from tests.arena_data import add_generation
from workbench.domain.filters import HistoryFilter
from workbench.services.workbench import Workbench
from workbench.store import performance

NB, FP = "nano-banana-2", "flux-2-pro"
# A date bound: on PostgreSQL too the figures come from the log, not the summary table.
LOG = HistoryFilter(date_from=date(2000, 1, 1))


def _exact(values: list[float], q: float) -> float:
    """percentile_cont: linear between the two ranks around (n - 1) * q."""
    xs = sorted(values)
    position = q * (len(xs) - 1)
    low, high = math.floor(position), math.ceil(position)
    return xs[low] + (position - low) * (xs[high] - xs[low])


def _log(wb: Workbench) -> list[float]:
    latencies = [180.0 + 41.0 * i ** 1.4 for i in range(40)]
    for ms in latencies:
        add_generation(wb, NB, "a lighthouse", latency_ms=ms)
    add_generation(wb, NB, "a lighthouse", status="failed", latency_ms=None, cost_usd=None)
    add_generation(wb, NB, "a lighthouse", status="moderated", latency_ms=None, cost_usd=0.01)
    # The workbench's own failures: not the model's attempts, but what they cost was spent.
    add_generation(wb, NB, "a lighthouse", status="failed", error_kind="storage",
                   latency_ms=None, cost_usd=0.04)
    add_generation(wb, NB, "a lighthouse", status="failed", error_kind="internal",
                   latency_ms=None, cost_usd=None)
    add_generation(wb, FP, "a lighthouse", latency_ms=900.0, cost_usd=None)
    return latencies


def test_quantiles_are_exact_up_to_the_limit_and_within_one_percent_beyond(
    backend_wb: Workbench, monkeypatch: pytest.MonkeyPatch
) -> None:
    wb = backend_wb
    latencies = _log(wb)
    exact = {r.model: r for r in wb.performance.by_model(LOG)}
    nb = exact[NB]
    assert (nb.attempts, nb.succeeded, nb.failed, nb.moderated) == (42, 40, 1, 1)
    assert float(nb.cost_per_image_usd or 0) == pytest.approx(0.04)
    assert float(nb.cost_total_usd or 0) == pytest.approx(40 * 0.04 + 0.01 + 0.04)
    assert nb.latency_median_ms == pytest.approx(_exact(latencies, 0.5), rel=1e-12)
    assert nb.latency_p95_ms == pytest.approx(_exact(latencies, 0.95), rel=1e-12)
    fp = exact[FP]
    assert fp.cost_total_usd is None and fp.cost_per_image_usd is None
    assert fp.latency_median_ms == pytest.approx(900.0)

    monkeypatch.setattr(performance, "EXACT_UP_TO", 10)  # 40 timed successes: bucketed
    wb.performance.memo.forget()
    bucketed = {r.model: r for r in wb.performance.by_model(LOG)}
    b = bucketed[NB]
    assert (b.attempts, b.succeeded, b.failed, b.moderated) == (42, 40, 1, 1)
    assert b.cost_total_usd == pytest.approx(nb.cost_total_usd)
    for q, got in ((0.5, b.latency_median_ms), (0.95, b.latency_p95_ms)):
        assert got is not None and got != _exact(latencies, q)  # the buckets answered
        assert got == pytest.approx(_exact(latencies, q), rel=0.01)
    assert bucketed[FP].latency_median_ms == pytest.approx(fp.latency_median_ms)  # one success


def test_the_workbench_s_own_failures_are_no_offer_s_attempts(backend_wb: Workbench) -> None:
    """An image that arrived but could not be stored here, or a workbench bug, is not counted
    against the model and provider on the provider board either."""
    wb = backend_wb
    _log(wb)
    offers = {(r.model, r.provider): r for r in wb.performance.by_offer(LOG)}
    nb = offers[(NB, "gemini")]
    assert (nb.attempts, nb.succeeded, nb.failed, nb.moderated) == (42, 40, 1, 1)
