"""Where the judge's figures help, read from stored scores only (no call is made here):

- `adherence_by_generation`: the Adherence figure for History (score, questions, version);
- `rank_variations`: best-of-N, a run's variations of one prompt on one model ranked by
  adherence (ranking several candidates by a VQA score raised people's ratings by 0.2–0.3
  Likert points on GenAI-Bench, Lin et al. 2024);
- `category_failures`: per model and question category, the share of questions counted "no",
  with n and a Wilson 95% interval (over questions; questions of one image are not independent,
  so read the interval as a lower bound on the uncertainty);
- `judge_board`: a Bradley–Terry board of the judge's own pairwise votes, only when a page
  asks for it, never mixed into people's boards.

Machine-judged figures are labelled as such wherever they are shown, with the calibration
status beside them.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

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

    def text(self) -> str:
        return (f"{self.model} missed {self.missed.text()} {CATEGORY_LABELS[self.category].lower()}"
                f" questions ({self.images} images)")


def category_failures(
    wb: Workbench, *, run_id: str | None = None, model: str | None = None
) -> list[CategoryFailures]:
    """Per image model and question category: how often its images failed the question."""
    tallies: dict[tuple[str, str], list[int]] = {}
    scored = JudgeStore(wb.db).scores.scored_generations(
        model or judge_model(wb.settings), run_id=run_id
    )
    for _, contestant, _, _, _, answers, questions, _ in scored:
        category = {q["id"]: q["category"] for q in questions}
        seen: set[str] = set()
        for a in answers:
            cat = category.get(a["id"])
            if cat is None:
                continue
            tally = tallies.setdefault((contestant, cat), [0, 0, 0])
            tally[0] += 0 if a.get("counted") else 1
            tally[1] += 1
            if cat not in seen:
                tally[2] += 1
                seen.add(cat)
    order = {c: i for i, c in enumerate(CATEGORIES)}
    return [
        CategoryFailures(m, c, Proportion(t[0], t[1]), t[2])
        for (m, c), t in sorted(tallies.items(), key=lambda kv: (kv[0][0], order[kv[0][1]]))
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

    def text(self) -> str:
        if self.interval is None:
            return f"{self.mean:.0%} (n = {self.n})"
        return f"{self.mean:.0%} [{self.interval[0]:.0%}–{self.interval[1]:.0%}] (n = {self.n})"


def adherence_by_model(wb: Workbench, model: str | None = None) -> list[ModelAdherence]:
    """Mean adherence per image model on the trade-off table's prompt rows: the `complex` and
    `minimal` suite categories, the text questions' sub-score, and every judged image."""
    values: dict[tuple[str, str], list[float]] = {}
    for _, contestant, _, _, score, answers, questions, category in JudgeStore(
        wb.db
    ).scores.scored_generations(model or judge_model(wb.settings)):
        values.setdefault(("all", contestant), []).append(score)
        if category in ("complex", "minimal"):
            values.setdefault((category, contestant), []).append(score)
        text_ids = {q["id"] for q in questions if q["category"] == "text"}
        counted = [1.0 if a.get("counted") else 0.0 for a in answers if a["id"] in text_ids]
        if counted:
            values.setdefault(("text", contestant), []).append(sum(counted) / len(counted))
    order = {g: i for i, (g, _) in enumerate(GROUPS)}
    out = []
    for (group, contestant), scores in sorted(values.items(),
                                              key=lambda kv: (order[kv[0][0]], kv[0][1])):
        n = len(scores)
        mean = sum(scores) / n
        interval = None
        if n >= 2:
            sd = statistics.stdev(scores)
            half = t95(n - 1) * sd / math.sqrt(n)
            interval = (max(0.0, mean - half), min(1.0, mean + half))
        out.append(ModelAdherence(group, contestant, n, mean, interval))
    return out


def recent_runs(wb: Workbench) -> list[tuple[str, int]]:
    """(run id, succeeded images) of recent runs, for a picker."""
    return JudgeStore(wb.db).scores.recent_runs()


def judge_board(wb: Workbench, model: str | None = None) -> BTResult:
    """The judge's own pairwise votes as a Bradley–Terry board (asked for explicitly)."""
    rows = JudgeStore(wb.db).votes.judge_vote_counts(rater_name(model or judge_model(wb.settings)))
    return rate(PairCounts.from_rows(rows))
