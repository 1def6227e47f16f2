"""Typed records for the rows the store's reads return most (generations, run cells, runs,
votes, star aggregates, the prompt library), and the one helper that builds them from a cursor.

A record names each column it carries as a field of the column's Python type; JSON text
columns (`slots`, `params`, `spec`, `tags`) are decoded once, here. `records`/`first_record`
map a cursor's column names onto fields, so a selected column a record lacks fails loudly
(TypeError) rather than vanish. Reads of a whole generation select the record's own columns
(`select_list`), so the log's derived measurement columns stay out. A new column is one field
here: tests/test_records.py compares the fields with each table on both backends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Protocol, TypeVar


class _Record(Protocol):
    JSON: ClassVar[frozenset[str]]

    def __init__(self, **values: Any) -> None: ...


R = TypeVar("R", bound=_Record)


def _decoded(value: Any) -> Any:
    # DuckDB's JSON and PostgreSQL's TEXT columns both arrive as text.
    return json.loads(value) if isinstance(value, str) else value


def _build(cls: type[R], names: list[str], row: tuple[Any, ...]) -> R:
    values = dict(zip(names, row, strict=True))
    for name in cls.JSON.intersection(values):
        values[name] = _decoded(values[name])
    return cls(**values)


def records(cls: type[R], cursor: Any) -> list[R]:
    """Every row of an executed statement as a `cls` (column names are the field names)."""
    names = [d[0] for d in cursor.description]
    return [_build(cls, names, row) for row in cursor.fetchall()]


def first_record(cls: type[R], cursor: Any) -> R | None:
    """The first row of an executed statement as a `cls`; None when there is none."""
    row = cursor.fetchone()
    if row is None:
        return None
    return _build(cls, [d[0] for d in cursor.description], row)


def columns_of(cls: type[Any]) -> tuple[str, ...]:
    """The table columns a record carries: its fields, less the ones it names `EXTRA`."""
    extra = getattr(cls, "EXTRA", ())
    return tuple(f.name for f in fields(cls) if f.name not in extra)


def select_list(cls: type[Any], alias: str) -> str:
    """`alias.column, ...` for every table column of the record (a SELECT's list)."""
    return ", ".join(f"{alias}.{name}" for name in columns_of(cls))


@dataclass(frozen=True, slots=True, kw_only=True)
class Generation:
    """A generations row (every column, in table order) with its image's file, type and size.
    `rating` (the mean of the latest stars) is filled on rows read as a page, None from `get`."""

    JSON: ClassVar[frozenset[str]] = frozenset({"slots", "params"})
    # the fields that are not columns of `generations`
    EXTRA: ClassVar[tuple[str, ...]] = ("image_path", "thumb_path", "mime", "image_bytes", "rating")

    id: str
    run_id: str | None
    cell: str | None
    created_at: datetime
    finished_at: datetime | None
    status: str
    model: str
    provider: str
    provider_model_id: str | None
    provider_request_id: str | None
    template_id: str | None
    slots: dict[str, str] | None
    prompt_written: str | None
    prompt: str
    params: dict[str, Any] | None
    aspect_ratio: str | None
    size: str | None
    seed: int | None
    seed_returned: int | None
    width: int | None
    height: int | None
    latency_ms: float | None
    queue_ms: float | None
    cost_usd: float | None
    cost_kind: str | None
    error_kind: str | None
    error_message: str | None
    image_sha256: str | None
    category: str | None
    worker_pid: int | None
    submitted_at: datetime | None
    request_hash: str | None
    cached_from: str | None
    prompt_key: str | None
    expected_text: str | None
    retries: int | None
    retry_wait_s: float | None
    resume_url: str | None
    library_version_id: str | None
    parent_id: str | None
    created_by: str | None
    worker_host: str | None
    resend_of: str | None  # the attempt this one sends again (migration 0017)
    prompt_used: str | None  # the provider's rewrite of `prompt`, when it reported one
    image_path: str | None
    thumb_path: str | None
    mime: str | None
    image_bytes: int | None
    rating: float | Decimal | None = None  # avg(): a Decimal on PostgreSQL
    # hidden from History, the boards and the Arena (migration 0023: kept beside its annotation)
    archived: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerationListItem:
    """A generation as the History list shows it: the columns a page of the log needs, its
    thumbnail and image files, and the mean of its latest stars."""

    JSON: ClassVar[frozenset[str]] = frozenset()

    id: str
    created_at: datetime
    status: str
    model: str
    provider: str
    template_id: str | None
    prompt: str
    aspect_ratio: str | None
    size: str | None
    seed: int | None
    seed_returned: int | None
    latency_ms: float | None
    cost_usd: float | None
    cost_kind: str | None
    error_kind: str | None
    error_message: str | None
    image_sha256: str | None
    width: int | None
    height: int | None
    category: str | None
    run_id: str | None
    parent_id: str | None
    created_by: str | None
    thumb_path: str | None
    image_path: str | None
    rating: float | Decimal | None  # avg(): a Decimal on PostgreSQL


@dataclass(frozen=True, slots=True, kw_only=True)
class RunCell:
    """One attempt of a run, as its grid shows it."""

    JSON: ClassVar[frozenset[str]] = frozenset()

    id: str
    cell: str | None
    status: str
    submitted_at: datetime | None
    cost_usd: float | None
    cost_kind: str | None
    latency_ms: float | None
    error_kind: str | None
    error_message: str | None
    image_path: str | None
    thumb_path: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ResumableAttempt:
    """An interrupted attempt a provider had accepted: enough to ask it for the result."""

    JSON: ClassVar[frozenset[str]] = frozenset()

    id: str
    run_id: str | None
    cell: str | None
    model: str
    provider: str
    provider_model_id: str | None
    provider_request_id: str
    resume_url: str
    aspect_ratio: str | None
    size: str | None
    seed: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CachedImage:
    """The newest succeeded attempt of an identical request, with its stored image."""

    JSON: ClassVar[frozenset[str]] = frozenset()

    id: str
    image_sha256: str
    seed_returned: int | None
    path: str
    thumb_path: str
    mime: str
    bytes: int
    width: int
    height: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """A runs row (every column, in table order), its spec decoded."""

    JSON: ClassVar[frozenset[str]] = frozenset({"spec"})

    id: str
    kind: str
    name: str | None
    spec: dict[str, Any] | None
    budget_usd: float | None
    status: str
    created_at: datetime
    finished_at: datetime | None
    worker_pid: int | None
    spent_usd: float | None
    worker_host: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSummary:
    """A run as the recent-runs list shows it, with its number of attempts."""

    JSON: ClassVar[frozenset[str]] = frozenset()

    id: str
    kind: str
    name: str | None
    status: str
    created_at: datetime
    finished_at: datetime | None
    budget_usd: float | None
    spent_usd: float | None
    attempts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ArenaCandidate:
    """A succeeded generation the arena may show, with its image files."""

    JSON: ClassVar[frozenset[str]] = frozenset()

    id: str
    model: str
    provider: str
    prompt: str
    category: str | None
    template_id: str | None
    width: int | None
    height: int | None
    image_path: str
    thumb_path: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class LibraryVersion:
    """A library_versions row (every column, in table order), its slots and params decoded."""

    JSON: ClassVar[frozenset[str]] = frozenset({"slots", "params"})

    id: str
    name: str
    version: int
    created_at: datetime
    model: str
    provider: str | None
    template_id: str | None
    slots: dict[str, str] | None
    params: dict[str, Any]
    prompt: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LibraryHead:
    """A name in the library as its list shows it: the newest version (`id` is its id), the
    name's marks, and `total`, the number of names the search matched."""

    JSON: ClassVar[frozenset[str]] = frozenset({"tags"})

    id: str
    name: str
    version: int
    versions: int
    saved_at: datetime
    model: str
    prompt: str
    tags: list[str]
    note: str
    favourite: bool
    total: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LibraryGeneration:
    """A generation made from a library version, as the version's page lists it."""

    JSON: ClassVar[frozenset[str]] = frozenset()

    id: str
    created_at: datetime
    status: str
    model: str
    provider: str
    cost_usd: float | None
    latency_ms: float | None
    thumb_path: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Vote:
    """A votes row (every column, in table order)."""

    JSON: ClassVar[frozenset[str]] = frozenset()

    id: int
    created_at: datetime
    left_generation_id: str | None
    right_generation_id: str | None
    left_model: str
    right_model: str
    left_provider: str | None
    right_provider: str | None
    criterion: str
    category: str | None
    template_id: str | None
    prompt: str | None
    winner: str
    swapped: bool
    rater: str
    is_repeat: bool
    repeat_of: int | None
    source: str
    fingerprint: str
    undone: bool = False  # a copy of whether `vote_undos` names it (migration 0023)


@dataclass(frozen=True, slots=True, kw_only=True)
class StarsByModel:
    """The latest stars of one model on one criterion: how many, their mean and sample
    standard deviation (None below two ratings; avg and stddev are Decimal on PostgreSQL)."""

    JSON: ClassVar[frozenset[str]] = frozenset()

    model: str
    criterion: str
    n: int
    mean: float | Decimal
    sd: float | Decimal | None


@dataclass(frozen=True, slots=True, kw_only=True)
class OfferPerformance:
    """One model on one provider (an offer) from the log's finished attempts: counts by
    outcome, the successes' latency median and 95th percentile (ms; None untimed) and their
    mean cost (Decimal on PostgreSQL)."""

    JSON: ClassVar[frozenset[str]] = frozenset()

    model: str
    provider: str
    attempts: int
    succeeded: int
    failed: int
    moderated: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    timed: int
    cost_per_image_usd: float | Decimal | None
    cost_has_estimates: bool | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DatabaseSession:
    """A session connected to the team database: its application, user, client address,
    when it connected and what it is doing."""

    JSON: ClassVar[frozenset[str]] = frozenset()

    application_name: str | None
    user_name: str | None
    client: str | None
    backend_start: datetime | None
    state: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricReading:
    """One image's current measurement of one metric: its status (ok, error, skipped), value,
    the metric's own detail (decoded JSON; {} when none) and error."""

    JSON: ClassVar[frozenset[str]] = frozenset({"detail"})

    metric: str
    version: int
    status: str
    value: float | None
    detail: dict[str, Any]
    error: str | None
    computed_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricStatusCount:
    """How many images have one status for one metric at one version."""

    JSON: ClassVar[frozenset[str]] = frozenset()

    metric: str
    version: int
    status: str
    n: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MeasuredTally:
    """How many generations of one kind (measurable, archived, without an image) are offline
    sketches or not, with one status of their fast measures and one of their text accuracy
    (None: not measured)."""

    JSON: ClassVar[frozenset[str]] = frozenset()

    kind: str
    offline: bool
    fast: str | None
    text: str | None
    n: int


@dataclass(frozen=True, slots=True, kw_only=True)
class NearDuplicate:
    """Two images of one model and prompt whose perceptual hashes are `distance` bits apart
    although their seeds differ (or are unknown)."""

    JSON: ClassVar[frozenset[str]] = frozenset()

    generation_a: str
    generation_b: str
    model: str
    prompt: str
    seed_a: int | None
    seed_b: int | None
    distance: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RatingPoint:
    """One rated and measured image: the metric's value and the mean of its raters' latest
    stars for one criterion."""

    JSON: ClassVar[frozenset[str]] = frozenset()

    generation_id: str
    model: str
    prompt: str
    value: float
    stars: float | Decimal
    raters: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TextAccuracy:
    """One model's text-in-image accuracy over the images that asked for text: mean, sample
    standard deviation, 95% t-interval clipped to 0..1 (None below two images) and the share
    spelled exactly right."""

    JSON: ClassVar[frozenset[str]] = frozenset()

    model: str
    images: int
    mean: float | None
    sd: float | None
    exact_share: float | Decimal | None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PairedMetric:
    """One model's (and category's: '' when not split) images on one metric: their mean and
    median, and the mean paired difference against the other models' images of the same
    prompts, with its 95% t-interval (None below two prompts)."""

    JSON: ClassVar[frozenset[str]] = frozenset()

    category: str
    model: str
    images: int
    mean: float | None
    median: float | None
    prompts: int
    mean_diff: float | None
    sd_diff: float | None
    metric: str = ""
    version: int = 0
    diff_low: float | None = None
    diff_high: float | None = None
