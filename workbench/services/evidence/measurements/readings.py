"""Reading the measurements back for the pages: a plain-language reading per generation,
paired leaderboard columns, text accuracy per model, near-duplicates, and agreement with human
ratings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from workbench.domain.criteria import load_criteria
from workbench.domain.filters import HistoryFilter
from workbench.domain.plural import count
from workbench.imaging import measure as m
from workbench.services.evidence.measurements.measuring import metric_comparisons, metric_log
from workbench.services.workbench import Workbench
from workbench.store.metric_comparisons import MetricComparisons
from workbench.store.records import NearDuplicate, RatingPoint, TextAccuracy

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
        if row.status != "ok":
            verb = "skipped" if row.status == "skipped" else "could not be measured"
            out.append(Reading(metric, spec.label, row.status, None,
                               f"{spec.label}: {verb} — {row.error}"))
            continue
        if metric == m.PHASH:
            out.append(Reading(metric, spec.label, "ok", None,
                               _duplicate_sentence(metric_comparisons(wb), generation_id)))
        elif metric == m.TEXT_ACCURACY:
            summary = row.detail.get("summary", "")
            out.append(Reading(metric, spec.label, "ok", row.value,
                               f"{spec.label}: {row.value:.0%} — {summary}."))
        elif row.value is not None:
            peers = peer_values.get(metric, [])
            out.append(Reading(metric, spec.label, "ok", row.value,
                               m.describe(metric, row.value, peers, "this prompt's images")))
    return out


def _duplicate_sentence(store: MetricComparisons, generation_id: str) -> str:
    pairs = store.near_duplicates(generation_id=generation_id)
    if not pairs:
        return ("Perceptual hash: no near-duplicate among this model's other images of the "
                "prompt.")
    others = [
        f"{p.generation_b if p.generation_a == generation_id else p.generation_a}"
        f" ({count(p.distance, 'bit')} apart)"
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
    store = metric_comparisons(wb)
    rows: list[dict[str, Any]] = []
    for metric in metrics:
        for paired in store.paired_by_model(f, metric, by_category=by_category):
            row = asdict(paired)
            if not by_category:
                del row["category"]
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
            f"{count(row['prompts'], 'prompt')}")


def text_accuracy(wb: Workbench, f: HistoryFilter | None = None) -> list[TextAccuracy]:
    """Text-in-image accuracy per model (cut to the text category by passing
    `HistoryFilter(categories=(...,))`)."""
    return metric_comparisons(wb).text_accuracy_by_model(f)


def near_duplicates(wb: Workbench, f: HistoryFilter | None = None) -> list[NearDuplicate]:
    return metric_comparisons(wb).near_duplicates(f)


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
    points: list[RatingPoint]


def _trust(rho: float | None, interval: tuple[float, float] | None, n: int) -> str:
    if rho is None:
        return f"not enough data: {count(n, 'image')} both rated and measured (3 or more needed)"
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
    store = metric_comparisons(wb)
    out: list[Correlation] = []
    for crit in load_criteria():
        if not crit.metric or crit.metric not in m.SPECS:
            continue
        points = store.rating_pairs(f, crit.metric, crit.id)
        xs = [float(p.value) for p in points]
        ys = [float(p.stars) for p in points]
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
