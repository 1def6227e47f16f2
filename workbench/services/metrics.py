"""Image measurements as a service: measure one stored image, run measurements in the
background after each generation, recompute them for old images, and read them back for the
pages (a plain-language reading per generation, paired leaderboard columns, text accuracy,
near-duplicates, agreement with human ratings).

Measuring never raises to its caller: a missing, empty or corrupt file, or a bug in a measure,
becomes a stored row with status 'error' and the reason; a missing OCR package becomes
'skipped' with the command that installs it (and `recompute` retries skipped rows).

The background worker has two lanes, each a bounded queue served by daemon threads: fast
measures (warmth, detail, hash; tens of milliseconds) and OCR (~0.5 s, loads ~440 MB on first
use). A generation's fast measures run first and, if its prompt asks for text, it then joins the
OCR lane, so a heavy OCR job never holds up the fast numbers of the next image.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.domain.criteria import load_criteria
from workbench.domain.filters import HistoryFilter
from workbench.engines.ocr import OcrEngine, OcrFailed, OcrUnavailable, shared_engine
from workbench.imaging import metrics as m
from workbench.services.workbench import Workbench
from workbench.store.metrics import MetricLog

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]  # (done, total, what is being done)
EXPECTED_TEXT_KEY = "expected_text"


def metric_log(wb: Workbench) -> MetricLog:
    return MetricLog(wb.db)


# -- what to measure ------------------------------------------------------------------------------

def _explicit_text(record: dict[str, Any]) -> str | list[str] | None:
    """An explicit expected text: a column of that name if the log has one (suite entries), else
    the same key in the generation's params or slots."""
    candidates = [record.get(EXPECTED_TEXT_KEY)]
    for key in ("params", "slots"):
        value = record.get(key)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                value = None
        if isinstance(value, dict):
            candidates.append(value.get(EXPECTED_TEXT_KEY))
    for value in candidates:
        if isinstance(value, str) and value.strip().startswith("["):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, list) and any(isinstance(v, str) and v.strip() for v in value):
            return [v for v in value if isinstance(v, str)]
    return None


def expected_for(record: dict[str, Any], override: str | Sequence[str] | None = None) -> list[str]:
    """The text this generation's image should show: an override, an explicit expected text,
    else quoted spans near a cue word in the prompt as sent."""
    explicit = override if override is not None else _explicit_text(record)
    return m.expected_texts(record.get("prompt") or "", explicit=explicit)


def _measurable(record: dict[str, Any] | None) -> bool:
    return bool(record) and record.get("status") == "succeeded" and bool(record.get("image_path"))


# -- measuring one generation ---------------------------------------------------------------------

def _fast_results(wb: Workbench, record: dict[str, Any]) -> list[m.MetricResult]:
    try:
        image = m.load_image(wb.images.absolute(record["image_path"]))
        return m.measure_fast(image)
    except m.MeasurementError as exc:
        message = str(exc)
    except Exception as exc:  # a bug in a measure must not take the worker down
        log.exception("measuring %s failed unexpectedly", record.get("id"))
        message = f"Unexpected error while measuring: {type(exc).__name__}: {exc}"
    return [m.MetricResult.failed(name, message) for name in m.FAST_METRICS]


def _text_result(
    wb: Workbench, record: dict[str, Any], expected: list[str], ocr: OcrEngine
) -> m.MetricResult:
    asked = {"expected": expected}
    try:
        image = m.load_image(wb.images.absolute(record["image_path"]))
        lines = ocr.read(image)
    except OcrUnavailable as exc:
        return m.MetricResult.failed(m.TEXT_ACCURACY, str(exc), skipped=True, detail=asked)
    except (m.MeasurementError, OcrFailed) as exc:
        return m.MetricResult.failed(m.TEXT_ACCURACY, str(exc), detail=asked)
    except Exception as exc:
        log.exception("OCR of %s failed unexpectedly", record.get("id"))
        return m.MetricResult.failed(
            m.TEXT_ACCURACY, f"Unexpected error while reading text: {type(exc).__name__}: {exc}",
            detail=asked)
    return m.measure_text(expected, [line.text for line in lines])


def measure_generation(
    wb: Workbench, generation_id: str, *, fast: bool = True, text: bool = True,
    ocr: OcrEngine | None = None, expected_text: str | Sequence[str] | None = None,
) -> list[m.MetricResult]:
    """Measure one stored image now and record every result (errors included).

    Returns what was recorded; an empty list when the generation has no stored image.
    """
    record = wb.log.get(generation_id)
    if not _measurable(record):
        return []
    assert record is not None
    results: list[m.MetricResult] = []
    if fast:
        results.extend(_fast_results(wb, record))
    if text:
        expected = expected_for(record, expected_text)
        if expected:
            results.append(_text_result(wb, record, expected, ocr or shared_engine()))
    metric_log(wb).record(generation_id, results)
    return results


def _lower_priority(nice: int) -> None:
    """Make the calling thread yield the CPU to the app's threads. On Linux the nice value is
    per thread, and threads this one starts (OCR's helpers) inherit it; elsewhere a no-op."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)


# -- background worker ---------------------------------------------------------------------------

_STOP = object()


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
        if not _measurable(record):
            return
        assert record is not None
        results = _fast_results(self.wb, record)
        metric_log(self.wb).record(generation_id, results)
        self._count("measured")
        self._count("errors", sum(r.status == "error" for r in results))
        expected = expected_for(record)
        if expected:
            self._enqueue(self._text, (generation_id, record, expected))

    def _text_job(self, item: tuple[str, dict[str, Any], list[str]]) -> None:
        generation_id, record, expected = item
        result = _text_result(self.wb, record, expected, self.ocr)
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

    def recompute_in_background(self, *, only_missing: bool = True) -> bool:
        """For the "recompute for old images" button: one recompute at a time, in a daemon
        thread, with `recompute_progress` as (done, total)."""
        with self._cond:
            if self._closed or (self._recompute is not None and self._recompute.is_alive()):
                return False

            def run() -> None:
                _lower_priority(self.nice)

                def progress(done: int, total: int, _what: str) -> None:
                    self.recompute_progress = (done, total)
                try:
                    self.last_recompute = recompute(
                        self.wb, only_missing=only_missing, progress=progress, ocr=self.ocr)
                except Exception:
                    log.exception("recompute failed")

            self.recompute_progress = (0, 0)
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
        for lane, count in ((self._fast, len(self._threads) - 1), (self._text, 1)):
            for _ in range(count):
                with contextlib.suppress(queue.Full):
                    lane.put(_STOP, timeout=timeout)
        for thread in self._threads:
            thread.join(timeout)


_workers: dict[int, MetricsWorker] = {}
_workers_lock = threading.Lock()


def worker_for(wb: Workbench) -> MetricsWorker:
    """The background worker of this opened workbench, started on first use. The generation
    path calls `worker_for(wb).submit(generation_id)` once an image is stored."""
    with _workers_lock:
        worker = _workers.get(id(wb))
        if worker is None or worker.wb is not wb or worker.closed:
            worker = _workers[id(wb)] = MetricsWorker(wb)
            # Stop before the database closes, whether the workbench or the process ends.
            wb.on_close.append(worker.close)
            atexit.register(worker.close)
        return worker


# -- recompute for old images --------------------------------------------------------------------

@dataclass
class RecomputeReport:
    candidates: int = 0
    fast_done: int = 0
    text_done: int = 0
    errors: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (f"{self.fast_done} image(s) measured, {self.text_done} read for text, "
                f"{self.errors} measurement error(s), {self.skipped} skipped")
        return "; ".join([text, *self.notes])


def _succeeded_records(wb: Workbench) -> list[dict[str, Any]]:
    with wb.db.cursor() as cur:
        cursor = cur.execute(
            "SELECT g.*, i.path AS image_path FROM generations g"
            " JOIN images i ON i.sha256 = g.image_sha256 WHERE g.status = 'succeeded'"
            " ORDER BY g.created_at, g.id")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def recompute(
    wb: Workbench, *, only_missing: bool = True, progress: Progress | None = None,
    ocr: OcrEngine | None = None, text: bool = True,
) -> RecomputeReport:
    """Measure stored images again: by default only those lacking a current-version number
    (or whose OCR was skipped); with `only_missing=False`, all of them. Fast measures run for
    every image first, then OCR, so the cheap numbers are all there early."""
    records = _succeeded_records(wb)
    measured = metric_log(wb).measured() if only_missing else {}
    fast_todo: list[dict[str, Any]] = []
    text_todo: list[tuple[dict[str, Any], list[str]]] = []
    for record in records:
        have = measured.get(record["id"], set())
        if not only_missing or not set(m.FAST_METRICS) <= have:
            fast_todo.append(record)
        expected = expected_for(record) if text else []
        if expected and (not only_missing or m.TEXT_ACCURACY not in have):
            text_todo.append((record, expected))
    report = RecomputeReport(candidates=len(records))
    total = len(fast_todo) + len(text_todo)
    done = 0
    log_ = metric_log(wb)
    for record in fast_todo:
        results = _fast_results(wb, record)
        log_.record(record["id"], results)
        report.fast_done += 1
        report.errors += any(r.status == "error" for r in results)
        done += 1
        if progress:
            progress(done, total, f"measured {record['id']}")
    engine = ocr or shared_engine()
    for record, expected in text_todo:
        result = _text_result(wb, record, expected, engine)
        log_.record(record["id"], [result])
        if result.status == "skipped":
            report.skipped += 1
        else:
            report.text_done += 1
            report.errors += result.status == "error"
        done += 1
        if progress:
            progress(done, total, f"read text of {record['id']}")
    if report.skipped and engine.unavailable_reason:
        report.notes.append(engine.unavailable_reason)
    return report


# -- reading the numbers back --------------------------------------------------------------------

READING_ORDER = (m.WARMTH, m.COLOUR_TEMP, m.WB_CAST, m.WARMTH_A, m.DETAIL, m.DETAIL_LAPLACIAN,
                 m.TEXT_ACCURACY, m.PHASH)


@dataclass(frozen=True)
class Reading:
    metric: str
    label: str
    status: str  # ok | error | skipped
    value: float | None
    sentence: str


def readings(wb: Workbench, generation_id: str) -> list[Reading]:
    """One sentence per measurement for the detail view, against this prompt's other images."""
    store = metric_log(wb)
    rows = store.for_generation(generation_id)
    peer_values = store.prompt_peer_values(generation_id) if rows else {}
    out: list[Reading] = []
    for metric in READING_ORDER:
        row = rows.get(metric)
        if row is None:
            continue
        spec = m.SPECS[metric]
        if row["status"] != "ok":
            verb = "skipped" if row["status"] == "skipped" else "could not be measured"
            out.append(Reading(metric, spec.label, row["status"], None,
                               f"{spec.label}: {verb} — {row['error']}"))
            continue
        if metric == m.PHASH:
            out.append(Reading(metric, spec.label, "ok", None,
                               _duplicate_sentence(store, generation_id)))
        elif metric == m.TEXT_ACCURACY:
            summary = row["detail"].get("summary", "")
            out.append(Reading(metric, spec.label, "ok", row["value"],
                               f"{spec.label}: {row['value']:.0%} — {summary}."))
        else:
            peers = peer_values.get(metric, [])
            out.append(Reading(metric, spec.label, "ok", row["value"],
                               m.describe(metric, row["value"], peers, "this prompt's images")))
    return out


def _duplicate_sentence(store: MetricLog, generation_id: str) -> str:
    pairs = store.near_duplicates(generation_id=generation_id)
    if not pairs:
        return ("Perceptual hash: no near-duplicate among this model's other images of the "
                "prompt.")
    others = [
        f"{p['generation_b'] if p['generation_a'] == generation_id else p['generation_a']}"
        f" ({p['distance']} bits apart)"
        for p in pairs
    ]
    return ("Perceptual hash: near-duplicate of " + ", ".join(others)
            + " although the seeds differ — the provider may have returned the same image.")


def paired_columns(
    wb: Workbench, f: HistoryFilter | None = None,
    metrics: Sequence[str] = (m.WARMTH, m.WB_CAST, m.DETAIL, m.TEXT_ACCURACY),
    *, by_category: bool = False,
) -> list[dict[str, Any]]:
    """Leaderboard columns: per model and metric, the paired difference against the other
    models' images of the same prompts, with its 95% interval and a short text for a cell."""
    store = metric_log(wb)
    rows: list[dict[str, Any]] = []
    for metric in metrics:
        for row in store.paired_by_model(f, metric, by_category=by_category):
            row["label"] = m.SPECS[metric].label
            row["text"] = paired_text(row)
            rows.append(row)
    return rows


def paired_text(row: dict[str, Any]) -> str:
    """"+3.2 [+1.1, +5.3] vs others, 12 prompts"; or why there is no paired number."""
    if not row.get("prompts"):
        return "no prompt shared with another model yet"
    diff = row["mean_diff"]
    if row.get("diff_low") is None:
        return f"{diff:+.3g} vs others (1 prompt: no interval)"
    return (f"{diff:+.3g} [{row['diff_low']:+.3g}, {row['diff_high']:+.3g}] vs others, "
            f"{row['prompts']} prompts")


def text_accuracy(wb: Workbench, f: HistoryFilter | None = None) -> list[dict[str, Any]]:
    """Text-in-image accuracy per model (cut to the text category by passing
    `HistoryFilter(categories=(...,))`)."""
    return metric_log(wb).text_accuracy_by_model(f)


def near_duplicates(wb: Workbench, f: HistoryFilter | None = None) -> list[dict[str, Any]]:
    return metric_log(wb).near_duplicates(f)


@dataclass(frozen=True)
class Correlation:
    criterion: str
    criterion_label: str
    metric: str
    metric_label: str
    n: int
    spearman: float | None
    pearson: float | None
    low: float | None
    high: float | None
    verdict: str
    points: list[dict[str, Any]]


def _trust(rho: float | None, interval: tuple[float, float] | None, n: int) -> str:
    if rho is None:
        return f"not enough data: {n} image(s) both rated and measured (3 or more needed)"
    size = abs(rho)
    strength = "strong" if size >= 0.5 else "moderate" if size >= 0.3 else "weak"
    direction = "agrees with" if rho > 0 else "runs against"
    text = f"{strength}: the measure {direction} the stars (Spearman {rho:+.2f}, n={n})"
    if interval is None or interval[0] <= 0 <= interval[1]:
        text += "; not yet distinguishable from no relation"
    return text


def correlations(wb: Workbench, f: HistoryFilter | None = None) -> list[Correlation]:
    """For each rating criterion with a matching measure (`metric` in criteria.toml): how well
    the measure follows the latest stars, so a user knows how far to trust it."""
    store = metric_log(wb)
    out: list[Correlation] = []
    for crit in load_criteria():
        if not crit.metric or crit.metric not in m.SPECS:
            continue
        points = store.rating_pairs(f, crit.metric, crit.id)
        xs = [float(p["value"]) for p in points]
        ys = [float(p["stars"]) for p in points]
        rho = m.spearman(xs, ys)
        interval = m.correlation_interval(rho, len(points))
        out.append(Correlation(
            criterion=crit.id, criterion_label=crit.label, metric=crit.metric,
            metric_label=m.SPECS[crit.metric].label, n=len(points), spearman=rho,
            pearson=m.pearson(xs, ys), low=interval[0] if interval else None,
            high=interval[1] if interval else None, verdict=_trust(rho, interval, len(points)),
            points=points,
        ))
    return out
