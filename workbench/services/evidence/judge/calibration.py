"""How far the judge agrees with the people using this workbench, on their own prompts.

Items are people's Arena votes on the adherence criteria (Prompt adherence, Text in image),
offline sketches left out. Each vote's label is A (its left image), B (its right) or tie ("both
bad" is a tie). The judge's label for the same pair is its pairwise verdict (both orders) where
it judged that pair, else the difference of its two DSG scores (a tie within `TIE_BAND`; for Text
in image the text questions' sub-score where both images have some). The stars' label is the
difference of the two images' mean stars on the vote's criterion.

Rows, as the trade-off table cuts them: Complex and Minimal prompt handling (Prompt adherence
votes on the `complex` / `minimal` suite categories), Text in image, Prompt adherence over every
category, and all adherence votes together. Each row: the judge against votes, the judge
against star differences, and people against people (pairs two different people voted on the
same criterion: the first vote of each). Every figure is raw agreement and Cohen's κ with a
bootstrap interval resampling prompts (`stats.kappa`).

"Calibrated" only with at least `MIN_PAIRS` judged pairs over all adherence votes and κ within
`KAPPA_MARGIN` of people's κ, or, without pairs two people voted, κ ≥ `KAPPA_ALONE`; otherwise
"not yet calibrated" and every figure is shown as such. Published judges agree with people
only in part (DSG with PaLI: Spearman 0.57 on TIFA160; VQAScore pairwise accuracy 64–69% on
GenAI-Bench, people's α 0.72), so no judge is trusted before this check.

Per question category, the judge's pick from that category's sub-score alone against the votes:
where it agrees with people and where it does not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workbench.domain.plural import count
from workbench.services.evidence.judge.questions import CATEGORIES, CATEGORY_LABELS, prompt_hash
from workbench.services.evidence.judge.settings import judge_model
from workbench.services.workbench import Workbench
from workbench.stats.kappa import (
    LABELS,
    SEED,
    Agreement,
    agreements_with_draws,
    cluster_draws,
)
from workbench.store.judge import HumanVote, JudgeStore

TIE_BAND = 0.05
MIN_PAIRS = 100
KAPPA_MARGIN = 0.1
KAPPA_ALONE = 0.6
A, B, TIE = 0, 1, 2
WINNER_LABEL = {"left": A, "right": B, "tie": TIE, "both_bad": TIE}

RowRule = Callable[[str, str | None], bool]
ROWS: tuple[tuple[str, str, RowRule], ...] = (
    ("complex", "Complex prompt handling",
     lambda crit, cat: crit == "prompt_adherence" and cat == "complex"),
    ("minimal", "Minimal prompt handling",
     lambda crit, cat: crit == "prompt_adherence" and cat == "minimal"),
    ("text", "Text in image", lambda crit, cat: crit == "text_in_image"),
    ("adherence", "Prompt adherence, every category",
     lambda crit, cat: crit == "prompt_adherence"),
    ("all", "All adherence votes", lambda crit, cat: True),
)


@dataclass(frozen=True)
class VoteItem:
    prompt: str
    rows: tuple[str, ...]
    human: int
    judge: int | None
    stars: int | None
    by_category: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PeoplePair:
    prompt: str
    rows: tuple[str, ...]
    first: int
    second: int


@dataclass(frozen=True)
class CalibrationRow:
    key: str
    label: str
    judge_vs_votes: Agreement
    judge_vs_stars: Agreement
    people: Agreement


@dataclass(frozen=True)
class Calibration:
    judge_model: str
    rows: tuple[CalibrationRow, ...]
    calibrated: bool
    reason: str
    categories: tuple[tuple[str, Agreement], ...]

    @property
    def status(self) -> str:
        return "calibrated" if self.calibrated else "not yet calibrated"

    def table(self) -> list[dict[str, str]]:
        tag = "" if self.calibrated else " (not yet calibrated)"
        return [
            {
                "Criterion": row.label,
                "Judge vs votes": row.judge_vs_votes.text() + tag,
                "Judge vs star differences": row.judge_vs_stars.text() + tag,
                "Person vs person": row.people.text(),
            }
            for row in self.rows
        ]

    def category_table(self) -> list[dict[str, str]]:
        tag = "" if self.calibrated else " (not yet calibrated)"
        return [
            {"Question category": CATEGORY_LABELS.get(cat, cat),
             "Judge vs votes": ag.text() + tag}
            for cat, ag in self.categories
        ]

    def as_json(self) -> dict[str, Any]:
        def figures(ag: Agreement) -> dict[str, Any]:
            return {"n": ag.n, "prompts": ag.clusters, "agreement": ag.agreement,
                    "kappa": ag.kappa, "interval": list(ag.interval) if ag.interval else None}

        return {
            "judge_model": self.judge_model,
            "status": self.status,
            "reason": self.reason,
            "rows": [
                {"key": r.key, "label": r.label, "judge_vs_votes": figures(r.judge_vs_votes),
                 "judge_vs_stars": figures(r.judge_vs_stars), "people": figures(r.people)}
                for r in self.rows
            ],
            "categories": {cat: figures(ag) for cat, ag in self.categories},
        }


def _pick(difference: float) -> int:
    if abs(difference) <= TIE_BAND:
        return TIE
    return A if difference > 0 else B


def calibrate(
    items: Sequence[VoteItem], people: Sequence[PeoplePair], model: str, *, rounds: int = 1000
) -> Calibration:
    """The agreement table from votes already labelled (pure: the bench times this)."""
    prompts: dict[str, int] = {}
    n, m = len(items), len(people)
    bit = {key: 1 << i for i, (key, _, _) in enumerate(ROWS)}
    column = {cat: i for i, cat in enumerate(CATEGORIES)}
    # One pass over the items: labels, prompt index, row membership as bits, category picks.
    masks = {rows: sum(bit[key] for key in rows if key in bit) for rows in {i.rows for i in items}}
    lines = []
    for item in items:
        picks = [-1] * len(CATEGORIES)
        for cat, pick in item.by_category.items():
            picks[column[cat]] = pick
        lines.append((
            prompts.setdefault(item.prompt, len(prompts)), item.human,
            -1 if item.judge is None else item.judge, -1 if item.stars is None else item.stars,
            masks[item.rows], *picks,
        ))
    table = np.array(lines, dtype=np.int64).reshape(n, 5 + len(CATEGORIES))
    cluster, human, judge, stars, member = (table[:, i] for i in range(5))
    crowd = np.full((m, 4), -1, dtype=np.int64)
    for r, pair in enumerate(people):
        crowd[r] = (prompts.setdefault(pair.prompt, len(prompts)), pair.first, pair.second,
                    sum(bit[key] for key in pair.rows if key in bit))
    p_cluster, p_first, p_second, p_member = (crowd[:, i] for i in range(4))
    # One set of resampled prompts serves every figure of the table (stats.kappa).
    total = len(prompts)
    draws = cluster_draws(total, rounds, SEED) if rounds > 0 and total >= 2 else None
    figures: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def figure(first: np.ndarray, second: np.ndarray, where: np.ndarray,
               clusters: np.ndarray) -> int:
        figures.append((first[where], second[where], clusters[where]))
        return len(figures) - 1

    plan = []
    for key, label, _ in ROWS:
        in_row = (member & bit[key]) > 0
        judged = in_row & (judge >= 0)
        plan.append((key, label,
                     figure(judge, human, judged, cluster),
                     figure(judge, stars, judged & (stars >= 0), cluster),
                     figure(p_first, p_second, (p_member & bit[key]) > 0, p_cluster)))
    by_category = []
    for cat in CATEGORIES:
        chosen = table[:, 5 + column[cat]]
        if (chosen >= 0).any():
            by_category.append((cat, figure(chosen, human, chosen >= 0, cluster)))
    results = agreements_with_draws(figures, total, draws)
    rows = [CalibrationRow(key, label, results[a], results[b], results[c])
            for key, label, a, b, c in plan]
    categories = [(cat, results[i]) for cat, i in by_category]
    overall = next(r for r in rows if r.key == "all")
    calibrated, reason = _verdict(overall)
    return Calibration(model, tuple(rows), calibrated, reason, tuple(categories))


def _verdict(row: CalibrationRow) -> tuple[bool, str]:
    judged, people = row.judge_vs_votes, row.people
    if judged.n < MIN_PAIRS:
        return False, (f"{count(judged.n, 'judged pair')} with people's votes; at least "
                       f"{MIN_PAIRS} are needed before the judge can be called calibrated.")
    if judged.kappa is None:
        return False, "κ is undefined on these pairs (one label only)."
    if people.kappa is not None:
        gap = abs(judged.kappa - people.kappa)
        if gap <= KAPPA_MARGIN:
            return True, (f"κ {judged.kappa:.2f} is within {KAPPA_MARGIN} of people's κ "
                          f"{people.kappa:.2f} on {judged.n} pairs.")
        return False, (f"κ {judged.kappa:.2f} is {gap:.2f} from people's κ {people.kappa:.2f} "
                       f"(needs {KAPPA_MARGIN} or less).")
    if judged.kappa >= KAPPA_ALONE:
        return True, (f"κ {judged.kappa:.2f} ≥ {KAPPA_ALONE} on {judged.n} pairs (no pair two "
                      "people voted to compare with).")
    return False, (f"κ {judged.kappa:.2f} is below {KAPPA_ALONE}, and no pair two people voted "
                   "gives people's κ to compare with.")


# -- reading the log --------------------------------------------------------------------------
def _rows_for(criterion: str, category: str | None) -> tuple[str, ...]:
    return tuple(key for key, _, rule in ROWS if rule(criterion, category))


def _sub_scores(
    entry: tuple[float, list[dict[str, Any]], list[dict[str, Any]], int],
) -> dict[str, float]:
    _, answers, questions, _ = entry
    category = {q["id"]: q["category"] for q in questions}
    totals: dict[str, list[int]] = {}
    for a in answers:
        cat = category.get(a["id"])
        if cat is not None:
            totals.setdefault(cat, []).append(1 if a.get("counted") else 0)
    return {cat: sum(v) / len(v) for cat, v in totals.items()}


def items_from_log(wb: Workbench, model: str) -> tuple[list[VoteItem], list[PeoplePair]]:
    judge = JudgeStore(wb.db)
    votes = judge.scores.human_votes()
    shas = [s for v in votes for s in (v.left_sha256, v.right_sha256) if s]
    scores = judge.scores.scores_for_images(shas, model)
    stars = judge.scores.mean_stars([g for v in votes for g in (v.left_generation_id,
                                                         v.right_generation_id)])
    pair_votes: dict[tuple[str, str, str], str] = {}
    for jv in judge.votes.judge_votes(f"judge:{model}"):
        pair_votes[(jv.left_sha256, jv.right_sha256, jv.prompt_hash)] = jv.winner
    items = []
    for v in votes:
        items.append(VoteItem(
            prompt=v.prompt, rows=_rows_for(v.criterion, v.category),
            human=WINNER_LABEL[v.winner], judge=_judge_pick(v, scores, pair_votes),
            stars=_star_pick(v, stars), by_category=_category_picks(v, scores),
        ))
    return items, _people(votes)


def _judge_pick(
    v: HumanVote, scores: Mapping[tuple[str, str], Any], pair_votes: Mapping[Any, str]
) -> int | None:
    ls, rs = v.left_sha256 or "", v.right_sha256 or ""
    if v.prompt == v.right_prompt:
        low, high = sorted((ls, rs))
        said = pair_votes.get((low, high, prompt_hash(v.prompt)))
        if said is not None:
            if said == "tie":
                return TIE
            winner_sha = low if said == "left" else high
            return A if winner_sha == ls else B
    left, right = scores.get((ls, v.prompt)), scores.get((rs, v.right_prompt))
    if left is None or right is None:
        return None
    if v.criterion == "text_in_image":
        lt, rt = _sub_scores(left).get("text"), _sub_scores(right).get("text")
        if lt is not None and rt is not None:
            return _pick(lt - rt)
    return _pick(left[0] - right[0])


def _star_pick(v: HumanVote, stars: Mapping[tuple[str, str], float]) -> int | None:
    left = stars.get((v.left_generation_id, v.criterion))
    right = stars.get((v.right_generation_id, v.criterion))
    if left is None or right is None:
        return None
    return TIE if left == right else (A if left > right else B)


def _category_picks(v: HumanVote, scores: Mapping[tuple[str, str], Any]) -> dict[str, int]:
    left = scores.get((v.left_sha256 or "", v.prompt))
    right = scores.get((v.right_sha256 or "", v.right_prompt))
    if left is None or right is None:
        return {}
    ls, rs = _sub_scores(left), _sub_scores(right)
    return {cat: _pick(ls[cat] - rs[cat]) for cat in ls if cat in rs}


def _people(votes: Sequence[HumanVote]) -> list[PeoplePair]:
    """The first vote of each of the first two people who voted the same pair on the same
    criterion, both oriented to the pair's sorted generation ids."""
    firsts: dict[tuple[str, str, str], dict[str, tuple[int, HumanVote]]] = {}
    for v in votes:
        low, high = sorted((v.left_generation_id, v.right_generation_id))
        label = WINNER_LABEL[v.winner]
        if v.left_generation_id != low and label != TIE:
            label = B if label == A else A
        firsts.setdefault((low, high, v.criterion), {}).setdefault(v.rater, (label, v))
    out = []
    for by_rater in firsts.values():
        if len(by_rater) >= 2:
            (l1, v1), (l2, _) = list(by_rater.values())[:2]
            out.append(PeoplePair(v1.prompt, _rows_for(v1.criterion, v1.category), l1, l2))
    return out


def calibration(wb: Workbench, model: str | None = None, *, rounds: int = 1000) -> Calibration:
    """The agreement table on this workbench's votes (no call is made)."""
    model = model or judge_model(wb.settings)
    items, people = items_from_log(wb, model)
    return calibrate(items, people, model, rounds=rounds)


__all__ = ["LABELS", "Calibration", "calibrate", "calibration"]
