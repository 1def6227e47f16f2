"""The current measurement per generation (`current_metrics`), which History's measurement
filter and sort read: it follows every new measurement, on both backends, and a copied history
rebuilds it."""

from __future__ import annotations

from pathlib import Path

from tests.arena_data import add_generation
from workbench.domain.filters import HistoryFilter
from workbench.imaging.specs import TEXT_ACCURACY, VERSIONS, WARMTH, MetricResult
from workbench.services import dbcopy
from workbench.services.workbench import Workbench
from workbench.store.metrics import MetricLog

TYPOS = HistoryFilter(metric=TEXT_ACCURACY, metric_op="<", metric_value=1.0)


def _measure(wb: Workbench, gid: str, metric: str, value: float) -> None:
    MetricLog(wb.db).record(gid, [MetricResult(metric, VERSIONS[metric], value)])


def test_the_filter_and_the_sort_follow_the_newest_measurement(backend_wb: Workbench) -> None:
    wb = backend_wb
    a = add_generation(wb, "nano-banana-2", "a sign saying OPEN")
    b = add_generation(wb, "nano-banana-2", "a sign saying SHUT")
    _measure(wb, a, TEXT_ACCURACY, 0.5)
    _measure(wb, b, TEXT_ACCURACY, 1.0)
    assert [r["id"] for r in wb.log.page(TYPOS)] == [a]
    _measure(wb, a, TEXT_ACCURACY, 1.0)  # measured again: now right
    _measure(wb, b, TEXT_ACCURACY, 0.25)
    assert [r["id"] for r in wb.log.page(TYPOS)] == [b]
    assert wb.log.count(TYPOS) == 1
    _measure(wb, a, WARMTH, 3.0)
    _measure(wb, b, WARMTH, 7.0)
    _measure(wb, a, WARMTH, 9.0)
    assert [r["id"] for r in wb.log.page(HistoryFilter(sort="warmth_high"))] == [a, b]
    assert [r["id"] for r in wb.log.page(HistoryFilter(sort="warmth_low"))] == [b, a]


def test_a_copied_history_filters_by_its_measurements(wb: Workbench, tmp_path: Path) -> None:
    a = add_generation(wb, "nano-banana-2", "a sign saying OPEN")
    _measure(wb, a, TEXT_ACCURACY, 0.5)
    there = tmp_path / "there"
    report = dbcopy.copy(dbcopy.place_of(wb.settings), dbcopy.directory_place(there))
    assert report.ok
    wb.close()
    copy = dbcopy.directory_place(there).open()
    try:
        from workbench.store.generations import GenerationLog

        assert [r["id"] for r in GenerationLog(copy).page(TYPOS)] == [a]
    finally:
        copy.close()
