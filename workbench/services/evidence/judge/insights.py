"""Where the judge's figures help, read from stored scores only (no call is made here):

- `adherence_by_generation`: the Adherence figure for History (score, questions, version);
- `rank_variations`: best-of-N, a run's variations of one prompt on one model ranked by
  adherence (ranking several candidates by a VQA score raised people's ratings by 0.2–0.3
  Likert points on GenAI-Bench, Lin et al. 2024);
- `category_failures`: per model and question category, the share of questions counted "no",
  with n and a Wilson 95% interval (over questions; questions of one image are not independent,
  so read the interval as a lower bound on the uncertainty), within a run or under the
  Leaderboard's filter;
- `adherence_by_model`: per model, the mean score on the trade-off rows' prompts (complex,
  minimal, the text questions, every judged image) with n and a 95% t interval;
- `judge_board`: a Bradley–Terry board of the judge's own pairwise votes, only when a page
  asks for it, never mixed into people's boards.

The per-model figures are SQL aggregates (`store.judge_evidence`), cheap however long the log.
Machine-judged figures are labelled as such wherever they are shown, with the calibration
status beside them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from workbench.domain.filters import HistoryFilter
from workbench.services.evidence.judge.judging import rater_name
from workbench.services.evidence.judge.questions import CATEGORIES, CATEGORY_LABELS
from workbench.services.evidence.judge.settings import judge_model
from workbench.services.workbench import Workbench
from workbench.stats.bradley_terry import BTResult, PairCounts, Proportion, rate
from workbench.stats.ratings import t95
from workbench.store.judge import JudgeStore


@dataclass(frozen=True)
class Adherence:
    score: float
    questions: int
    version: int

    def text(self) -> str:
        return f"{self.score:.0%} of {self.questions} checks (questions v{self.version})"


def adherence_by_generation(
    wb: Workbench, generation_ids: Sequence[str], model: str | None = None
) -> dict[str, Adherence]:
    """Adherence scores by generation id (generations never judged are absent)."""
    found = JudgeStore(wb.db).scores.scores_by_generation(
        generation_ids, model or judge_model(wb.settings)
    )
    return {gid: Adherence(score.score, len(score.answers), version)
            for gid, (score, version, _) in found.items()}


@dataclass(frozen=True)
class RankedGroup:
    model: str
    prompt: str
    ranked: tuple[tuple[str, float], ...]  # (generation, score), best first

    @property
    def best(self) -> str:
        return self.ranked[0][0]


def rank_variations(wb: Workbench, run_id: str, model: str | None = None) -> list[RankedGroup]:
    """A run's judged variations, grouped by model and prompt, best adherence first (ties in
    log order)."""
    groups: dict[tuple[str, str], list[tuple[str, float]]] = {}
    for gid, contestant, prompt, _, score, _, _, _ in JudgeStore(wb.db).scores.scored_generations(
        model or judge_model(wb.settings), run_id=run_id
    ):
        groups.setdefault((contestant, prompt), []).append((gid, score))
    return [
        RankedGroup(m, p, tuple(sorted(items, key=lambda item: -item[1])))
        for (m, p), items in sorted(groups.items())
    ]


@dataclass(frozen=True)
class CategoryFailures:
    model: str
    category: str
    missed: Proportion  # questions counted "no" of questions asked
    images: int

    def text(self, name: str | None = None) -> str:
        """"Nano Banana 2 missed 31% [25%–38%] of 120 spatial questions (40 images)"."""
        return (f"{name or self.model} missed {self.missed.text()} "
                f"{CATEGORY_LABELS[self.category].lower()} questions ({self.images} images)")


def _filter(f: HistoryFilter | None, run_id: str | None) -> HistoryFilter:
    """The Leaderboard's filter, or a run's every generation (archived ones too)."""
    if f is not None:
        return f if run_id is None else f.model_copy(update={"run_id": run_id})
    return HistoryFilter(run_id=run_id, archived="include")


def category_failures(
    wb: Workbench, *, run_id: str | None = None, model: str | None = None,
    f: HistoryFilter | None = None,
) -> list[CategoryFailures]:
    """Per image model and question category: how often its images failed the question
    (offline sketches are never judged), under a Leaderboard filter or within one run."""
    order = {c: i for i, c in enumerate(CATEGORIES)}
    rows = wb.judge_evidence.sums(_filter(f, run_id), model or judge_model(wb.settings)).questions
    return [
        CategoryFailures(r.model, r.category, Proportion(int(r.missed), int(r.asked)),
                         int(r.images))
        for r in sorted(rows, key=lambda r: (r.model, order.get(r.category, len(order))))
        if r.category in order
    ]


GROUPS = (
    ("complex", "Complex prompt handling"),
    ("minimal", "Minimal prompt handling"),
    ("text", "Text in image (text questions)"),
    ("all", "Every judged image"),
)


@dataclass(frozen=True)
class ModelAdherence:
    """Machine-judged evidence for one trade-off row and model, kept apart from people's."""

    group: str
    model: str
    n: int  # images
    mean: float
    interval: tuple[float, float] | None  # t interval of the mean, 95%

    def figure(self) -> str:
        """"72% [61%–83%]": the mean with its interval, without n."""
        if self.interval is None:
            return f"{self.mean:.0%}"
        return f"{self.mean:.0%} [{self.interval[0]:.0%}–{self.interval[1]:.0%}]"

    def text(self) -> str:
        return f"{self.figure()} (n = {self.n})"


def _mean(group: str, model: str, n: int, total: float, squares: float) -> ModelAdherence:
    """Mean and 95% t interval (clipped to 0–1) from exact sums."""
    mean = total / n
    interval = None
    if n >= 2:
        sd = math.sqrt(max(0.0, (squares - total * total / n) / (n - 1)))
        half = t95(n - 1) * sd / math.sqrt(n)
        interval = (max(0.0, mean - half), min(1.0, mean + half))
    return ModelAdherence(group, model, n, mean, interval)


def adherence_by_model(
    wb: Workbench, model: str | None = None, f: HistoryFilter | None = None
) -> list[ModelAdherence]:
    """Mean adherence per image model on the trade-off table's prompt rows: the `complex` and
    `minimal` suite categories, the text questions' sub-score, and every judged image; under a
    Leaderboard filter (else every judged generation)."""
    chosen = _filter(f, None)
    judge = model or judge_model(wb.settings)
    sums: dict[tuple[str, str], list[float]] = {}

    def add(group: str, contestant: str, n: int, total: float, squares: float) -> None:
        acc = sums.setdefault((group, contestant), [0, 0.0, 0.0])
        acc[0] += n
        acc[1] += total
        acc[2] += squares

    found = wb.judge_evidence.sums(chosen, judge)
    for row in found.scores:
        values = (int(row.n), float(row.total), float(row.squares))
        add("all", row.model, *values)
        if row.category in ("complex", "minimal"):
            add(row.category, row.model, *values)
    for tally in found.questions:
        if tally.category == "text":
            add("text", tally.model, int(tally.images), float(tally.passed_total),
                float(tally.passed_squares))
    order = {g: i for i, (g, _) in enumerate(GROUPS)}
    return [
        _mean(group, contestant, int(acc[0]), acc[1], acc[2])
        for (group, contestant), acc in sorted(sums.items(),
                                               key=lambda kv: (order[kv[0][0]], kv[0][1]))
        if acc[0]
    ]


def recent_runs(wb: Workbench) -> list[tuple[str, int]]:
    """(run id, succeeded images) of recent runs, for a picker."""
    return JudgeStore(wb.db).scores.recent_runs()


def judge_board(wb: Workbench, model: str | None = None) -> BTResult:
    """The judge's own pairwise votes as a Bradley–Terry board (asked for explicitly)."""
    rows = JudgeStore(wb.db).votes.judge_vote_counts(rater_name(model or judge_model(wb.settings)))
    return rate(PairCounts.from_rows(rows))
