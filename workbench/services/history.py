"""The History page's data: one page of the log (paged in SQL) with thumbnails and the page's
measurements, the count, the filter choices, everything logged about one generation, and its
measurements in plain language (or why there are none yet)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workbench.domain.filters import HistoryFilter
from workbench.domain.suites import CATEGORIES
from workbench.errors import InvalidInput
from workbench.imaging import specs as m
from workbench.services.workbench import Workbench
from workbench.store.annotations import Annotation
from workbench.store.images import BadImageRef, ImageStoreError
from workbench.store.images.placeholder import placeholder_data_uri
from workbench.store.measurements import MetricLog
from workbench.store.records import Generation, GenerationListItem

if TYPE_CHECKING:  # the measuring code loads numpy: imported where a detail view needs it
    from workbench.services.evidence import measurements as metrics_service

PAGE_SIZE = 50
# Measurements shown as table columns; a metric the filter or the sort names joins them.
TABLE_METRICS = (m.WARMTH, m.DETAIL, m.TEXT_ACCURACY)


@dataclass(frozen=True)
class HistoryPage:
    rows: list[GenerationListItem]
    total: int
    page: int
    page_size: int
    thumbnails: dict[str, str | None] = field(default_factory=dict)  # id -> data URI
    measures: dict[str, dict[str, float]] = field(default_factory=dict)  # id -> {metric: value}
    annotations: dict[str, Annotation] = field(default_factory=dict)  # id -> tags, note
    # id -> the judge's adherence score (0-1), read when the filter or sort uses it (judged
    # rows only); None when it does not
    adherence: dict[str, float] | None = None

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))


def table_metrics(f: HistoryFilter) -> tuple[str, ...]:
    """The measurement columns for a page: the usual ones plus any the filter or sort names."""
    named = [f.metric, f.sort_metric[0] if f.sort_metric else None]
    return tuple(dict.fromkeys([*TABLE_METRICS, *(x for x in named if x)]))


def load_page(
    wb: Workbench,
    f: HistoryFilter,
    page: int = 1,
    page_size: int = PAGE_SIZE,
    *,
    thumbnails: bool = True,
    metrics: Sequence[str] | None = None,
) -> HistoryPage:
    """One page of the log, with each row's thumbnail (unless `thumbnails` is False) and
    `measures` ({metric: value}, current versions), read for this page's ids only."""
    f = with_judge(wb, f)
    total = wb.log.count(f)
    pages = max(1, math.ceil(total / page_size))
    page = min(max(1, page), pages)
    rows = wb.log.page(f, limit=page_size, offset=(page - 1) * page_size)
    uris = wb.images.thumbs.data_uris([r.thumb_path for r in rows]) if thumbnails else []
    thumbs = dict(zip([r.id for r in rows], uris, strict=True)) if thumbnails else {}
    wanted = table_metrics(f) if metrics is None else tuple(metrics)
    values = MetricLog(wb.db).values_for([r.id for r in rows], wanted)
    adherence = None
    if f.uses_adherence:
        from workbench.services.evidence.judge import insights

        found = insights.adherence_by_generation(wb, [r.id for r in rows], f.judge_model)
        adherence = {gid: a.score for gid, a in found.items()}
    return HistoryPage(
        rows=rows, total=total, page=page, page_size=page_size, thumbnails=thumbs,
        measures={r.id: values.get(r.id, {}) for r in rows},
        annotations=wb.annotations.for_ids([r.id for r in rows]),
        adherence=adherence,
    )


def with_judge(wb: Workbench, f: HistoryFilter) -> HistoryFilter:
    """`f` with the judge model whose adherence scores count (WORKBENCH_JUDGE_MODEL, else the
    judge's default) when it filters or sorts by adherence; ConfigError for an unusable
    setting."""
    if not f.uses_adherence or f.judge_model is not None:
        return f
    from workbench.services.evidence.judge.settings import judge_model

    return f.model_copy(update={"judge_model": judge_model(wb.settings)})


def short_id(generation_id: str) -> str:
    """The last 6 characters of an id: enough to tell twins of one run apart in a label."""
    return generation_id[-6:]


def label(row: GenerationListItem | Generation) -> str:
    """A one-line name for a generation. Two attempts of one run can share the second, model,
    status and prompt; the seed and a short id keep every label distinct (a select box that
    shows equal labels can come back with the wrong one)."""
    seed = row.seed
    return (
        f"{row.created_at:%Y-%m-%d %H:%M:%S} · {row.model} · "
        f"seed {'–' if seed is None else seed} · {row.status} · {row.prompt[:50]} · "
        f"#{short_id(row.id)}"
    )


def failure_text(record: Generation) -> str:
    """Why an attempt has no image, in one line: "failed: timeout — no answer in 60 s". The
    error kind is left out when it only repeats the status ("moderated: moderated — …")."""
    status = record.status
    kind = record.error_kind
    head = f"{status}: {kind}" if kind and kind != status else status
    return f"{head} — {record.error_message or 'no details'}"


def choices(wb: Workbench) -> dict[str, list[str]]:
    return wb.log.choices()


def find(wb: Workbench, generation_id: str) -> Generation | None:
    return wb.log.get(generation_id)


RUN_CHOICES = 200


def run_choices(wb: Workbench) -> dict[str, str]:
    """The newest runs for History's run filter: id -> "name · kind · started"."""
    return {
        run_id: f"{name or run_id} · {kind} · {started:%Y-%m-%d %H:%M} · {run_id}"
        for run_id, kind, name, started in wb.runs.labels(RUN_CHOICES)
    }


def known_values(wb: Workbench) -> dict[str, list[str]]:
    """What a filter may name, per field: everything the catalog, the templates and the suites
    know, plus whatever the log holds (a model since retired still filters its old rows)."""
    logged = choices(wb)
    known = {
        "models": [m.id for m in wb.catalog.models],
        "providers": sorted({o.provider for m in wb.catalog.models for o in m.offers}),
        "templates": list(wb.templates.ids),
        "categories": list(CATEGORIES),
    }
    return {
        name: sorted(set(values) | set(logged.get(name, [])))
        for name, values in known.items()
    }


# (field of HistoryFilter, the word for one value, the command line flag)
FILTER_FIELDS = (
    ("models", "model", "--model"),
    ("providers", "provider", "--provider"),
    ("templates", "template", "--template"),
    ("categories", "category", "--category"),
)


def unknown_values(wb: Workbench, f: HistoryFilter) -> list[str]:
    """One sentence per filter value nothing could match, naming the valid choices (a
    misspelt model would otherwise quietly match nothing)."""
    known = known_values(wb)
    problems = []
    for name, word, flag in FILTER_FIELDS:
        wrong = [v for v in getattr(f, name) if v not in known[name]]
        if wrong:
            problems.append(
                f"unknown {word} {', '.join(repr(v) for v in wrong)} for {flag}; "
                f"use one of: {', '.join(known[name]) or '(none yet)'}"
            )
    if f.run_id and wb.runs.get(f.run_id) is None:
        recent = [r.id for r in wb.runs.recent(5)]
        problems.append(
            f"unknown run {f.run_id!r} for --run; recent runs: {', '.join(recent) or '(none)'}"
        )
    return problems


@dataclass(frozen=True)
class Detail:
    """Everything logged about one generation, its image file's absolute path (None without
    an image), the user's latest stars per criterion, and its tags, note and archive state."""

    record: Generation
    image_file: str | None
    ratings: dict[str, int]
    annotation: Annotation = field(default_factory=Annotation)
    # why a logged image cannot be shown (missing from the store, refused reference), with a
    # placeholder picture that says so; None when it can be (or there is none)
    image_problem: str | None = None
    placeholder: str | None = None


def detail(wb: Workbench, generation_id: str) -> Detail | None:
    record = wb.log.get(generation_id)
    if record is None:
        return None
    image_file = problem = None
    if record.image_path:
        try:
            path = wb.images.absolute(record.image_path)
        except BadImageRef:
            path = None
        if path is not None and path.is_file():
            image_file = str(path)
        else:
            problem = wb.images.problem(record.image_path) or "the image file is missing"
    return Detail(
        record, image_file, wb.ratings.latest_for(generation_id, wb.settings.user),
        wb.annotations.get(generation_id), problem,
        placeholder_data_uri(problem) if problem else None,
    )


# -- what people add to a generation, and taking it away -------------------------------------------
class AnnotationRefused(InvalidInput):
    """Tags, a note or a deletion that cannot be accepted; the message says why."""


def annotate(wb: Workbench, generation_id: str, tags: Sequence[str], note: str) -> None:
    """Set a generation's tags and note (what the detail view's fields hold)."""
    try:
        wb.annotations.set_tags(generation_id, tags, wb.settings.user)
        wb.annotations.set_note(generation_id, note, wb.settings.user)
    except ValueError as exc:
        raise AnnotationRefused(f"Not saved: {exc}.") from None


def archive(wb: Workbench, generation_id: str) -> None:
    """Hide a generation from History, the boards and the Arena (restored with `restore`)."""
    wb.annotations.archive(generation_id, wb.settings.user)


def restore(wb: Workbench, generation_id: str) -> None:
    wb.annotations.restore(generation_id, wb.settings.user)


def tags(wb: Workbench) -> list[str]:
    return wb.annotations.all_tags()


@dataclass(frozen=True)
class Deletion:
    """What "Delete for good" did: whether the image files went (False when another
    generation shows the same image), and why they could not (the rows are gone by then)."""

    files_removed: bool
    problem: str | None = None


def delete_for_good(wb: Workbench, generation_id: str) -> Deletion:
    """Delete a generation, its ratings, measurements and annotation, and its image files when
    no other generation shows the same image. Votes and the spending ledger keep what they
    recorded."""
    try:
        files = wb.annotations.delete_for_good(generation_id)
    except ValueError as exc:
        raise AnnotationRefused(f"Not deleted: {exc}.") from None
    if files is None:
        return Deletion(False)
    try:  # the image and its thumbnail, wherever the store keeps them, unless still shown
        return Deletion(wb.images.delete(files[0], wb.attempts.image_in_use))
    except BadImageRef:  # not a reference the image store writes (a row could say "../../x")
        return Deletion(False)
    except ImageStoreError as exc:  # the bucket refused or is away: say so, the rows are gone
        return Deletion(False, f"Its image file is still in the image store: {exc}")


def remix(record: Generation) -> dict[str, Any]:
    """What the builder needs to reopen a logged prompt: model, template, slots or text, params."""
    slots = record.slots or None
    return {
        "model": record.model,
        "provider": record.provider,
        "template_id": record.template_id or "free-text",
        "slots": slots,
        "prompt": record.prompt_written or record.prompt,
        "aspect_ratio": record.aspect_ratio,
        "size": record.size,
        # the seed asked for, else the one the provider reports having used: "reuse this seed"
        "seed": record.seed if record.seed is not None else record.seed_returned,
    }


# -- measurements of one generation ----------------------------------------------------------------

FAST_IN_WORDS = "warmth, detail and the near-duplicate hash"
_ADDRESS = re.compile(r" <[\w.]+ object at 0x[0-9a-f]+>")


@dataclass(frozen=True)
class MeasurementLine:
    kind: str  # "reading" | "error" (could not be measured) | "skipped" (e.g. OCR missing)
    text: str


@dataclass(frozen=True)
class MeasurementView:
    lines: list[MeasurementLine] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # what is not measured yet, in words
    busy: int = 0  # jobs the background worker still holds (0 when idle or not asked)

    @property
    def pending(self) -> bool:
        """Something is missing and the worker is on it: worth looking again shortly."""
        return bool(self.waiting) and self.busy > 0


def _lines(readings: list[metrics_service.Reading]) -> list[MeasurementLine]:
    """One line per reading; failures with the same reason become one line naming every
    measure they hit (a corrupt file fails them all the same way)."""
    lines: list[MeasurementLine] = []
    failed: dict[tuple[str, str], list[str]] = {}
    for reading in readings:
        if reading.status == "ok":
            lines.append(MeasurementLine("reading", reading.sentence))
            continue
        # the sentence is "<label>: <what happened> — <why>"; the part after the label is shared
        # (once Pillow's "<_io.BytesIO object at 0x…>", which differs per read, is dropped)
        rest = _ADDRESS.sub("", reading.sentence.removeprefix(f"{reading.label}: "))
        failed.setdefault((reading.status, rest), []).append(reading.label)
    kinds = {"error": "error", "skipped": "skipped"}
    for (status, rest), labels in failed.items():
        lines.append(MeasurementLine(kinds.get(status, "error"), f"{', '.join(labels)}: {rest}"))
    return lines


def measurements(wb: Workbench, record: Generation) -> MeasurementView | None:
    """Each measurement of a generation in plain language, failures as such, and what is not
    measured yet; None when there is no image to measure."""
    if record.status != "succeeded" or not record.image_path:
        return None
    # numpy, only for the detail
    from workbench.services.evidence import measurements as metrics_service

    readings = metrics_service.readings(wb, record.id)
    have = {r.metric for r in readings}
    waiting = []
    missing_fast = [x for x in m.FAST_METRICS if x not in have]
    if len(missing_fast) == len(m.FAST_METRICS):
        waiting.append(FAST_IN_WORDS)
    elif missing_fast:
        waiting.extend(m.SPECS[x].label for x in missing_fast)
    expected = metrics_service.expected_for(record)
    if expected and m.TEXT_ACCURACY not in have:
        waiting.append("text accuracy (asked " + ", ".join(expected) + ")")
    busy = metrics_service.worker_for(wb).pending if waiting else 0
    return MeasurementView(lines=_lines(readings), waiting=waiting, busy=busy)


def measure_in_background(wb: Workbench, generation_id: str) -> bool:
    """Queue one generation's measurements; False when the queue is full."""
    from workbench.services.evidence import measurements as metrics_service

    return metrics_service.worker_for(wb).submit(generation_id)
