"""What the user can filter the log by: one validated object shared by the History page, the
Leaderboard, the command line and the store's SQL builder. Text is only ever a parameter."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

STATUSES = (
    "queued", "pending", "succeeded", "failed", "moderated", "not_sent", "cancelled", "interrupted",
)
# Measurements a filter or a sort may name: `workbench.imaging.measure.SPECS` without the perceptual
# hash (a fingerprint, not a quantity). Spelled out so that importing the filters does not load
# numpy (the command line's --help stays quick); a test keeps the two lists in step.
METRICS = (
    "warmth", "warmth_a", "colour_temp", "wb_cast", "detail", "detail_laplacian", "text_accuracy",
)
METRIC_OPS = ("<", "<=", ">", ">=")
# "<metric>_high" sorts by that measurement, highest first; "<metric>_low", lowest first.
METRIC_SORTS: dict[str, tuple[str, bool]] = {
    f"{metric}_{end}": (metric, end == "high") for metric in METRICS for end in ("high", "low")
}
# Archived generations: hidden (the default), only them, or both.
ARCHIVED = ("hide", "only", "include")
# The adherence judge's score (services.evidence.judge): any generation, only the judged, or
# only those never judged (by the judge model in use, on a question set of their own prompt).
JUDGED = ("any", "judged", "not_judged")
# "adherence_high" sorts by the judge's score, highest first; never-judged images come last.
ADHERENCE_SORTS = {"adherence_high": True, "adherence_low": False}
SORTS = (
    "newest", "oldest", "fastest", "slowest", "cheapest", "priciest", *ADHERENCE_SORTS,
    *METRIC_SORTS,
)


NUL_MESSAGE = "contains a NUL character (\\x00), which no text in the log can hold; remove it"


def _one_of(value: str, known: tuple[str, ...], what: str, separator: str = ", ") -> str:
    if value not in known:
        raise ValueError(f"unknown {what} '{value}'; use {separator.join(known)}")
    return value


class HistoryFilter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    models: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    run_id: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    text: str = Field(default="", max_length=500)
    min_rating: float | None = Field(default=None, ge=1, le=5)
    include_offline: bool = True
    sort: str = "newest"
    # One measurement condition, e.g. text_accuracy < 1.0: only images with that number match.
    metric: str | None = None
    metric_op: str = "<"
    metric_value: float | None = Field(default=None, allow_inf_nan=False)
    # Whose ratings and votes count (empty: everyone's). Generations are not filtered by it.
    raters: tuple[str, ...] = ()
    # Finals: generations refined from a parent of another model family (a Nano Banana draft
    # carried to FLUX, or the other way).
    finals: bool = False
    # One lineage: the whole tree this generation belongs to (the draft it started from and
    # everything refined from that draft).
    lineage: str | None = Field(default=None, min_length=1, max_length=64)
    # Archived generations are hidden from History, the boards and the Arena until restored.
    archived: str = "hide"
    # Generations carrying any of these tags (lower case, as stored).
    tags: tuple[str, ...] = ()
    # The adherence judge's score (a share from 0 to 1): judged or not, and bounds (a bound
    # leaves out the never judged). Whose scores: `judge_model`'s, which the service sets from
    # the settings (WORKBENCH_JUDGE_MODEL) when the filter or the sort names adherence.
    judged: str = "any"
    adherence_min: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    adherence_max: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    judge_model: str | None = Field(default=None, min_length=1, max_length=80)

    @field_validator("judged")
    @classmethod
    def _known_judged(cls, value: str) -> str:
        return _one_of(value, JUDGED, "adherence choice")

    @model_validator(mode="after")
    def _adherence_bounds(self) -> HistoryFilter:
        low, high = self.adherence_min, self.adherence_max
        if low is not None and high is not None and low > high:
            raise ValueError("the lowest adherence is above the highest")
        if self.judged == "not_judged" and (low is not None or high is not None):
            raise ValueError("an adherence bound needs judged images, not the never judged")
        return self

    @property
    def uses_adherence(self) -> bool:
        """Whether the filter or the sort reads the judge's scores."""
        return (
            self.judged != "any" or self.adherence_min is not None
            or self.adherence_max is not None or self.sort in ADHERENCE_SORTS
        )

    @field_validator("archived")
    @classmethod
    def _known_archived(cls, value: str) -> str:
        return _one_of(value, ARCHIVED, "archive choice")

    @field_validator("tags")
    @classmethod
    def _clean_tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(dict.fromkeys(" ".join(v.split()).lower() for v in value if v.strip()))
        if any(len(v) > 40 or "," in v for v in cleaned):
            raise ValueError("a tag is at most 40 characters, without commas")
        return cleaned

    @field_validator(
        "models", "providers", "templates", "statuses", "categories", "run_id", "text", "raters",
        "lineage", "judge_model", mode="before",
    )
    @classmethod
    def _no_nul(cls, value: object) -> object:
        """No stored text holds a NUL character, and PostgreSQL refuses one in a text parameter
        (DuckDB would just match nothing): refused here, on every backend, as one sentence."""
        values = value if isinstance(value, list | tuple) else (value,)
        if any(isinstance(v, str) and "\x00" in v for v in values):
            raise ValueError(NUL_MESSAGE)
        return value

    @field_validator("raters")
    @classmethod
    def _clean_raters(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(dict.fromkeys(v.strip() for v in value if v.strip()))
        if any(len(v) > 200 for v in cleaned):
            raise ValueError("a rater name is at most 200 characters")
        return cleaned

    @field_validator("text")
    @classmethod
    def _clean_text(cls, value: str) -> str:
        return " ".join(value.split())

    @field_validator("statuses")
    @classmethod
    def _known_statuses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = set(value) - set(STATUSES)
        if unknown:
            raise ValueError(f"unknown status {sorted(unknown)}; use {', '.join(STATUSES)}")
        return value

    @field_validator("sort")
    @classmethod
    def _known_sort(cls, value: str) -> str:
        return _one_of(value, SORTS, "sort")

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str | None) -> str | None:
        return None if value is None else _one_of(value, METRICS, "measurement")

    @field_validator("metric_op")
    @classmethod
    def _known_op(cls, value: str) -> str:
        return _one_of(value, METRIC_OPS, "comparison", " ")

    @model_validator(mode="after")
    def _dates_in_order(self) -> HistoryFilter:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("the start date is after the end date")
        return self

    @model_validator(mode="after")
    def _metric_complete(self) -> HistoryFilter:
        if (self.metric is None) != (self.metric_value is None):
            raise ValueError("a measurement condition needs both a measurement and a value")
        return self

    @property
    def sort_metric(self) -> tuple[str, bool] | None:
        """(metric, highest first) when the sort is by a measurement."""
        return METRIC_SORTS.get(self.sort)

    @property
    def start(self) -> datetime | None:
        return datetime.combine(self.date_from, time.min) if self.date_from else None

    @property
    def end(self) -> datetime | None:
        """Exclusive upper bound: the day after `date_to`."""
        return (
            datetime.combine(self.date_to + timedelta(days=1), time.min) if self.date_to else None
        )
