"""The verdict table in the seed article's format (Criterion | Model A | Model B …): one cell per
model and criterion from arena votes, falling back to star ratings, then the measured rows
(speed, cost); each cell carries the evidence behind it, and `VERDICT_EXPLAINED` says how labels
map to scores. Also the text formats of measured values that the tables share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from workbench.domain.criteria import SCALE_EXPLAINED
from workbench.domain.plural import count
from workbench.services.evidence.leaderboard.aggregates import Measured
from workbench.stats.bradley_terry import BT_SCALE_EXPLAINED, BTResult
from workbench.stats.ratings import MIN_RATINGS, StarSummary

NOT_ENOUGH_DATA = "not enough data"
VERDICT_EXPLAINED = (
    f"{BT_SCALE_EXPLAINED} Criteria with too few votes fall back to star ratings: "
    f"{SCALE_EXPLAINED} (at least {MIN_RATINGS} ratings). Measured rows show the log's median "
    "generation time and mean cost per succeeded image. The number beside each label is the "
    "evidence behind it (votes, ratings or images); \"not enough data\" means too little of it."
)
MEASURED_ROWS = (("speed", "Generation speed (median)"), ("cost", "Cost per image"))
# "pair": two criteria in one cell, each with its own evidence already in the label;
# "judged": the adherence judge's figure (a machine row of its own, `leaderboard.judged`).
Source = Literal["votes", "stars", "measured", "batches", "pair", "judged", "none"]
UNITS = {"votes": "votes", "stars": "ratings", "measured": "images", "batches": "batches",
         "judged": "images judged"}


@dataclass(frozen=True)
class VerdictCell:
    label: str  # Excellent / Very Good / Good / Fair, a measured value, or "not enough data"
    evidence: int  # votes, ratings, images or batches behind the label
    source: Source
    detail: str = ""

    @property
    def text(self) -> str:
        if self.source == "none":
            return NOT_ENOUGH_DATA if not self.detail else f"{NOT_ENOUGH_DATA} ({self.detail})"
        if self.source == "pair":
            return self.label
        unit = "image judged" if self.source == "judged" and self.evidence == 1 else (
            UNITS[self.source])
        return f"{self.label} ({self.evidence} {unit})"


@dataclass(frozen=True)
class VerdictTable:
    models: tuple[str, ...]
    names: tuple[str, ...]
    rows: tuple[tuple[str, tuple[VerdictCell, ...]], ...]  # (criterion label, one cell a model)
    explanation: str = VERDICT_EXPLAINED
    first_column: str = "Criterion"
    # How a row is measured, by row label, for rows whose meaning is not the criterion's own.
    definitions: Mapping[str, str] = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        """Criterion | Model A | Model B …, each cell a label with its evidence count."""
        data = [
            {self.first_column: label,
             **{n: c.text for n, c in zip(self.names, cells, strict=True)}}
            for label, cells in self.rows
        ]
        return pd.DataFrame(data, columns=[self.first_column, *self.names])

    def markdown(self) -> str:
        """The table as the seed article prints it (Markdown), definitions as notes below."""
        lines = [
            f"| {self.first_column} | " + " | ".join(self.names) + " |",
            "|---|" + "---|" * len(self.names),
        ]
        for label, cells in self.rows:
            lines.append(f"| {label} | " + " | ".join(c.text for c in cells) + " |")
        if self.definitions:
            lines.append("")
            lines.extend(f"- {label}: {text}" for label, text in self.definitions.items())
        return "\n".join(lines)


# -- cells ----------------------------------------------------------------------------------------
def criterion_cell(
    voted: Mapping[str, BTResult], stars: Mapping[tuple[str, str], StarSummary], model: str,
    criterion: str,
) -> VerdictCell:
    """Votes when the model has enough of them, else star ratings, else "not enough data"."""
    result = voted.get(criterion)
    r = result.rating(model) if result else None
    if r is not None and r.enough and r.field_win_probability is not None:
        return VerdictCell(
            r.label, r.votes, "votes",
            f"score {r.score:.0f} [{r.lower:.0f}–{r.upper:.0f}], "
            f"{r.field_win_probability:.0%} expected wins against the field",
        )
    s = stars.get((model, criterion))
    if s is not None and s.enough:
        return VerdictCell(s.label, s.n, "stars", s.text())
    votes = r.votes if r else 0
    ratings = s.n if s else 0
    return VerdictCell(NOT_ENOUGH_DATA, max(votes, ratings), "none",
                       f"{count(votes, 'vote')}, {count(ratings, 'rating')}")


def measured_cell(measured: Mapping[str, Measured], model: str, key: str) -> VerdictCell:
    m = measured.get(model)
    if m is None or not m.succeeded:
        return VerdictCell(NOT_ENOUGH_DATA, 0, "none", "no finished images")
    if key == "speed" and m.latency_median_s is not None:
        return VerdictCell(seconds_text(m.latency_median_s), m.succeeded, "measured")
    if key == "cost" and m.cost_per_image_usd is not None:
        return VerdictCell(cost_text(m), m.succeeded, "measured")
    return VerdictCell(NOT_ENOUGH_DATA, m.succeeded, "none", "not recorded")


def verdict_table(
    voted: Mapping[str, BTResult], stars: Mapping[tuple[str, str], StarSummary],
    measured: Mapping[str, Measured], models: Sequence[str], names: Mapping[str, str],
    criteria: Sequence[tuple[str, str]], measures: bool = True,
) -> VerdictTable:
    """The seed's table: one row per (criterion id, label), then the measured rows."""
    rows: list[tuple[str, tuple[VerdictCell, ...]]] = []
    for cid, label in criteria:
        rows.append((label, tuple(criterion_cell(voted, stars, m, cid) for m in models)))
    if measures:
        for key, label in MEASURED_ROWS:
            rows.append((label, tuple(measured_cell(measured, m, key) for m in models)))
    return VerdictTable(tuple(models), tuple(names.get(m, m) for m in models), tuple(rows))


# -- text formats ---------------------------------------------------------------------------------
def seconds_text(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.1f} s"


def cost_text(m: Measured) -> str:
    if m.cost_per_image_usd is None:
        return "unknown"
    return f"${m.cost_per_image_usd:.3f}" + (" (est.)" if m.cost_has_estimates else "")


def rate_text(rate_: float | None, m: Measured | None) -> str:
    return "—" if rate_ is None or m is None else f"{rate_:.0%} of {m.attempts}"
