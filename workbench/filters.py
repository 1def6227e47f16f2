"""What the user can filter the log by: one validated object shared by the History page, the
Leaderboard, the command line and the store's SQL builder. Text is only ever a parameter."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

STATUSES = ("queued", "pending", "succeeded", "failed", "moderated", "cancelled", "interrupted")
SORTS = ("newest", "oldest", "fastest", "slowest", "cheapest", "priciest")


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
        if value not in SORTS:
            raise ValueError(f"unknown sort '{value}'; use {', '.join(SORTS)}")
        return value

    @model_validator(mode="after")
    def _dates_in_order(self) -> HistoryFilter:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("the start date is after the end date")
        return self

    @property
    def start(self) -> datetime | None:
        return datetime.combine(self.date_from, time.min) if self.date_from else None

    @property
    def end(self) -> datetime | None:
        """Exclusive upper bound: the day after `date_to`."""
        return (
            datetime.combine(self.date_to + timedelta(days=1), time.min) if self.date_to else None
        )
