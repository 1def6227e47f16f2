"""The write pool (`services.runs.off_loop`): a write that records money runs to its end even
when the task waiting for it is cancelled (Ctrl-C while the pool is busy), and a cancelled
generation records the provider's job id before it records itself interrupted."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.fakes import FakeBfl
from tests.hosted import workbench_on
from workbench.services.runs import generation, off_loop
from workbench.services.runs.generation import GenerateRequest
from workbench.services.workbench import Workbench

KEY = "bfl-test-key-5678"


def test_a_write_waited_for_by_a_cancelled_task_still_runs_even_when_queued() -> None:
    release = threading.Event()
    busy = [off_loop.later(release.wait, 30) for _ in range(off_loop.WORKERS)]
    written = threading.Event()

    async def waiting() -> None:
        await off_loop.run(written.set)  # queued behind the busy threads

    async def main() -> None:
        task = asyncio.create_task(waiting())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert not written.is_set()  # still queued: the pool was busy
    release.set()
    for future in busy:
        future.result(30)
    assert written.wait(30)  # ... and it ran all the same


@pytest.fixture
def bfl(tmp_path: Path) -> Iterator[tuple[Workbench, FakeBfl]]:
    with FakeBfl(KEY) as fake:
        fake.pending_polls = 10**9  # the job stays with BFL
        with workbench_on(fake, tmp_path, WORKBENCH_POLL_INTERVAL_S="0.05") as wb:
            yield wb, fake


def test_a_cancel_right_after_the_submit_keeps_the_job_id_still_being_written(
    bfl: tuple[Workbench, FakeBfl], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The job id is written on the pool while the job is polled; a cancel that lands before
    that write has ended waits for it, so the attempt is `interrupted` with its id (fetched by
    `recover`), not `uncertain`."""
    wb, fake = bfl
    slow = threading.Event()
    mark = wb.attempts.mark_submitted

    def slow_mark(*args: object) -> None:
        slow.wait(30)  # the write is still under way when the cancel lands
        mark(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(wb.attempts, "mark_submitted", slow_mark)
    planned = generation.plan(wb, GenerateRequest(model="flux-2-pro", provider="bfl",
                                                  prompt="a paper crane"))

    async def main() -> None:
        provider = wb.open_provider("bfl")
        task = asyncio.create_task(generation.execute(wb, planned, provider))
        while not fake.polls:  # the fake has no event: the job is with BFL once polled
            await asyncio.sleep(0.01)
        threading.Timer(0.2, slow.set).start()  # the write ends only after the cancel
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await provider.aclose()

    asyncio.run(main())
    [left] = wb.log.resumable()
    assert left.provider_request_id == "job-0001-7f3a"
    record = wb.log.get(left.id)
    assert record is not None and record.status == "interrupted"
    assert record.error_kind == "interrupted"
