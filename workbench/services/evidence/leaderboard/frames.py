"""The leaderboard as DataFrames for the page, charts and exports: Bradley–Terry tables, star
summaries, measured columns, the overview (as text and as numbers), score against cost or speed
with the Pareto frontier, and pairwise win rates and vote counts for heatmaps.

No score shown is NaN: a missing value is None (<NA>) in numeric frames and a word in text ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

import pandas as pd

from workbench.domain.criteria import Criterion
from workbench.services.evidence.leaderboard.aggregates import Measured
from workbench.services.evidence.leaderboard.verdict import cost_text, rate_text, seconds_text
from workbench.stats.bradley_terry import BTResult, PairCounts, pairwise
from workbench.stats.ratings import StarSummary


class Leaderboard(Protocol):
    """What the frames read of a board (`board.Leaderboard` has it): a protocol, so that the
    board, which draws its frames here, is not imported back."""

    @property
    def criteria(self) -> tuple[Criterion, ...]: ...
    @property
    def counts(self) -> dict[str, PairCounts]: ...
    @property
    def voted(self) -> dict[str, BTResult]: ...
    @property
    def stars(self) -> dict[tuple[str, str], StarSummary]: ...
    @property
    def measured(self) -> dict[str, Measured]: ...
    @property
    def names(self) -> dict[str, str]: ...
    @property
    def models(self) -> tuple[str, ...]: ...


def bt_frame(result: BTResult, names: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per model: rank, score, interval, votes, label. Scores of models without
    enough votes are left empty (their status says why)."""
    names = names or {}
    rows = []
    for r in result.ratings:
        shown = r.enough and r.score is not None
        rows.append(
            {
                "model": r.model,
                "name": names.get(r.model, r.model),
                "rank_ub": r.rank_ub,
                "score": _rounded(r.score) if shown else None,
                "lower": _rounded(r.lower) if shown else None,
                "upper": _rounded(r.upper) if shown else None,
                "votes": r.votes,
                "wins": r.wins,
                "losses": r.losses,
                "draws": r.draws,
                "win_vs_field": r.field_win_probability if shown else None,
                "label": r.label,
            }
        )
    frame = pd.DataFrame(rows, columns=[
        "model", "name", "rank_ub", "score", "lower", "upper", "votes", "wins", "losses",
        "draws", "win_vs_field", "label",
    ])
    for column in ("rank_ub", "score", "lower", "upper"):
        frame[column] = frame[column].astype("Int64")
    frame["win_vs_field"] = frame["win_vs_field"].astype("Float64")
    return frame


def _rounded(value: float | None) -> int | None:
    # score, lower and upper are set together (None only without votes)
    return None if value is None else round(value)


def bt_text(result: BTResult, model: str) -> str:
    r = result.rating(model)
    if r is None or r.votes == 0:
        return "—"
    if not r.enough:
        return f"not enough votes ({r.votes})"
    return f"{r.score:.0f} [{r.lower:.0f}–{r.upper:.0f}] #{r.rank_ub} · {r.label}"


def pareto_front(points: Sequence[tuple[float, float]]) -> list[bool]:
    """For (cost, score) points: True where no other point is at least as cheap and at least as
    good while strictly better in one of the two."""
    flags = []
    for i, (x, y) in enumerate(points):
        dominated = any(
            xj <= x and yj >= y and (xj < x or yj > y)
            for j, (xj, yj) in enumerate(points) if j != i
        )
        flags.append(not dominated)
    return flags


def stars_frame(board: Leaderboard) -> pd.DataFrame:
    rows = [
        {
            "model": model, "name": board.names.get(model, model), "criterion": criterion,
            "mean": s.mean, "lower": s.low, "upper": s.high, "n": s.n, "label": s.label,
        }
        for (model, criterion), s in sorted(board.stars.items())
    ]
    return pd.DataFrame(rows, columns=["model", "name", "criterion", "mean", "lower",
                                       "upper", "n", "label"])


def measured_frame(board: Leaderboard) -> pd.DataFrame:
    rows = [
        {
            "model": m.model, "name": board.names.get(m.model, m.model),
            "attempts": m.attempts, "succeeded": m.succeeded,
            "latency_median_s": m.latency_median_s, "latency_p95_s": m.latency_p95_s,
            "cost_per_image_usd": m.cost_per_image_usd,
            "cost_has_estimates": m.cost_has_estimates, "failure_rate": m.failure_rate,
            "moderation_rate": m.moderation_rate,
        }
        for m in sorted(board.measured.values(), key=lambda m: m.model)
    ]
    frame = pd.DataFrame(rows, columns=[
        "model", "name", "attempts", "succeeded", "latency_median_s", "latency_p95_s",
        "cost_per_image_usd", "cost_has_estimates", "failure_rate", "moderation_rate",
    ])
    for column in ("latency_median_s", "latency_p95_s", "cost_per_image_usd",
                   "failure_rate", "moderation_rate"):
        frame[column] = frame[column].astype("Float64")
    return frame


def overview_frame(board: Leaderboard) -> pd.DataFrame:
    """Rows models, columns criteria (voted, then rated) and measures; every cell text."""
    voted = [c for c in board.criteria if c.id in board.voted]
    rated = [c for c in board.criteria if any(k[1] == c.id for k in board.stars)]
    rows = []
    for model in board.models:
        row: dict[str, str] = {"Model": board.names.get(model, model)}
        for c in voted:
            row[f"{c.label} (votes)"] = bt_text(board.voted[c.id], model)
        for c in rated:
            s = board.stars.get((model, c.id))
            row[f"{c.label} (stars)"] = f"{s.text()} · {s.label}" if s else "—"
        m = board.measured.get(model)
        row["Median time"] = seconds_text(m.latency_median_s if m else None)
        row["p95 time"] = seconds_text(m.latency_p95_s if m else None)
        row["Cost / image"] = cost_text(m) if m else "—"
        row["Failure rate"] = rate_text(m.failure_rate if m else None, m)
        row["Moderation rate"] = rate_text(m.moderation_rate if m else None, m)
        rows.append(row)
    return pd.DataFrame(rows)


def overview_numeric(board: Leaderboard) -> pd.DataFrame:
    """The same table as numbers (for CSV and Parquet): one column per figure."""
    rows = []
    for model in board.models:
        row: dict[str, Any] = {"model": model, "name": board.names.get(model, model)}
        for c in board.criteria:
            result = board.voted.get(c.id)
            r = result.rating(model) if result else None
            ranked = r if r is not None and r.enough else None
            row[f"{c.id}_score"] = ranked.score if ranked is not None else None
            row[f"{c.id}_lower"] = ranked.lower if ranked is not None else None
            row[f"{c.id}_upper"] = ranked.upper if ranked is not None else None
            row[f"{c.id}_rank_ub"] = ranked.rank_ub if ranked is not None else None
            row[f"{c.id}_votes"] = r.votes if r else 0
            s = board.stars.get((model, c.id))
            row[f"{c.id}_stars_mean"] = s.mean if s else None
            row[f"{c.id}_stars_n"] = s.n if s else 0
        m = board.measured.get(model)
        row["latency_median_s"] = m.latency_median_s if m else None
        row["latency_p95_s"] = m.latency_p95_s if m else None
        row["cost_per_image_usd"] = m.cost_per_image_usd if m else None
        row["failure_rate"] = m.failure_rate if m else None
        row["moderation_rate"] = m.moderation_rate if m else None
        rows.append(row)
    frame = pd.DataFrame(rows)
    for column in frame.columns:
        if column.endswith("_rank_ub"):
            frame[column] = frame[column].astype("Int64")
        elif column not in ("model", "name") and not column.endswith(("_votes", "_n")):
            frame[column] = frame[column].astype("Float64")
    return frame


def score_vs(
    board: Leaderboard, criterion: str, measure: Literal["cost", "latency"] = "cost",
    source: Literal["votes", "stars"] = "votes",
) -> pd.DataFrame:
    """Models with a score on `criterion` and a known measure, with the Pareto frontier
    (cheapest or fastest for its score) flagged in `on_frontier`."""
    column = "cost_per_image_usd" if measure == "cost" else "latency_median_s"
    rows = []
    for model in board.models:
        m = board.measured.get(model)
        x = (m.cost_per_image_usd if measure == "cost" else m.latency_median_s) if m else None
        if x is None:
            continue
        if source == "votes":
            result = board.voted.get(criterion)
            r = result.rating(model) if result else None
            if r is None or not r.enough:
                continue
            score, low, high, n = r.score, r.lower, r.upper, r.votes
        else:
            s = board.stars.get((model, criterion))
            if s is None or not s.enough:
                continue
            score, low, high, n = s.mean, s.low, s.high, s.n
        rows.append({"model": model, "name": board.names.get(model, model), "score": score,
                     "lower": low, "upper": high, "evidence": n, column: x})
    frame = pd.DataFrame(
        rows, columns=["model", "name", "score", "lower", "upper", "evidence", column]
    )
    frame["on_frontier"] = pareto_front(list(zip(frame[column], frame["score"], strict=True)))
    return frame.sort_values(column, kind="stable").reset_index(drop=True)


def win_rate_frame(board: Leaderboard, criterion: str) -> pd.DataFrame:
    """Long format for a heatmap: the row model's share of points against the column model,
    only for pairs with votes."""
    counts = board.counts.get(criterion)
    stats = pairwise(counts) if counts is not None else []
    return pd.DataFrame(
        [
            {"model_a": board.names.get(s.model_a, s.model_a),
             "model_b": board.names.get(s.model_b, s.model_b), "win_rate": s.win_rate,
             "votes": s.votes, "wins": s.wins, "draws": s.draws}
            for s in stats
        ],
        columns=["model_a", "model_b", "win_rate", "votes", "wins", "draws"],
    )


def vote_count_frame(board: Leaderboard, criterion: str) -> pd.DataFrame:
    """Long format for a heatmap: votes between every two models (0 where none)."""
    counts = board.counts.get(criterion)
    if counts is None:
        return pd.DataFrame(columns=["model_a", "model_b", "votes"])
    games = counts.games
    return pd.DataFrame(
        [
            {"model_a": board.names.get(a, a), "model_b": board.names.get(b, b),
             "votes": int(games[i, j])}
            for i, a in enumerate(counts.models)
            for j, b in enumerate(counts.models) if i != j
        ],
        columns=["model_a", "model_b", "votes"],
    )
