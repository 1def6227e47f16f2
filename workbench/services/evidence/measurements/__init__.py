"""Image measurements as a service, one import for callers. Each subject has its module:

- `measuring`: measure one stored image now, recompute old images, the text an image should
  show, how much of the log is measured, whether OCR can run here;
- `worker`: the background worker each opened `Workbench` holds (new images are measured after
  their generation) and the recompute job the Measurements page starts and follows;
- `readings`: the numbers read back for the pages (a plain-language reading per generation,
  paired leaderboard columns, text accuracy, near-duplicates, agreement with human ratings).

The pixel maths is `workbench.imaging`; the rows are `workbench.store.measurements`.
"""

from __future__ import annotations

from workbench.services.evidence.measurements.measuring import (
    EXPECTED_TEXT_KEY,
    MEASURING,
    OCR_PACKAGES,
    READING_TEXT,
    Coverage,
    Progress,
    RecomputeReport,
    coverage,
    expected_for,
    measure_generation,
    metric_log,
    ocr_note,
    recompute,
)
from workbench.services.evidence.measurements.readings import (
    READING_ORDER,
    Correlation,
    Reading,
    correlations,
    near_duplicates,
    paired_columns,
    paired_text,
    readings,
    text_accuracy,
)
from workbench.services.evidence.measurements.worker import (
    MetricsWorker,
    RecomputeState,
    WorkerStats,
    recompute_state,
    start_recompute,
    worker_for,
)

__all__ = [
    "EXPECTED_TEXT_KEY", "MEASURING", "OCR_PACKAGES", "READING_ORDER", "READING_TEXT",
    "Correlation", "Coverage",
    "MetricsWorker", "Progress", "Reading", "RecomputeReport", "RecomputeState", "WorkerStats",
    "correlations", "coverage", "expected_for", "measure_generation", "metric_log",
    "near_duplicates", "ocr_note", "paired_columns", "paired_text", "readings",
    "recompute", "recompute_state", "start_recompute", "text_accuracy", "worker_for",
]
