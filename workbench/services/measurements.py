"""The Measurements page's data: how much of the log is measured, the "recompute" job that
runs in the background with its progress, and whether OCR can run here. The numbers themselves
(agreement with ratings, near-duplicates) come from `services.metrics`."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from workbench.engines.ocr import INSTALL_HINT, shared_engine
from workbench.imaging import metrics as m
from workbench.services import metrics as metrics_service
from workbench.services.workbench import Workbench

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
    images: int  # succeeded generations (each has an image to measure)
    measured: int  # with current fast measures
    errors: int  # whose fast measures failed (missing, empty or corrupt file)
    text_read: int
    text_errors: int
    text_skipped: int  # OCR missing when they were measured

    @property
    def unmeasured(self) -> int:
        return max(0, self.images - self.measured - self.errors)

    def sentence(self) -> str:
        parts = [f"{self.measured:,} of {self.images:,} images measured"]
        if self.errors:
            parts.append(f"{self.errors:,} could not be measured")
        if self.unmeasured:
            parts.append(f"{self.unmeasured:,} not measured yet")
        text = f"text read on {self.text_read:,}"
        if self.text_errors:
            text += f" ({self.text_errors:,} failed)"
        if self.text_skipped:
            text += f", skipped on {self.text_skipped:,} (no OCR)"
        return " · ".join([*parts, text])


def coverage(wb: Workbench) -> Coverage:
    counts: dict[tuple[str, str], int] = {}
    for row in metrics_service.metric_log(wb).coverage():
        counts[(row["metric"], row["status"])] = int(row["n"])
    # the hash is the one fast measure every measured image has exactly one row of
    return Coverage(
        images=wb.log.status_counts().get("succeeded", 0),
        measured=counts.get((m.PHASH, "ok"), 0),
        errors=counts.get((m.PHASH, "error"), 0),
        text_read=counts.get((m.TEXT_ACCURACY, "ok"), 0),
        text_errors=counts.get((m.TEXT_ACCURACY, "error"), 0),
        text_skipped=counts.get((m.TEXT_ACCURACY, "skipped"), 0),
    )


@dataclass(frozen=True)
class RecomputeState:
    running: bool
    done: int
    total: int
    last: str | None  # the summary of the last finished recompute in this app

    @property
    def share(self) -> float:
        return 1.0 if not self.total else min(1.0, self.done / self.total)


def start_recompute(wb: Workbench, *, only_missing: bool) -> bool:
    """Start measuring old images in the background; False when one is already running."""
    return metrics_service.worker_for(wb).recompute_in_background(only_missing=only_missing)


def recompute_state(wb: Workbench) -> RecomputeState:
    worker = metrics_service.worker_for(wb)
    done, total = worker.recompute_progress or (0, 0)
    last = worker.last_recompute.summary() if worker.last_recompute else None
    return RecomputeState(running=worker.recomputing, done=done, total=total, last=last)
