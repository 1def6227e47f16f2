"""Measure what a command generates, as the app does: the metrics worker is attached for the
command's length, and the command waits a bounded time for it before exiting."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from workbench.domain.plural import count


@contextmanager
def measuring(wb: Any, wait_s: float) -> Iterator[None]:
    from workbench.services.evidence.measurements import worker_for

    worker = worker_for(wb)
    wb.on_success.append(worker.submit)
    try:
        yield
    finally:
        if not worker.wait_idle(timeout=wait_s):
            print(
                f"note: {count(worker.pending, 'image measurement')} still queued; "
                "`workbench metrics --recompute` finishes them",
                file=sys.stderr,
            )
        worker.close()
