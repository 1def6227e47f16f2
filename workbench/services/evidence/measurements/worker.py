"""The background metrics worker: measures each new image after its generation, and runs the
"recompute for old images" job with its progress. One per opened `Workbench`, which holds it
(`Workbench.background["measurements"]`) and stops it before its database closes.

Two lanes, each a bounded queue served by daemon threads: fast measures (warmth, detail, hash;
tens of milliseconds) and OCR (~0.5 s, loads ~440 MB on first use). A generation's fast measures
run first and, if its prompt asks for text, it then joins the OCR lane, so a heavy OCR job never
holds up the fast numbers of the next image.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from workbench.domain.filters import HistoryFilter
from workbench.domain.plural import count
from workbench.engines.ocr import OcrEngine, shared_engine
from workbench.services.evidence.measurements.measuring import (
    MEASURING,
    READING_TEXT,
    RecomputeReport,
    expected_for,
    fast_results,
    measurable,
    metric_log,
    recompute,
    text_result,
)
from workbench.services.workbench import Workbench
from workbench.store.records import Generation

log = logging.getLogger(__name__)


def _lower_priority(nice: int) -> None:
    """Make the calling thread yield the CPU to the app's threads. On Linux the nice value is
    per thread, and threads this one starts (OCR's helpers) inherit it; elsewhere a no-op."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)


_STOP = object()


class _Closing(Exception):
    """Raised inside a recompute's progress callback once the worker is closing."""


@dataclass
class WorkerStats:
    submitted: int = 0
    measured: int = 0
    ocr_measured: int = 0
    errors: int = 0
    dropped: int = 0


class MetricsWorker:
    """Measures generations in the background: `submit(generation_id)` after an image is
    stored returns at once (False when the queue is full: `recompute` catches up later)."""

    def __init__(
        self, wb: Workbench, *, ocr: OcrEngine | None = None, fast_threads: int = 1,
        queue_size: int = 256, nice: int = 10,
    ) -> None:
        self.wb = wb
        self.nice = nice
        self.ocr = ocr or shared_engine()
        self.stats = WorkerStats()
        self._fast: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._text: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._busy = 0
        self._cond = threading.Condition()
        self._closed = False
        self._recompute: threading.Thread | None = None
        self.recompute_progress: tuple[int, int] | None = None
        self.recompute_stage = MEASURING  # what `recompute_progress` counts
        self.last_recompute: RecomputeReport | None = None
        self._threads = [
            threading.Thread(target=self._serve, args=(self._fast, self._fast_job),
                             name=f"metrics-fast-{i}", daemon=True)
            for i in range(max(1, fast_threads))
        ]
        self._threads.append(threading.Thread(
            target=self._serve, args=(self._text, self._text_job), name="metrics-ocr",
            daemon=True))
        for thread in self._threads:
            thread.start()

    # -- intake -----------------------------------------------------------------------------------
    def _enqueue(self, lane: queue.Queue[Any], item: Any) -> bool:
        with self._cond:
            if self._closed:
                return False
            self._busy += 1
        try:
            lane.put_nowait(item)
        except queue.Full:
            self._finished()
            self._count("dropped")
            log.warning("metrics queue full; %s left for `metrics --recompute`", item)
            return False
        return True

    def submit(self, generation_id: str) -> bool:
        """Queue a generation's measurements; never blocks."""
        self._count("submitted")
        return self._enqueue(self._fast, generation_id)

    def submit_many(self, generation_ids: Iterable[str]) -> int:
        return sum(self.submit(gid) for gid in generation_ids)

    # -- lanes -----------------------------------------------------------------------------------
    def _serve(self, lane: queue.Queue[Any], job: Callable[[Any], None]) -> None:
        _lower_priority(self.nice)
        while True:
            item = lane.get()
            if item is _STOP:
                return
            try:
                job(item)
            except Exception:  # the store may be locked or gone; keep serving
                self._count("errors")
                log.exception("background measurement of %s failed", item)
            finally:
                self._finished()

    def _count(self, name: str, n: int = 1) -> None:
        with self._cond:  # fast lanes may be several threads
            setattr(self.stats, name, getattr(self.stats, name) + n)

    def _finished(self) -> None:
        with self._cond:
            self._busy -= 1
            self._cond.notify_all()

    def _fast_job(self, generation_id: str) -> None:
        record = self.wb.log.get(generation_id)
        if not measurable(record):
            return
        assert record is not None
        results = fast_results(self.wb, record)
        metric_log(self.wb).record(generation_id, results)
        self._count("measured")
        self._count("errors", sum(r.status == "error" for r in results))
        expected = expected_for(record)
        if expected:
            self._enqueue(self._text, (generation_id, record, expected))

    def _text_job(self, item: tuple[str, Generation, list[str]]) -> None:
        generation_id, record, expected = item
        result = text_result(self.wb, record, expected, self.ocr)
        metric_log(self.wb).record(generation_id, [result])
        self._count("ocr_measured")
        self._count("errors", int(result.status == "error"))

    # -- waiting and stopping ---------------------------------------------------------------------
    @property
    def pending(self) -> int:
        with self._cond:
            return self._busy

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every submitted job is done (True) or `timeout` passes (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._busy == 0, timeout)

    def recompute_in_background(
        self, *, only_missing: bool = True, f: HistoryFilter | None = None
    ) -> bool:
        """For the "recompute for old images" button: one recompute at a time, in a daemon
        thread, with `recompute_progress` as (done, total) images of `recompute_stage`."""
        with self._cond:
            if self._closed or (self._recompute is not None and self._recompute.is_alive()):
                return False

            def run() -> None:
                _lower_priority(self.nice)

                def progress(done: int, total: int, stage: str) -> None:
                    self.recompute_stage = stage
                    self.recompute_progress = (done, total)
                    if self._closed:
                        raise _Closing  # stop between two images, not inside a query
                try:
                    self.last_recompute = recompute(
                        self.wb, only_missing=only_missing, progress=progress, ocr=self.ocr,
                        f=f)
                except _Closing:
                    pass
                except Exception:
                    log.exception("recompute failed")

            self.recompute_progress = (0, 0)
            self.recompute_stage = MEASURING
            self._recompute = threading.Thread(target=run, name="metrics-recompute", daemon=True)
            self._recompute.start()
            return True

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def recomputing(self) -> bool:
        return self._recompute is not None and self._recompute.is_alive()

    def close(self, timeout: float = 5.0) -> None:
        """Stop taking work; let the threads finish what they hold (they are daemons, so an
        exiting interpreter does not wait for them)."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
        for lane, threads in ((self._fast, len(self._threads) - 1), (self._text, 1)):
            for _ in range(threads):
                with contextlib.suppress(queue.Full):
                    lane.put(_STOP, timeout=timeout)
        # A daemon thread still inside a database call when the interpreter finalises aborts
        # the whole process (DuckDB's native code throws across the dying thread): wait for
        # each to reach a point where it can stop.
        for thread in [*self._threads, *([self._recompute] if self._recompute else [])]:
            thread.join(timeout)


_BACKGROUND_KEY = "measurements"
# Guards starting a workbench's worker when two threads (two app sessions) ask at once.
_start_lock = threading.Lock()


def worker_for(wb: Workbench) -> MetricsWorker:
    """The background worker of this opened workbench, started on first use and kept on it
    (`wb.background["measurements"]`). The generation path calls
    `worker_for(wb).submit(generation_id)` once an image is stored."""
    with _start_lock:
        worker = wb.background.get(_BACKGROUND_KEY)
        if not isinstance(worker, MetricsWorker) or worker.closed:
            worker = MetricsWorker(wb)
            wb.background[_BACKGROUND_KEY] = worker
            # Stop before the database closes, whether the workbench or the process ends.
            wb.on_close.append(worker.close)
            atexit.register(worker.close)
        return worker


# -- the recompute job, for the Measurements page -------------------------------------------------

@dataclass(frozen=True)
class RecomputeState:
    running: bool
    done: int  # images of `stage` done
    total: int  # images `stage` has to do (0: still listing them)
    last: str | None  # the summary of the last finished recompute in this app
    stage: str = MEASURING

    @property
    def share(self) -> float:
        return 1.0 if not self.total else min(1.0, self.done / self.total)

    def sentence(self) -> str:
        """"Measuring warmth, detail and hash: 120 of 522 images"; its images are those
        `Coverage` counts (all of them, or those not measured yet)."""
        if not self.total:
            return "Listing the images to measure"
        what = "Reading text" if self.stage == READING_TEXT else "Measuring warmth, detail and hash"
        return f"{what}: {self.done:,} of {count(self.total, 'image')}"


def start_recompute(wb: Workbench, *, only_missing: bool, f: HistoryFilter | None = None) -> bool:
    """Start measuring the measurable images matching `f` in the background; False when a
    recompute is already running."""
    return worker_for(wb).recompute_in_background(only_missing=only_missing, f=f)


def recompute_state(wb: Workbench) -> RecomputeState:
    worker = worker_for(wb)
    done, total = worker.recompute_progress or (0, 0)
    last = worker.last_recompute.summary() if worker.last_recompute else None
    return RecomputeState(running=worker.recomputing, done=done, total=total, last=last,
                          stage=worker.recompute_stage)
