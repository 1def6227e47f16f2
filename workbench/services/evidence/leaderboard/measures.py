"""The Leaderboard's automatic-measure columns: each model's warmth, white-balance cast, detail
and text accuracy set against the other models on the same prompts, one text cell per
contestant. Offline sketches are measured apart (`split_offline`) and tagged, so a sketch never
pairs with or counts as its model."""

from __future__ import annotations

from workbench.domain.filters import HistoryFilter
from workbench.domain.plural import count
from workbench.imaging import measure as m
from workbench.services.evidence import measurements as metrics_service
from workbench.services.evidence.leaderboard.aggregates import split_offline
from workbench.services.workbench import Workbench
from workbench.store.records import TextAccuracy
from workbench.store.votes import OFFLINE_TAG

PAIRED_METRICS = (m.WARMTH, m.WB_CAST, m.DETAIL, m.TEXT_ACCURACY)
TEXT_CATEGORY = "text"
TEXT_ACCURACY_COLUMN = "Text accuracy (text prompts)"


def accuracy_text(row: TextAccuracy) -> str | None:
    """"92% [85%–97%] · 40% exact · 12 images", or None without a mean."""
    mean = row.mean
    if mean is None or mean != mean:  # None or NaN
        return None
    images = int(row.images)
    exact = row.exact_share
    exact_text = "" if exact is None or exact != exact else f" · {exact:.0%} exact"
    if row.low is None or row.high is None:
        return f"{mean:.0%}{exact_text} · {count(images, 'image')}"
    return f"{mean:.0%} [{row.low:.0%}–{row.high:.0%}]{exact_text} · {count(images, 'image')}"


def metric_columns(wb: Workbench, f: HistoryFilter) -> dict[str, dict[str, str]]:
    """Column title -> {contestant: cell text} for the automatic image measures."""
    columns: dict[str, dict[str, str]] = {}
    wants_text = not f.categories or TEXT_CATEGORY in f.categories
    real, sketches = split_offline(f)
    parts = [(real, "")] + ([(sketches, OFFLINE_TAG)] if sketches is not None else [])
    for part, tag in parts:
        for row in metrics_service.paired_columns(wb, part, PAIRED_METRICS):
            columns.setdefault(f"{row['label']} vs others", {})[row["model"] + tag] = row["text"]
        if wants_text:
            text_f = part.model_copy(update={"categories": (TEXT_CATEGORY,)})
            for accuracy in metrics_service.text_accuracy(wb, text_f):
                text = accuracy_text(accuracy)
                if text is not None:
                    columns.setdefault(TEXT_ACCURACY_COLUMN, {})[accuracy.model + tag] = text
    return columns
