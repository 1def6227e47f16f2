"""Star ratings and the user's own votes: validate and record a rating or clear it
(append-only; the newest row per criterion and rater counts, and a cleared one counts as no
rating), list the votes that show a generation, and undo a vote. The rater is the workbench's
user (`Settings.user`: in the app, the session's) unless the input names one."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from workbench.domain.criteria import load_criteria
from workbench.services.workbench import Workbench
from workbench.store.records import Vote


class RatingInput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    generation_id: str = Field(min_length=1)
    criterion: str
    stars: int | None = Field(ge=1, le=5)  # None clears the rating
    rater: str | None = Field(default=None, min_length=1, max_length=80)  # None: Settings.user

    @field_validator("criterion")
    @classmethod
    def _known(cls, value: str) -> str:
        known = [c.id for c in load_criteria()]
        if value not in known:
            raise ValueError(f"unknown criterion '{value}'; use one of {', '.join(known)}")
        return value


def rate(wb: Workbench, rating: RatingInput) -> bool:
    """Record a rating action; False when it changes nothing (the same stars again, or
    clearing a criterion that has none), and then nothing is written."""
    rater = rating.rater or wb.settings.user
    return wb.ratings.change(rating.generation_id, rating.criterion, rating.stars, rater)


def votes_for(wb: Workbench, generation_id: str) -> list[Vote]:
    """The votes that count and show this generation, newest first."""
    return wb.votes.for_generation(generation_id)


def undo_vote(wb: Workbench, vote_id: int) -> bool:
    """Undo one of the user's own votes: it stops counting everywhere (the Leaderboard, rater
    consistency, the Library's win rates). False when it is not theirs or already undone."""
    return wb.votes.undo(vote_id, wb.settings.user)
