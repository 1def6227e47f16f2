"""Star ratings: validate and record one (append-only; the newest per criterion and rater
counts). The rater is the workbench's user (`Settings.user`: in the app, the session's) unless
the input names one."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from workbench.domain.criteria import load_criteria
from workbench.services.workbench import Workbench


class RatingInput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    generation_id: str = Field(min_length=1)
    criterion: str
    stars: int = Field(ge=1, le=5)
    rater: str | None = Field(default=None, min_length=1, max_length=80)  # None: Settings.user

    @field_validator("criterion")
    @classmethod
    def _known(cls, value: str) -> str:
        known = [c.id for c in load_criteria()]
        if value not in known:
            raise ValueError(f"unknown criterion '{value}'; use one of {', '.join(known)}")
        return value


def rate(wb: Workbench, rating: RatingInput) -> None:
    rater = rating.rater or wb.settings.user
    wb.ratings.add(rating.generation_id, rating.criterion, rating.stars, rater)
