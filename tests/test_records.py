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
