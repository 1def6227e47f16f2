"""What the per-generation critical path keeps while it does less: the spending reservation and
the attempt's row reach the disk in one commit (a row that cannot be written leaves no
reservation behind), a single attempt whose sent-requests ledger cannot be written is recorded
as not sent with the reason (nothing sent, nothing reserved), and the thumbnail is decoded only
once the outcome is written. Against the loopback Gemini fake."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.fakes import FakeGemini
from workbench.config import load_settings
from workbench.services.runs import generation
from workbench.services.runs.generation import GenerateRequest, generate_sync
from workbench.services.workbench import Workbench, open_workbench
from workbench.store.attempts import Outcome
from workbench.store.sent_ledger import LedgerUnwritable

REQUEST = GenerateRequest(model="nano-banana-2", provider="gemini", prompt="a brass key")


@pytest.fixture
def hosted(tmp_path: Path) -> Iterator[tuple[Workbench, FakeGemini]]:
    with FakeGemini() as fake:
        settings = load_settings(
            env={"WORKBENCH_DATA_DIR": str(tmp_path / "data"), "GEMINI_API_KEY": fake.key,
                 "GEMINI_BASE_URL": fake.url},
            secrets_file=tmp_path / "none.toml",
        )
        wb = open_workbench(settings, idle_close_s=0)
        try:
            yield wb, fake
        finally:
            wb.close()


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

    def observed(generation_id: str, outcome: Outcome) -> None:
        image = outcome.image
        assert image is not None
        # what the thumbnail thread has been given, and whether it is on disk already
        seen.append((len(wb.images.thumbs._pending),
                     (wb.settings.data_dir / image.thumb_path).exists()))
        complete(generation_id, outcome)

    wb.attempts.complete = observed  # type: ignore[method-assign]  # watches the write
    outcome = generate_sync(wb, REQUEST)
    wb.images.thumbs.wait_all()
    assert outcome.status == "succeeded"
    assert seen == [(0, False)]
    record = wb.log.get(outcome.id)
    assert record is not None and wb.images.absolute(record.thumb_path).is_file()
