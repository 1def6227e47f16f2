"""Measuring stored images: one generation now (`measure_generation`), every old image again
(`recompute`), what text an image should show (`expected_for`), how much of the measurable
images is measured (`coverage`) and whether OCR can run here (`ocr_note`).

Measuring never raises to its caller: a missing, empty or corrupt file, or a bug in a measure,
becomes a stored row with status 'error' and the reason; a missing OCR package becomes
'skipped' with the command that installs it (and `recompute` retries skipped rows).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.domain.filters import HistoryFilter
from workbench.domain.plural import count
from workbench.engines.ocr import INSTALL_HINT, OcrEngine, OcrFailed, OcrUnavailable, shared_engine
from workbench.imaging import measure as m
from workbench.services.workbench import Workbench
from workbench.store.measured_images import ARCHIVED, MEASURABLE, NO_IMAGE, MeasuredImages
from workbench.store.measurements import MetricLog
from workbench.store.metric_comparisons import MetricComparisons
from workbench.store.records import Generation, MeasuredTally

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]  # (done, total, what is being done)
EXPECTED_TEXT_KEY = "expected_text"


def metric_log(wb: Workbench) -> MetricLog:
    return MetricLog(wb.db)


def metric_comparisons(wb: Workbench) -> MetricComparisons:
    return MetricComparisons(wb.db)


# -- what to measure ------------------------------------------------------------------------------

def _explicit_text(record: Generation) -> str | list[str] | None:
    """An explicit expected text: the log's column of that name (suite entries), else the same
    key in the generation's params or slots."""
    candidates: list[Any] = [record.expected_text]
    for value in (record.params, record.slots):
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


def expected_for(record: Generation, override: str | Sequence[str] | None = None) -> list[str]:
    """The text this generation's image should show: an override, an explicit expected text,
    else quoted spans near a cue word in the prompt as sent."""
    explicit = override if override is not None else _explicit_text(record)
    return m.expected_texts(record.prompt or "", explicit=explicit)


def measurable(record: Generation | None) -> bool:
    """Whether a logged generation has a stored image to measure."""
    return record is not None and record.status == "succeeded" and bool(record.image_path)


def _image_path(record: Generation) -> str:
    if record.image_path is None:  # `measurable` said there is one
        raise m.MeasurementError(f"{record.id} has no stored image")
    return record.image_path


# -- measuring one generation ---------------------------------------------------------------------

def fast_results(wb: Workbench, record: Generation) -> list[m.MetricResult]:
    """Warmth, detail and hash of a generation's image; a failure is a result, never raised."""
    try:
        image = m.load_image(wb.images.absolute(_image_path(record)))
        return m.measure_fast(image)
    except m.MeasurementError as exc:
        message = str(exc)
    except Exception as exc:  # a bug in a measure must not take the worker down
        log.exception("measuring %s failed unexpectedly", record.id)
        message = f"Unexpected error while measuring: {type(exc).__name__}: {exc}"
    return [m.MetricResult.failed(name, message) for name in m.FAST_METRICS]


def text_result(
    wb: Workbench, record: Generation, expected: list[str], ocr: OcrEngine
) -> m.MetricResult:
    """Text accuracy of a generation's image against `expected`; a failure (or missing OCR) is
    a result, never raised."""
    asked = {"expected": expected}
    try:
        image = m.load_image(wb.images.absolute(_image_path(record)))
        lines = ocr.read(image)
    except OcrUnavailable as exc:
        return m.MetricResult.failed(m.TEXT_ACCURACY, str(exc), skipped=True, detail=asked)
    except (m.MeasurementError, OcrFailed) as exc:
        return m.MetricResult.failed(m.TEXT_ACCURACY, str(exc), detail=asked)
    except Exception as exc:
        log.exception("OCR of %s failed unexpectedly", record.id)
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
    if not measurable(record):
        return []
    assert record is not None
    results: list[m.MetricResult] = []
    if fast:
        results.extend(fast_results(wb, record))
    if text:
        expected = expected_for(record, expected_text)
        if expected:
            results.append(text_result(wb, record, expected, ocr or shared_engine()))
    metric_log(wb).record(generation_id, results)
    return results


# -- recompute for old images --------------------------------------------------------------------

@dataclass
class RecomputeReport:
    candidates: int = 0  # measurable images (`Coverage.images`) the recompute looked at
    fast_done: int = 0  # images whose fast measures ran (failed ones included)
    text_done: int = 0  # images read for text (failed ones included, skipped ones not)
    errors: int = 0  # fast_errors + text_errors
    skipped: int = 0  # text skipped for want of OCR
    fast_errors: int = 0  # images that could not be measured (missing or unreadable file)
    text_errors: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """In the words and units of `Coverage.sentence`: "5 of 6 images measured, 1 could not
        be measured; text read on 2 images"."""
        text = f"{self.fast_done - self.fast_errors:,} of {count(self.fast_done, 'image')} measured"
        if self.fast_errors:
            text += f", {self.fast_errors:,} could not be measured"
        read = f"text read on {count(self.text_done - self.text_errors, 'image')}"
        if self.text_errors:
            read += f" ({self.text_errors:,} failed)"
        if self.skipped:
            read += f", skipped on {self.skipped:,} (no OCR)"
        return "; ".join([text, read, *self.notes])


# What a recompute's progress calls say it is doing: each stage counts its own images.
MEASURING = "measuring"  # warmth, detail and hash of each image to do
READING_TEXT = "reading text"  # OCR of each image to do that should show text


def recompute(
    wb: Workbench, *, only_missing: bool = True, progress: Progress | None = None,
    ocr: OcrEngine | None = None, text: bool = True, f: HistoryFilter | None = None,
) -> RecomputeReport:
    """Measure the measurable images (`Coverage`: succeeded, stored, not archived, matching
    `f`) again: by default only those lacking a current-version number (or whose OCR was
    skipped); with `only_missing=False`, all of them. Fast measures run for every image
    first, then OCR, so the cheap numbers are all there early. `progress` gets
    (done, total, stage) per image, each stage (`MEASURING`, `READING_TEXT`) counting its own
    images from 1."""
    wanted = MeasuredImages(wb.db).ids(f)
    records = [r for r in wb.log.with_images() if r.id in wanted]
    measured = metric_log(wb).measured() if only_missing else {}
    fast_todo: list[Generation] = []
    text_todo: list[tuple[Generation, list[str]]] = []
    for record in records:
        have = measured.get(record.id, set())
        if not only_missing or not set(m.FAST_METRICS) <= have:
            fast_todo.append(record)
        expected = expected_for(record) if text else []
        if expected and (not only_missing or m.TEXT_ACCURACY not in have):
            text_todo.append((record, expected))
    report = RecomputeReport(candidates=len(records))
    log_ = metric_log(wb)
    for done, record in enumerate(fast_todo, start=1):
        results = fast_results(wb, record)
        log_.record(record.id, results)
        report.fast_done += 1
        report.fast_errors += any(r.status == "error" for r in results)
        if progress:
            progress(done, len(fast_todo), MEASURING)
    engine = ocr or shared_engine()
    for done, (record, expected) in enumerate(text_todo, start=1):
        result = text_result(wb, record, expected, engine)
        log_.record(record.id, [result])
        if result.status == "skipped":
            report.skipped += 1
        else:
            report.text_done += 1
            report.text_errors += result.status == "error"
        if progress:
            progress(done, len(text_todo), READING_TEXT)
    report.errors = report.fast_errors + report.text_errors
    if report.skipped and engine.unavailable_reason:
        report.notes.append(engine.unavailable_reason)
    return report


# -- how much is measured, and whether OCR can run ------------------------------------------------

OCR_PACKAGES = ("rapidocr", "onnxruntime")


def ocr_note() -> str | None:
    """Why text accuracy cannot be measured here, or None when OCR can run. Looks for the
    packages without importing them: loading the engine costs ~440 MB and is left to the
    background worker."""
    reason = shared_engine().unavailable_reason
    if reason:
        return reason
    missing = [name for name in OCR_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        return (
            f"OCR is not installed ({', '.join(missing)} missing): text accuracy is skipped "
            f"until it is. Install it with: {INSTALL_HINT}, then recompute (missing only)."
        )
    return None


@dataclass(frozen=True)
class Coverage:
    """How much of the measurable images is measured, in one definition every number on the
    Measurements page shares: a measurable image is a succeeded generation with a stored image,
    not archived, matching the page's filters (`store.measured_images`). Each of them is
    measured, could not be measured (a missing, empty or corrupt file: the reason is on its
    History detail) or not measured yet, so those three add up to `images`. What the filters
    let through but is not counted is counted too, so the page can say why."""

    images: int  # measurable images
    measured: int  # with current fast measures (warmth, detail, hash)
    errors: int  # whose fast measures failed (missing, empty or corrupt file)
    text_read: int
    text_errors: int
    text_skipped: int  # OCR missing when they were measured
    sketches: int = 0  # of `images`, offline sketches (drawn here, not by a model)
    archived: int = 0  # not counted: archived images
    without_image: int = 0  # not counted: failed, moderated, cancelled or unfinished attempts

    @property
    def unmeasured(self) -> int:
        return self.images - self.measured - self.errors

    def sentence(self) -> str:
        parts = [f"{self.measured:,} of {count(self.images, 'image')} measured"]
        if self.errors:
            parts.append(f"{self.errors:,} could not be measured (file missing or unreadable)")
        if self.unmeasured:
            parts.append(f"{self.unmeasured:,} not measured yet")
        text = f"text read on {count(self.text_read, 'image')}"
        if self.text_errors:
            text += f" ({self.text_errors:,} failed)"
        if self.text_skipped:
            text += f", skipped on {self.text_skipped:,} (no OCR)"
        return " · ".join([*parts, text])

    def left_out(self) -> str | None:
        """Which images are counted and what is not, or None when nothing is left out."""
        notes = []
        if self.sketches:
            verb = "is an offline sketch" if self.sketches == 1 else "are offline sketches"
            if self.sketches == self.images:
                whole = "the image" if self.images == 1 else f"all {count(self.images, 'image')}"
                notes.append(f"{whole} {verb}")
            else:
                notes.append(f"{self.sketches:,} of the {count(self.images, 'image')} {verb}")
        skipped = []
        if self.archived:
            skipped.append(f"{count(self.archived, 'archived image')}")
        if self.without_image:
            skipped.append(f"{count(self.without_image, 'generation')} without an image "
                           "(failed, moderated, cancelled or unfinished)")
        if skipped:
            notes.append("not counted: " + " and ".join(skipped))
        if not notes:
            return None
        text = "; ".join(notes)
        return text[0].upper() + text[1:] + "."


def coverage(wb: Workbench, f: HistoryFilter | None = None) -> Coverage:
    """How much of the measurable images matching `f` is measured (`Coverage`)."""
    rows = MeasuredImages(wb.db).tally(f)
    mine = [r for r in rows if r.kind == MEASURABLE]

    def total(rows: list[MeasuredTally], **match: Any) -> int:
        return sum(r.n for r in rows if all(getattr(r, k) == v for k, v in match.items()))

    return Coverage(
        images=total(mine),
        measured=total(mine, fast="ok"),
        errors=total(mine, fast="error"),
        text_read=total(mine, text="ok"),
        text_errors=total(mine, text="error"),
        text_skipped=total(mine, text="skipped"),
        sketches=total(mine, offline=True),
        archived=total(rows, kind=ARCHIVED),
        without_image=total(rows, kind=NO_IMAGE),
    )
