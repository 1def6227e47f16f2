"""The typed store records match their tables on both backends: a column a migration adds must
be a field of the record (else reads of `SELECT g.*` would break), and JSON arrives decoded."""

from __future__ import annotations

import dataclasses

import pytest

from workbench.domain.filters import HistoryFilter
from workbench.services.workbench import Workbench
from workbench.store.attempts import NewGeneration, Outcome
from workbench.store.metric_columns import is_derived
from workbench.store.records import (
    Generation,
    LibraryVersion,
    Run,
    Vote,
    first_record,
    records,
)


def _columns(wb: Workbench, table: str) -> list[str]:
    with wb.db.cursor() as cur:
        cursor = cur.execute(f"SELECT * FROM {table} LIMIT 0")
        return [d[0] for d in cursor.description]


def _fields(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def test_generation_has_a_field_for_every_column_of_generations(backend_wb: Workbench) -> None:
    # the log's copies of measurement values are derived, not part of a generation's record
    columns = [c for c in _columns(backend_wb, "generations") if not is_derived(c)]
    fields = [name for name in _fields(Generation) if name not in Generation.EXTRA]
    assert sorted(fields) == sorted(columns)
    assert not set(Generation.EXTRA) & set(columns)


def test_run_has_a_field_for_every_column_of_runs(backend_wb: Workbench) -> None:
    assert sorted(_fields(Run)) == sorted(_columns(backend_wb, "runs"))


def test_library_version_has_a_field_for_every_column(backend_wb: Workbench) -> None:
    assert sorted(_fields(LibraryVersion)) == sorted(_columns(backend_wb, "library_versions"))


def test_vote_has_a_field_for_every_column_of_votes(backend_wb: Workbench) -> None:
    assert sorted(_fields(Vote)) == sorted(_columns(backend_wb, "votes"))


def test_a_generation_reads_back_typed_with_its_json_decoded(backend_wb: Workbench) -> None:
    log = backend_wb.log
    backend_wb.attempts.insert_pending(NewGeneration(
        id="g1", model="nano-banana-2", provider="offline", prompt="a kite",
        prompt_written="a kite --ar 3:2", slots={"subject": "a kite"},
        params={"aspect_ratio": "3:2", "seed": 4}, seed=4, run_id="r1", cell="c1",
    ))
    backend_wb.attempts.complete(
        "g1", Outcome(status="failed", error_kind="server", error_message="boom")
    )
    record = log.get("g1")
    assert isinstance(record, Generation)
    assert record.slots == {"subject": "a kite"}
    assert record.params == {"aspect_ratio": "3:2", "seed": 4}
    assert (record.status, record.error_message, record.seed) == ("failed", "boom", 4)
    assert record.image_path is None and record.rating is None
    [row] = log.page(HistoryFilter(), every_column=True)
    assert row == record  # a page of every column is the same record (no stars yet)
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.status = "succeeded"  # type: ignore[misc]  # frozen: what the store read


def test_a_column_the_record_lacks_fails_loudly(backend_wb: Workbench) -> None:
    with backend_wb.db.cursor() as cur:
        cursor = cur.execute("SELECT 'r1' AS id, 'single' AS kind, 1 AS surprise")
        with pytest.raises(TypeError, match="surprise"):
            records(Run, cursor)
        assert first_record(Run, cur.execute("SELECT * FROM runs WHERE id = 'none'")) is None


def test_no_store_read_is_annotated_to_return_dict_rows() -> None:
    """A read returns typed records (`store/records.py`), never rows as dicts: a method of the
    store annotated `-> list[dict[...]]` fails here."""
    import ast
    from pathlib import Path

    store = Path(__file__).resolve().parents[1] / "workbench" / "store"
    found = []
    for path in sorted(store.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.returns is not None:
                returns = ast.unparse(node.returns)
                if returns.startswith("list[dict"):
                    found.append(f"{path.name}:{node.lineno} {node.name} -> {returns}")
    assert found == []


def test_measurement_reads_return_records_on_both_backends(backend_wb: Workbench) -> None:
    from workbench.imaging import measure as m
    from workbench.services.evidence import ratings
    from workbench.store.measured_images import MeasuredImages
    from workbench.store.measurements import MetricLog
    from workbench.store.metric_comparisons import MetricComparisons
    from workbench.store.records import (
        MeasuredTally,
        MetricReading,
        MetricStatusCount,
        NearDuplicate,
        OfferPerformance,
        PairedMetric,
        RatingPoint,
        TextAccuracy,
    )

    wb = backend_wb
    ids = []
    for i, model in enumerate(("nano-banana-2", "flux-2-pro", "nano-banana-2")):
        gid = f"g{i}"
        wb.attempts.insert_pending(NewGeneration(
            id=gid, model=model, provider="offline", prompt="a kite", prompt_written="a kite",
            seed=i, category="text"))
        wb.attempts.complete(gid, Outcome(status="succeeded", latency_ms=100.0 + i))
        MetricLog(wb.db).record(gid, [
            m.MetricResult(m.WARMTH, m.VERSIONS[m.WARMTH], float(i)),
            m.MetricResult(m.TEXT_ACCURACY, m.VERSIONS[m.TEXT_ACCURACY], 0.5, {"summary": "s"}),
            m.MetricResult(m.PHASH, m.VERSIONS[m.PHASH], None, {"hash": "00000000000000ff"}),
        ])
        ratings.rate(wb, ratings.RatingInput(generation_id=gid, criterion="skin_warmth",
                                             stars=3))
        ids.append(gid)
    comparisons = MetricComparisons(wb.db)
    everything = HistoryFilter(include_offline=True)
    reads = {
        MetricReading: list(MetricLog(wb.db).for_generation(ids[0]).values()),
        MetricStatusCount: MetricLog(wb.db).coverage(),
        MeasuredTally: MeasuredImages(wb.db).tally(everything),
        PairedMetric: comparisons.paired_by_model(everything, m.WARMTH),
        TextAccuracy: comparisons.text_accuracy_by_model(everything),
        NearDuplicate: comparisons.near_duplicates(everything),
        RatingPoint: comparisons.rating_pairs(everything, m.WARMTH, "skin_warmth"),
        OfferPerformance: wb.performance.by_offer(everything),
    }
    for cls, rows in reads.items():
        assert rows, cls.__name__  # each read found something to return
        assert all(isinstance(r, cls) for r in rows), cls.__name__
    readings = {r.metric: r for r in reads[MetricReading]}
    assert readings[m.TEXT_ACCURACY].detail == {"summary": "s"}  # JSON decoded
    assert readings[m.WARMTH].detail == {}  # none stored: an empty one, not None
    assert {r.model: r.prompts for r in reads[PairedMetric]} == {
        "nano-banana-2": 1, "flux-2-pro": 1}
    pair = reads[NearDuplicate][0]
    assert (pair.generation_a, pair.generation_b, pair.distance) == ("g0", "g2", 0)
    assert {(r.model, r.provider, r.attempts) for r in reads[OfferPerformance]} == {
        ("nano-banana-2", "offline", 2), ("flux-2-pro", "offline", 1)}
