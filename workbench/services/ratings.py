"""Star ratings: record one (append-only), read a generation's, and the first leaderboard
tables (model x criterion stars with intervals; measured speed, cost and failure rates)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from workbench.criteria import load_criteria
from workbench.filters import HistoryFilter
from workbench.ratings import StarSummary, summarise_stars
from workbench.services.workbench import Workbench


class RatingInput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    generation_id: str = Field(min_length=1)
    criterion: str
    stars: int = Field(ge=1, le=5)
    rater: str = Field(default="me", min_length=1, max_length=80)

    @field_validator("criterion")
    @classmethod
    def _known(cls, value: str) -> str:
        known = [c.id for c in load_criteria()]
        if value not in known:
            raise ValueError(f"unknown criterion '{value}'; use one of {', '.join(known)}")
        return value


def rate(wb: Workbench, rating: RatingInput) -> None:
    wb.ratings.add(rating.generation_id, rating.criterion, rating.stars, rating.rater)


@dataclass(frozen=True)
class StarCell:
    model: str
    criterion: str
    summary: StarSummary


def star_table(wb: Workbench, f: HistoryFilter) -> list[StarCell]:
    return [
        StarCell(
            row["model"],
            row["criterion"],
            summarise_stars(int(row["n"]), float(row["mean"]), row["sd"]),
        )
        for row in wb.ratings.by_model(f)
    ]


def measured_table(wb: Workbench, f: HistoryFilter) -> list[dict[str, Any]]:
    rows = []
    for row in wb.measures.by_model(f):
        attempts = int(row["attempts"])
        rows.append(
            {
                **row,
                "failure_rate": row["failed"] / attempts if attempts else None,
                "moderation_rate": row["moderated"] / attempts if attempts else None,
            }
        )
    return rows
