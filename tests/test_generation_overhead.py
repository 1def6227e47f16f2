"""What the per-generation critical path keeps while it does less: the spending reservation and
the attempt's row reach the disk in one commit (a row that cannot be written leaves no
reservation behind), a single attempt whose sent-requests ledger cannot be written is recorded
as not sent with the reason (nothing sent, nothing reserved), and the thumbnail is decoded only
once the outcome is written. Against the loopback Gemini fake."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.fakes import FakeGemini, png_bytes
from tests.hosted import workbench_on
from workbench.domain.filters import HistoryFilter
from workbench.services.runs import generation
from workbench.services.runs.generation import GenerateRequest, generate_sync
from workbench.services.workbench import Workbench
from workbench.store.attempts import Outcome
from workbench.store.images import ImageStoreError
from workbench.store.sent_ledger import LedgerUnwritable
from workbench.store.spending import SpendLedger

REQUEST = GenerateRequest(model="nano-banana-2", provider="gemini", prompt="a brass key")


@pytest.fixture
def hosted(tmp_path: Path) -> Iterator[tuple[Workbench, FakeGemini]]:
    with FakeGemini() as fake, workbench_on(fake, tmp_path) as wb:
        yield wb, fake


def _reserved(wb: Workbench) -> float:
    return wb.spending.spent_today(wb.settings.user)[0]


def test_a_row_that_cannot_be_written_leaves_no_reservation(
    hosted: tuple[Workbench, FakeGemini],
) -> None:
    wb, fake = hosted
    with wb.db.cursor() as cur:  # a row already has the id, and no reservation goes with it
        cur.execute("INSERT INTO generations (id, created_at, status, model, provider, prompt)"
                    " VALUES ('gen_taken', now(), 'failed', 'nano-banana-2', 'gemini', 'x')")
    planned = generation.plan(wb, REQUEST)
    provider = wb.open_provider("gemini")
    with pytest.raises(wb.db.conflicts):  # the attempt's row cannot be inserted
        asyncio.run(generation.execute(wb, planned, provider, new_id_hint="gen_taken"))
    asyncio.run(provider.aclose())
    assert _reserved(wb) == 0.0  # its reservation was rolled back with it
    assert fake.paid_submits == 0


def test_a_single_attempt_whose_ledger_cannot_be_written_is_recorded_not_sent(
    hosted: tuple[Workbench, FakeGemini],
) -> None:
    wb, fake = hosted
    ledger = wb.sent.ledger
    assert ledger is not None
    ledger.path.unlink(missing_ok=True)
    ledger.path.mkdir()  # a directory where the ledger file should be
    with pytest.raises(LedgerUnwritable):
        generate_sync(wb, REQUEST)
    assert fake.paid_submits == 0 and not fake.on("submit")
    assert _reserved(wb) == 0.0
    (row,) = _all_rows(wb)
    assert row[0] == "not_sent"
    assert str(ledger.path) in row[1]


def _all_rows(wb: Workbench) -> list[tuple[Any, ...]]:
    with wb.db.cursor() as cur:
        return cur.execute("SELECT status, error_message FROM generations").fetchall()


def test_the_thumbnail_is_decoded_only_once_the_outcome_is_written(
    hosted: tuple[Workbench, FakeGemini],
) -> None:
    wb, _ = hosted
    seen: list[tuple[int, bool]] = []
    complete = wb.attempts.complete

    def observed(generation_id: str, outcome: Outcome, **kwargs: Any) -> None:
        image = outcome.image
        assert image is not None
        # what the thumbnail thread has been given, and whether it is on disk already
        seen.append((len(wb.images.thumbs._pending),
                     (wb.settings.data_dir / image.thumb_path).exists()))
        complete(generation_id, outcome, **kwargs)

    wb.attempts.complete = observed  # type: ignore[method-assign]  # watches the write
    outcome = generate_sync(wb, REQUEST)
    wb.images.thumbs.wait_all()
    assert outcome.status == "succeeded"
    assert seen == [(0, False)]
    record = wb.log.get(outcome.id)
    assert record is not None and wb.images.absolute(record.thumb_path).is_file()


def _status(wb: Workbench, generation_id: str) -> str:
    with wb.db.cursor() as cur:  # this thread's own cursor: it sees committed rows only
        row = cur.execute("SELECT status FROM generations WHERE id = ?",
                          [generation_id]).fetchone()
    return str(row[0])


def test_the_outcome_commits_only_once_its_image_is_stored(
    hosted: tuple[Workbench, FakeGemini], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The image is written while the outcome's statements run, and the row says `succeeded`
    only once the file is there: a crash between the two never leaves a row naming an image
    that is not on disk."""
    wb, _ = hosted
    statements_ran = threading.Event()
    settle = SpendLedger.settle

    def settled(cur: Any, key: str, amount: float | None) -> None:
        settle(cur, key, amount)  # the outcome's last statement before it commits
        statements_ran.set()

    monkeypatch.setattr(SpendLedger, "settle", staticmethod(settled))
    write = wb.images.backend.write
    seen: list[str] = []

    def watched_write(key: str, data: bytes) -> None:
        if key.startswith("images/"):
            assert statements_ran.wait(10), "the outcome was not written beside the image"
            row_id = wb.log.page(HistoryFilter(), limit=1)[0].id
            # A commit that did not wait for the image would land within milliseconds.
            deadline = time.monotonic() + 0.3
            while time.monotonic() < deadline:
                seen.append(_status(wb, row_id))
        write(key, data)

    monkeypatch.setattr(wb.images.backend, "write", watched_write)
    outcome = generate_sync(wb, REQUEST)
    assert outcome.status == "succeeded"
    assert seen and set(seen) == {"pending"}
    assert _status(wb, outcome.id) == "succeeded"
    assert outcome.image_path and Path(outcome.image_path).is_file()


def test_an_image_that_cannot_be_stored_leaves_a_failed_attempt_at_its_billed_cost(
    hosted: tuple[Workbench, FakeGemini], monkeypatch: pytest.MonkeyPatch,
) -> None:
    wb, fake = hosted
    billed = generate_sync(wb, REQUEST)  # what this offer bills for one image
    assert billed.status == "succeeded" and billed.cost_usd

    def full_disk(key: str, data: bytes) -> None:
        raise ImageStoreError("No space left on device (the test's disk)")

    monkeypatch.setattr(wb.images.backend, "write", full_disk)
    fake.image = png_bytes(colour=(10, 20, 30))  # not the image stored already
    lost = generate_sync(wb, REQUEST)
    assert (lost.status, lost.error_kind) == ("failed", "storage")
    assert "could not be stored" in (lost.error or "") and "No space left" in (lost.error or "")
    assert lost.cost_usd == billed.cost_usd  # the provider billed it all the same
    assert lost.image_path is None
    record = wb.log.get(lost.id)
    assert record is not None and record.image_path is None and record.cost_usd == billed.cost_usd
    assert _reserved(wb) == pytest.approx(2 * billed.cost_usd)  # both count against the caps


def test_a_delivered_file_that_is_not_an_image_keeps_its_billed_cost(
    hosted: tuple[Workbench, FakeGemini],
) -> None:
    wb, fake = hosted
    billed = generate_sync(wb, REQUEST)
    assert billed.cost_usd
    fake.image = b"<html>upstream error</html>"
    broken = generate_sync(wb, REQUEST)
    assert (broken.status, broken.error_kind) == ("failed", "malformed")
    assert broken.cost_usd == billed.cost_usd
    assert _reserved(wb) == pytest.approx(2 * billed.cost_usd)


def test_a_workbench_failure_after_delivery_keeps_the_billed_cost(
    hosted: tuple[Workbench, FakeGemini], monkeypatch: pytest.MonkeyPatch,
) -> None:
    wb, _ = hosted
    billed = generate_sync(wb, REQUEST)

    def bug(data: bytes) -> None:
        raise RuntimeError("a bug in checking")

    monkeypatch.setattr(wb.images, "check", bug)
    failed = generate_sync(wb, REQUEST)
    assert (failed.status, failed.error_kind) == ("failed", "internal")
    assert "a bug in checking" in (failed.error or "")
    assert failed.cost_usd == billed.cost_usd
    assert _reserved(wb) == pytest.approx(2 * (billed.cost_usd or 0))
