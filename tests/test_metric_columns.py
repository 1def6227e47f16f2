"""The log's copies of current measurement values (store/metric_columns.py), on both backends:
History filters and sorts by a measurement answer from them exactly as from the readings, a
newer or failed reading replaces the copy, paging a measurement sort (with ties, past the last
measured image) gives the whole order once, a database without the columns gets them filled at
open, and `db copy` rebuilds them instead of copying them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from tests.arena_data import add_generation
from workbench.config import load_settings
from workbench.domain.filters import HistoryFilter
from workbench.imaging.specs import PHASH, SPECS, TEXT_ACCURACY, WARMTH, MetricResult
from workbench.services.workbench import Workbench, open_workbench
from workbench.store import metric_columns
from workbench.store.measurements import MetricLog
from workbench.store.transfer import copy_all

NB = "nano-banana-2"


@pytest.fixture
def wb(backend_wb: Workbench) -> Workbench:
    return backend_wb


def _warmth(value: float | None) -> MetricResult:
    if value is None:
        return MetricResult.failed(WARMTH, "unreadable image")
    return MetricResult(WARMTH, SPECS[WARMTH].version, value)


def _ids(wb: Workbench, f: HistoryFilter, *, limit: int = 50, offset: int = 0) -> list[str]:
    return [r.id for r in wb.log.page(f, limit=limit, offset=offset)]


def _column(wb: Workbench, generation_id: str) -> float | None:
    name = metric_columns.column(WARMTH)
    with wb.db.cursor() as cur:
        row = cur.execute(f"SELECT {name} FROM generations WHERE id = ?", [generation_id])
        return row.fetchone()[0]


def test_filter_and_sort_follow_the_newest_reading(wb: Workbench) -> None:
    metrics = MetricLog(wb.db)
    warm, cool, broken, never = (add_generation(wb, NB, p) for p in ("w", "c", "b", "n"))
    metrics.record(warm, [_warmth(20.0)])
    metrics.record(cool, [_warmth(30.0)])
    metrics.record(broken, [_warmth(25.0)])
    # A recompute: cool is now really cool; broken's newest reading failed (no number).
    metrics.record(cool, [_warmth(-5.0)])
    metrics.record(broken, [_warmth(None)])
    assert _column(wb, cool) == -5.0 and _column(wb, broken) is None

    warm_only = HistoryFilter(metric=WARMTH, metric_op=">", metric_value=0.0)
    assert _ids(wb, warm_only) == [warm]
    assert wb.log.count(warm_only) == 1
    assert wb.log.count(HistoryFilter(metric=WARMTH, metric_op="<=", metric_value=20.0)) == 2
    # Unmeasured and failed images sort last either way, newest first among themselves.
    assert _ids(wb, HistoryFilter(sort="warmth_high")) == [warm, cool, never, broken]
    assert _ids(wb, HistoryFilter(sort="warmth_low")) == [cool, warm, never, broken]


def test_a_reading_of_another_version_or_a_hash_sets_no_column() -> None:
    old = MetricResult(WARMTH, SPECS[WARMTH].version + 1, 3.0)
    assert metric_columns.assignments([old], [3.0]) == []
    assert metric_columns.column(PHASH) is None
    assert metric_columns.column(WARMTH, SPECS[WARMTH].version + 1) is None
    both = [MetricResult(TEXT_ACCURACY, SPECS[TEXT_ACCURACY].version, 0.5), _warmth(None)]
    assert metric_columns.assignments(both, [0.5, None]) == [
        (metric_columns.column(TEXT_ACCURACY), 0.5), (metric_columns.column(WARMTH), None)]


def test_paging_a_measurement_sort_gives_the_whole_order_once(wb: Workbench) -> None:
    metrics = MetricLog(wb.db)
    made = []
    for i in range(23):
        gid = add_generation(wb, NB, f"p{i}")
        # Ties (three values), and the last five never measured.
        value = None if i >= 18 else float(i % 3)
        if value is not None:
            metrics.record(gid, [_warmth(value)])
        made.append(gid)
    rows = {r.id: r for r in wb.log.page(HistoryFilter(), limit=100)}
    value_of = {gid: _column(wb, gid) for gid in made}

    def key(gid: str, highest: bool) -> tuple:
        created: datetime = rows[gid].created_at
        v = value_of[gid]
        # value (NULLS LAST), then newest first, then id descending: the store's order
        return (v is None, -(v or 0) if highest else (v or 0), -created.timestamp(), [
            -ord(c) for c in gid])

    for sort, highest in (("warmth_high", True), ("warmth_low", False)):
        expected = sorted(made, key=lambda g, h=highest: key(g, h))
        paged = []
        for offset in range(0, 30, 4):
            paged += _ids(wb, HistoryFilter(sort=sort), limit=4, offset=offset)
        assert paged == expected, sort
        # A filter narrows the bound too: only the ties of the top value.
        top = HistoryFilter(sort=sort, models=(NB,))
        assert _ids(wb, top, limit=3, offset=2) == expected[2:5]


def test_a_database_without_the_columns_gets_them_filled_at_open(
    backend_settings: object, tmp_path: Path
) -> None:
    wb = open_workbench(backend_settings, idle_close_s=0)  # type: ignore[arg-type]  # the fixture's Settings
    try:
        gid = add_generation(wb, NB, "a fox")
        MetricLog(wb.db).record(gid, [_warmth(12.5)])
        with wb.db.cursor() as cur:  # as an older workbench left it: readings, no columns
            cur.execute(f"ALTER TABLE generations DROP COLUMN {metric_columns.column(WARMTH)}")
    finally:
        wb.close()
    again = open_workbench(backend_settings, idle_close_s=0)  # type: ignore[arg-type]  # the fixture's Settings
    try:
        assert _column(again, gid) == 12.5
        assert _ids(again, HistoryFilter(metric=WARMTH, metric_op=">", metric_value=12.0)) == [gid]
    finally:
        again.close()


def test_db_copy_rebuilds_the_columns_from_the_readings(tmp_path: Path) -> None:
    def local(name: str) -> Workbench:
        settings = load_settings(env={"WORKBENCH_DATA_DIR": str(tmp_path / name)},
                                 secrets_file=tmp_path / "none.toml")
        return open_workbench(settings, idle_close_s=0)

    source, target = local("source"), local("target")
    try:
        gid = add_generation(source, NB, "a fox")
        broken = add_generation(source, NB, "a fox, later unreadable")
        MetricLog(source.db).record(gid, [_warmth(4.0)])
        MetricLog(source.db).record(broken, [_warmth(6.0)])
        assert all(r.ok for r in copy_all(source.db, target.db))
        assert _column(target, gid) == 4.0 and _column(target, broken) == 6.0
        # Measured again on the source after the first copy: the second copy brings the new
        # readings, the target's copies follow them (a failed newest reading: no number), and
        # nothing counts as a mismatch.
        MetricLog(source.db).record(gid, [_warmth(9.0)])
        MetricLog(source.db).record(broken, [_warmth(None)])
        assert all(r.ok for r in copy_all(source.db, target.db))
        assert _column(target, gid) == 9.0 and _column(target, broken) is None
        assert _ids(target, HistoryFilter(metric=WARMTH, metric_op=">", metric_value=5.0)) == [gid]
    finally:
        source.close()
        target.close()
