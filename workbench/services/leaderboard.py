"""What the Leaderboard page shows, as plain dataclasses and DataFrames (no streamlit here).

For a filter (category, template, provider, date range; offline sketches out unless chosen):
- per criterion, the Bradley–Terry table from arena votes (score, 95% interval, Rank(UB),
  votes, "not enough votes"), and the same per category;
- star ratings per model and criterion (mean, n, interval, verdict label);
- what the log measured (median and p95 latency, cost per image, failure and moderation rates);
- the verdict table in the seed article's format (Criterion | Model A | Model B …) with the
  evidence behind each cell, and `VERDICT_EXPLAINED` saying how labels map to scores;
- chart data: score against cost per image and median latency with the Pareto frontier,
  pairwise win rates and vote counts;
- rater consistency: position bias and agreement on repeated pairs.

Fits are cached on a digest of the aggregated vote counts (plus the settings of the fit), so a
rerun with unchanged votes runs one GROUP BY per table and no fit. Offline sketches compete
under their own name ("model (offline sketch)"), never as the model itself. No score shown is
NaN: a missing value is None in numeric frames and a word in display frames.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import pandas as pd

from workbench.domain.catalog import CatalogError
from workbench.domain.criteria import SCALE_EXPLAINED, Criterion, load_criteria
from workbench.domain.filters import HistoryFilter
from workbench.services.workbench import Workbench
from workbench.stats.bradley_terry import (
    BOOTSTRAP_ROUNDS,
    BOOTSTRAP_SEED,
    BT_SCALE_EXPLAINED,
    MIN_VOTES,
    RIDGE,
    BTResult,
    PairCounts,
    Proportion,
    outcome,
    pairwise,
    position_bias,
    rate,
    repeat_agreement,
)
from workbench.stats.ratings import MIN_RATINGS, StarSummary, summarise_stars
from workbench.store.votes import OFFLINE, OFFLINE_TAG, contestant

NOT_ENOUGH_DATA = "not enough data"
NO_CATEGORY = "(no category)"
VERDICT_EXPLAINED = (
    f"{BT_SCALE_EXPLAINED} Criteria with too few votes fall back to star ratings: "
    f"{SCALE_EXPLAINED} (at least {MIN_RATINGS} ratings). Measured rows show the log's median "
    "generation time and mean cost per succeeded image. The number beside each label is the "
    "evidence behind it (votes, ratings or images); \"not enough data\" means too little of it."
)
MEASURED_ROWS = (("speed", "Generation speed (median)"), ("cost", "Cost per image"))
FIT_CACHE_SIZE = 256


# -- the fit cache -------------------------------------------------------------------------------
class _FitCache:
    """Bradley–Terry results keyed on the vote counts' digest and the fit settings (LRU)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple[Any, ...], BTResult] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def rate(self, counts: PairCounts, min_votes: int, rounds: int, seed: int) -> BTResult:
        key = (counts.key(), min_votes, rounds, seed, RIDGE)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
        result = rate(counts, min_votes=min_votes, rounds=rounds, seed=seed)
        with self._lock:
            self.misses += 1
            self._items[key] = result
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return result

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0


FITS = _FitCache(FIT_CACHE_SIZE)


# -- filters --------------------------------------------------------------------------------------
def leaderboard_filter(
    *, categories: Sequence[str] = (), templates: Sequence[str] = (),
    providers: Sequence[str] = (), models: Sequence[str] = (), date_from: date | None = None,
    date_to: date | None = None, include_offline: bool = False,
) -> HistoryFilter:
    """The Leaderboard's filter; unlike the History page, offline sketches are out by default."""
    return HistoryFilter(
        categories=tuple(categories), templates=tuple(templates), providers=tuple(providers),
        models=tuple(models), date_from=date_from, date_to=date_to,
        include_offline=include_offline,
    )


def _split_offline(f: HistoryFilter) -> tuple[HistoryFilter, HistoryFilter | None]:
    """The filter for real model output, and the one for offline sketches when chosen."""
    real = f.model_copy(update={"include_offline": False})
    if f.include_offline and (not f.providers or OFFLINE in f.providers):
        return real, f.model_copy(update={"providers": (OFFLINE,)})
    return real, None


# -- what the log measured ------------------------------------------------------------------------
@dataclass(frozen=True)
class Measured:
    model: str  # contestant name
    attempts: int  # finished attempts: succeeded, failed or moderated
    succeeded: int
    failed: int
    moderated: int
    latency_median_s: float | None
    latency_p95_s: float | None
    cost_per_image_usd: float | None
    cost_has_estimates: bool

    @property
    def failure_rate(self) -> float | None:
        return self.failed / self.attempts if self.attempts else None

    @property
    def moderation_rate(self) -> float | None:
        return self.moderated / self.attempts if self.attempts else None


def _seconds(ms: Any) -> float | None:
    return None if ms is None or pd.isna(ms) else float(ms) / 1000.0


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def measured(wb: Workbench, f: HistoryFilter) -> dict[str, Measured]:
    out: dict[str, Measured] = {}
    real, sketches = _split_offline(f)
    for part, provider in ((real, None), (sketches, OFFLINE)):
        if part is None:
            continue
        for row in wb.performance.by_model(part):
            name = contestant(row["model"], provider)
            out[name] = Measured(
                model=name, attempts=int(row["attempts"]), succeeded=int(row["succeeded"]),
                failed=int(row["failed"]), moderated=int(row["moderated"]),
                latency_median_s=_seconds(row["latency_median_ms"]),
                latency_p95_s=_seconds(row["latency_p95_ms"]),
                cost_per_image_usd=_number(row["cost_per_image_usd"]),
                cost_has_estimates=bool(row["cost_has_estimates"]),
            )
    return out


def stars(wb: Workbench, f: HistoryFilter) -> dict[tuple[str, str], StarSummary]:
    """(contestant, criterion) -> mean, n and 95% interval of the latest star ratings."""
    out: dict[tuple[str, str], StarSummary] = {}
    real, sketches = _split_offline(f)
    for part, provider in ((real, None), (sketches, OFFLINE)):
        if part is None:
            continue
        for row in wb.ratings.by_model(part):
            if not row["n"]:
                continue
            sd = _number(row["sd"])
            out[(contestant(row["model"], provider), row["criterion"])] = summarise_stars(
                int(row["n"]), float(row["mean"]), sd
            )
    return out


# -- Bradley–Terry tables -------------------------------------------------------------------------
def _counts_by_criterion(wb: Workbench, f: HistoryFilter) -> dict[str, PairCounts]:
    grouped: dict[str, list[tuple[str, str, str, int]]] = {}
    for criterion, a, b, winner, n in wb.votes.pair_counts(f):
        grouped.setdefault(criterion, []).append((a, b, winner, n))
    return {c: PairCounts.from_rows(rows) for c, rows in grouped.items()}


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
                "score": round(r.score) if shown else None,
                "lower": round(r.lower) if shown else None,
                "upper": round(r.upper) if shown else None,
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


def bt_text(result: BTResult, model: str) -> str:
    r = result.rating(model)
    if r is None or r.votes == 0:
        return "—"
    if not r.enough:
        return f"not enough votes ({r.votes})"
    return f"{r.score:.0f} [{r.lower:.0f}–{r.upper:.0f}] #{r.rank_ub} · {r.label}"


@dataclass(frozen=True)
class CategoryBoard:
    category: str
    result: BTResult

    @property
    def shown(self) -> bool:
        """Small categories are hidden: shown only once a model there has enough votes."""
        return bool(self.result.ranked)


def category_boards(
    wb: Workbench, criterion: str, f: HistoryFilter | None = None, *,
    min_votes: int = MIN_VOTES, rounds: int = BOOTSTRAP_ROUNDS, seed: int = BOOTSTRAP_SEED,
) -> list[CategoryBoard]:
    """The Bradley–Terry table of `criterion` for every category that has votes."""
    f = f if f is not None else leaderboard_filter()
    grouped: dict[str, list[tuple[str, str, str, int]]] = {}
    for category, a, b, winner, n in wb.votes.pair_counts_by_category(f, criterion):
        grouped.setdefault(category or NO_CATEGORY, []).append((a, b, winner, n))
    return [
        CategoryBoard(category, FITS.rate(PairCounts.from_rows(rows), min_votes, rounds, seed))
        for category, rows in sorted(grouped.items(), key=lambda kv: (kv[0] == NO_CATEGORY, kv[0]))
    ]


# -- the verdict table ----------------------------------------------------------------------------
@dataclass(frozen=True)
class VerdictCell:
    label: str  # Excellent / Very Good / Good / Fair, a measured value, or "not enough data"
    evidence: int  # votes, ratings or images behind the label
    source: Literal["votes", "stars", "measured", "none"]
    detail: str = ""

    @property
    def text(self) -> str:
        unit = {"votes": "votes", "stars": "ratings", "measured": "images"}.get(self.source)
        if self.source == "none":
            return NOT_ENOUGH_DATA if not self.detail else f"{NOT_ENOUGH_DATA} ({self.detail})"
        return f"{self.label} ({self.evidence} {unit})"


@dataclass(frozen=True)
class VerdictTable:
    models: tuple[str, ...]
    names: tuple[str, ...]
    rows: tuple[tuple[str, tuple[VerdictCell, ...]], ...]  # (criterion label, one cell a model)
    explanation: str = VERDICT_EXPLAINED

    def frame(self) -> pd.DataFrame:
        """Criterion | Model A | Model B …, each cell a label with its evidence count."""
        data = [
            {"Criterion": label, **{n: c.text for n, c in zip(self.names, cells, strict=True)}}
            for label, cells in self.rows
        ]
        return pd.DataFrame(data, columns=["Criterion", *self.names])

    def markdown(self) -> str:
        """The table as the seed article prints it (Markdown)."""
        lines = [
            "| Criterion | " + " | ".join(self.names) + " |",
            "|---|" + "---|" * len(self.names),
        ]
        for label, cells in self.rows:
            lines.append(f"| {label} | " + " | ".join(c.text for c in cells) + " |")
        return "\n".join(lines)


# -- the board ------------------------------------------------------------------------------------
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


@dataclass(frozen=True)
class Consistency:
    position: Proportion  # left wins among decisive arena votes
    agreement: Proportion  # repeats with the same outcome as the first vote

    def lines(self) -> list[str]:
        return [
            f"Left image won {self.position.text()} decisive votes (50% means no position bias).",
            f"Repeated pairs judged the same way: {self.agreement.text()}.",
        ]


def consistency(
    wb: Workbench, f: HistoryFilter | None = None, criterion: str | None = None
) -> Consistency:
    f = f if f is not None else leaderboard_filter()
    votes = wb.votes
    with wb.db.cursor():
        pairs = votes.repeats(f, criterion)
        winners = votes.winners(f, criterion)
    repeats = [
        (outcome(w1, l1, r1), outcome(w2, l2, r2))
        for w1, l1, r1, w2, l2, r2 in pairs
        if l1 and r1 and l2 and r2
    ]
    return Consistency(position_bias(winners), repeat_agreement(repeats))


@dataclass
class Leaderboard:
    filter: HistoryFilter
    min_votes: int
    criteria: tuple[Criterion, ...]
    counts: dict[str, PairCounts]
    voted: dict[str, BTResult]
    stars: dict[tuple[str, str], StarSummary]
    measured: dict[str, Measured]
    names: dict[str, str] = field(default_factory=dict)

    @property
    def models(self) -> tuple[str, ...]:
        found: set[str] = set(self.measured)
        found.update(m for m, _ in self.stars)
        for counts in self.counts.values():
            found.update(counts.models)
        return tuple(sorted(found))

    @property
    def is_empty(self) -> bool:
        return not (self.counts or self.stars or self.measured)

    def criterion_label(self, criterion: str) -> str:
        for c in self.criteria:
            if c.id == criterion:
                return c.label
        return criterion

    def result(self, criterion: str) -> BTResult:
        """The Bradley–Terry table of a criterion (an empty one, with a message, if no votes)."""
        if criterion in self.voted:
            return self.voted[criterion]
        return rate(PairCounts.empty(), min_votes=self.min_votes)

    def bt_frame(self, criterion: str) -> pd.DataFrame:
        return bt_frame(self.result(criterion), self.names)

    def stars_frame(self) -> pd.DataFrame:
        rows = [
            {
                "model": model, "name": self.names.get(model, model), "criterion": criterion,
                "mean": s.mean, "lower": s.low, "upper": s.high, "n": s.n, "label": s.label,
            }
            for (model, criterion), s in sorted(self.stars.items())
        ]
        return pd.DataFrame(rows, columns=["model", "name", "criterion", "mean", "lower",
                                           "upper", "n", "label"])

    def measured_frame(self) -> pd.DataFrame:
        rows = [
            {
                "model": m.model, "name": self.names.get(m.model, m.model),
                "attempts": m.attempts, "succeeded": m.succeeded,
                "latency_median_s": m.latency_median_s, "latency_p95_s": m.latency_p95_s,
                "cost_per_image_usd": m.cost_per_image_usd,
                "cost_has_estimates": m.cost_has_estimates, "failure_rate": m.failure_rate,
                "moderation_rate": m.moderation_rate,
            }
            for m in sorted(self.measured.values(), key=lambda m: m.model)
        ]
        frame = pd.DataFrame(rows, columns=[
            "model", "name", "attempts", "succeeded", "latency_median_s", "latency_p95_s",
            "cost_per_image_usd", "cost_has_estimates", "failure_rate", "moderation_rate",
        ])
        for column in ("latency_median_s", "latency_p95_s", "cost_per_image_usd",
                       "failure_rate", "moderation_rate"):
            frame[column] = frame[column].astype("Float64")
        return frame

    def overview_frame(self) -> pd.DataFrame:
        """Rows models, columns criteria (voted, then rated) and measures; every cell text."""
        voted = [c for c in self.criteria if c.id in self.voted]
        rated = [c for c in self.criteria if any(k[1] == c.id for k in self.stars)]
        rows = []
        for model in self.models:
            row: dict[str, str] = {"Model": self.names.get(model, model)}
            for c in voted:
                row[f"{c.label} (votes)"] = bt_text(self.voted[c.id], model)
            for c in rated:
                s = self.stars.get((model, c.id))
                row[f"{c.label} (stars)"] = f"{s.text()} · {s.label}" if s else "—"
            m = self.measured.get(model)
            row["Median time"] = _fmt_seconds(m.latency_median_s if m else None)
            row["p95 time"] = _fmt_seconds(m.latency_p95_s if m else None)
            row["Cost / image"] = _fmt_cost(m) if m else "—"
            row["Failure rate"] = _fmt_rate(m.failure_rate if m else None, m)
            row["Moderation rate"] = _fmt_rate(m.moderation_rate if m else None, m)
            rows.append(row)
        return pd.DataFrame(rows)

    def overview_numeric(self) -> pd.DataFrame:
        """The same table as numbers (for CSV and Parquet): one column per figure."""
        rows = []
        for model in self.models:
            row: dict[str, Any] = {"model": model, "name": self.names.get(model, model)}
            for c in self.criteria:
                result = self.voted.get(c.id)
                r = result.rating(model) if result else None
                ok = r is not None and r.enough
                row[f"{c.id}_score"] = r.score if ok else None
                row[f"{c.id}_lower"] = r.lower if ok else None
                row[f"{c.id}_upper"] = r.upper if ok else None
                row[f"{c.id}_rank_ub"] = r.rank_ub if ok else None
                row[f"{c.id}_votes"] = r.votes if r else 0
                s = self.stars.get((model, c.id))
                row[f"{c.id}_stars_mean"] = s.mean if s else None
                row[f"{c.id}_stars_n"] = s.n if s else 0
            m = self.measured.get(model)
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

    def verdict(
        self, models: Sequence[str], criteria: Iterable[str] | None = None,
        measures: bool = True,
    ) -> VerdictTable:
        """The seed's table for the chosen models (contestant names, in the given order)."""
        wanted = list(criteria) if criteria is not None else [c.id for c in self.criteria]
        rows: list[tuple[str, tuple[VerdictCell, ...]]] = []
        for cid in wanted:
            rows.append((self.criterion_label(cid), tuple(self._cell(m, cid) for m in models)))
        if measures:
            for key, label in MEASURED_ROWS:
                rows.append((label, tuple(self._measured_cell(m, key) for m in models)))
        return VerdictTable(
            tuple(models), tuple(self.names.get(m, m) for m in models), tuple(rows)
        )

    def _cell(self, model: str, criterion: str) -> VerdictCell:
        result = self.voted.get(criterion)
        r = result.rating(model) if result else None
        if r is not None and r.enough and r.field_win_probability is not None:
            return VerdictCell(
                r.label, r.votes, "votes",
                f"score {r.score:.0f} [{r.lower:.0f}–{r.upper:.0f}], "
                f"{r.field_win_probability:.0%} expected wins against the field",
            )
        s = self.stars.get((model, criterion))
        if s is not None and s.enough:
            return VerdictCell(s.label, s.n, "stars", s.text())
        votes = r.votes if r else 0
        ratings = s.n if s else 0
        return VerdictCell(NOT_ENOUGH_DATA, max(votes, ratings), "none",
                           f"{votes} votes, {ratings} ratings")

    def _measured_cell(self, model: str, key: str) -> VerdictCell:
        m = self.measured.get(model)
        if m is None or not m.succeeded:
            return VerdictCell(NOT_ENOUGH_DATA, 0, "none", "no finished images")
        if key == "speed" and m.latency_median_s is not None:
            return VerdictCell(_fmt_seconds(m.latency_median_s), m.succeeded, "measured")
        if key == "cost" and m.cost_per_image_usd is not None:
            return VerdictCell(_fmt_cost(m), m.succeeded, "measured")
        return VerdictCell(NOT_ENOUGH_DATA, m.succeeded, "none", "not recorded")

    def score_vs(
        self, criterion: str, measure: Literal["cost", "latency"] = "cost",
        source: Literal["votes", "stars"] = "votes",
    ) -> pd.DataFrame:
        """Models with a score on `criterion` and a known measure, with the Pareto frontier
        (cheapest or fastest for its score) flagged in `on_frontier`."""
        column = "cost_per_image_usd" if measure == "cost" else "latency_median_s"
        rows = []
        for model in self.models:
            m = self.measured.get(model)
            x = (m.cost_per_image_usd if measure == "cost" else m.latency_median_s) if m else None
            if x is None:
                continue
            if source == "votes":
                result = self.voted.get(criterion)
                r = result.rating(model) if result else None
                if r is None or not r.enough:
                    continue
                score, low, high, n = r.score, r.lower, r.upper, r.votes
            else:
                s = self.stars.get((model, criterion))
                if s is None or not s.enough:
                    continue
                score, low, high, n = s.mean, s.low, s.high, s.n
            rows.append({"model": model, "name": self.names.get(model, model), "score": score,
                         "lower": low, "upper": high, "evidence": n, column: x})
        frame = pd.DataFrame(
            rows, columns=["model", "name", "score", "lower", "upper", "evidence", column]
        )
        frame["on_frontier"] = pareto_front(list(zip(frame[column], frame["score"], strict=True)))
        return frame.sort_values(column, kind="stable").reset_index(drop=True)

    def win_rate_frame(self, criterion: str) -> pd.DataFrame:
        """Long format for a heatmap: the row model's share of points against the column model,
        only for pairs with votes."""
        counts = self.counts.get(criterion)
        stats = pairwise(counts) if counts is not None else []
        return pd.DataFrame(
            [
                {"model_a": self.names.get(s.model_a, s.model_a),
                 "model_b": self.names.get(s.model_b, s.model_b), "win_rate": s.win_rate,
                 "votes": s.votes, "wins": s.wins, "draws": s.draws}
                for s in stats
            ],
            columns=["model_a", "model_b", "win_rate", "votes", "wins", "draws"],
        )

    def vote_count_frame(self, criterion: str) -> pd.DataFrame:
        """Long format for a heatmap: votes between every two models (0 where none)."""
        counts = self.counts.get(criterion)
        if counts is None:
            return pd.DataFrame(columns=["model_a", "model_b", "votes"])
        games = counts.games
        return pd.DataFrame(
            [
                {"model_a": self.names.get(a, a), "model_b": self.names.get(b, b),
                 "votes": int(games[i, j])}
                for i, a in enumerate(counts.models)
                for j, b in enumerate(counts.models) if i != j
            ],
            columns=["model_a", "model_b", "votes"],
        )


def _fmt_seconds(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.1f} s"


def _fmt_cost(m: Measured) -> str:
    if m.cost_per_image_usd is None:
        return "unknown"
    return f"${m.cost_per_image_usd:.3f}" + (" (est.)" if m.cost_has_estimates else "")


def _fmt_rate(rate_: float | None, m: Measured | None) -> str:
    return "—" if rate_ is None or m is None else f"{rate_:.0%} of {m.attempts}"


def contestant_names(wb: Workbench, models: Iterable[str]) -> dict[str, str]:
    """Catalog display names for contestant names (sketches keep their tag)."""
    names = {}
    for model in models:
        base, tagged = (model[: -len(OFFLINE_TAG)], True) if model.endswith(OFFLINE_TAG) else (
            model, False)
        try:
            name = wb.catalog.model(base).name
        except CatalogError:
            name = base
        names[model] = name + OFFLINE_TAG if tagged else name
    return names


def build_leaderboard(
    wb: Workbench, f: HistoryFilter | None = None, *, min_votes: int = MIN_VOTES,
    rounds: int = BOOTSTRAP_ROUNDS, seed: int = BOOTSTRAP_SEED,
) -> Leaderboard:
    """Everything the Leaderboard page shows for one filter."""
    f = f if f is not None else leaderboard_filter()
    with wb.db.cursor():  # one connection for the few queries below
        counts = _counts_by_criterion(wb, f)
        star_cells = stars(wb, f)
        measures = measured(wb, f)
    voted = {c: FITS.rate(pc, min_votes, rounds, seed) for c, pc in counts.items()}
    board = Leaderboard(
        filter=f, min_votes=min_votes, criteria=load_criteria(), counts=counts, voted=voted,
        stars=star_cells, measured=measures,
    )
    board.names = contestant_names(wb, board.models)
    return board
