"""Rating criteria (data in `data/criteria.toml`) and the article's verdict scale.

Stars run 1-5. The article judges on a four-step scale; the workbench maps a mean star score
to it with fixed cut-offs that the UI states next to every label.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

CRITERIA_FILE = Path(__file__).parent / "data" / "criteria.toml"

# (lowest mean star score, label), best first
VERDICT_SCALE: tuple[tuple[float, str], ...] = (
    (4.5, "Excellent"),
    (3.75, "Very Good"),
    (3.0, "Good"),
    (1.0, "Fair"),
)
SCALE_EXPLAINED = (
    "Labels from mean stars: Excellent ≥ 4.5, Very Good ≥ 3.75, Good ≥ 3.0, Fair below 3.0."
)


class Criterion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    help: str
    metric: str | None = None


class CriteriaFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    criteria: tuple[Criterion, ...] = Field(min_length=1)


@cache
def load_criteria(path: Path = CRITERIA_FILE) -> tuple[Criterion, ...]:
    with path.open("rb") as fh:
        criteria = CriteriaFile.model_validate(tomllib.load(fh)).criteria
    ids = [c.id for c in criteria]
    if len(ids) != len(set(ids)):
        raise ValueError("duplicate criterion id")
    return criteria


def criterion(criterion_id: str) -> Criterion:
    for item in load_criteria():
        if item.id == criterion_id:
            return item
    raise KeyError(f"Unknown criterion '{criterion_id}'")


def verdict(mean_stars: float) -> str:
    for threshold, label in VERDICT_SCALE:
        if mean_stars >= threshold:
            return label
    return VERDICT_SCALE[-1][1]
