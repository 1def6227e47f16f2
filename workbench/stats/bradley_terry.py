"""Bradley–Terry ratings from pairwise votes: the fit, bootstrap intervals, Rank(UB), the
pairwise matrices behind the heatmaps, and the rater-consistency figures.

Method (as LMArena rates; sources in docs/architecture.md): a win counts 1, a loss 0, a tie or
"both bad" 0.5; P(A beats B) = 1 / (1 + 10^((R_B − R_A)/400)) with display score
R = 1000 + 400·r, r in base-10 logits. The maximum-likelihood r is only defined up to a shift,
so the objective adds a tiny ridge (RIDGE/2 · Σr²): its optimum has mean r = 0 exactly (the
likelihood's gradient sums to zero), and a model that never loses gets a large but finite score
instead of infinity.

Votes are first aggregated into a win matrix (`PairCounts`), so the fit costs the same for
50,000 votes as for 500. The bootstrap resamples votes with replacement by drawing multinomial
counts over the distinct (pair, outcome) cells (the same distribution), and fits all rounds at
once with a batched, damped Newton method. numpy only: no database, UI or network here.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from workbench.domain.outcomes import WINNERS
from workbench.errors import InvalidInput

BASE = 1000.0
SCALE = 400.0
LN10 = math.log(10.0)
RIDGE = 0.01  # prior sd of 10 base-10 logits (4,000 points): negligible against any real data
MIN_VOTES = 10  # below this many votes a model is listed as "not enough votes", not ranked
BOOTSTRAP_ROUNDS = 100
BOOTSTRAP_SEED = 20240501
INTERVAL = (2.5, 97.5)

# Verdict labels for voted criteria: the model's mean predicted chance of beating each other
# model in the field, from the fitted scores. (lowest chance, label), best first.
BT_VERDICT_SCALE: tuple[tuple[float, str], ...] = (
    (0.65, "Excellent"),
    (0.55, "Very Good"),
    (0.45, "Good"),
    (0.0, "Fair"),
)
BT_SCALE_EXPLAINED = (
    "Voted criteria: label from the model's average predicted chance of beating each other model "
    "in the field (Bradley–Terry): Excellent ≥ 65%, Very Good ≥ 55%, Good ≥ 45%, Fair below 45%. "
    f"A model needs {MIN_VOTES} votes on the criterion to get a label."
)


class RatingInputError(InvalidInput):
    """Votes or counts that cannot be rated (unknown winner, negative count, bad shape)."""


# -- aggregated votes ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class PairCounts:
    """Votes aggregated per ordered model pair.

    `wins[i, j]`: votes in which model i beat model j. `ties[i, j]` and `both_bad[i, j]` are
    symmetric. Side (left/right) is not kept: the rating model has no position term; position
    bias is measured separately by `position_bias`.
    """

    models: tuple[str, ...]
    wins: np.ndarray
    ties: np.ndarray
    both_bad: np.ndarray
    dropped: int = 0  # votes of a model against itself, which say nothing

    @classmethod
    def empty(cls, models: Iterable[str] = ()) -> PairCounts:
        names = tuple(sorted(set(models)))
        k = len(names)
        zero = np.zeros((k, k), dtype=np.int64)
        return cls(names, zero, zero.copy(), zero.copy())

    @classmethod
    def from_rows(
        cls, rows: Iterable[tuple[str, str, str, int]], models: Iterable[str] = ()
    ) -> PairCounts:
        """From aggregated rows (left model, right model, winner, count), as a GROUP BY gives.

        `models` adds names that may have no votes, so they are listed as such."""
        rows = list(rows)
        for left, right, winner, count in rows:
            if winner not in WINNERS:
                raise RatingInputError(
                    f"unknown winner '{winner}' for {left} vs {right}; use {', '.join(WINNERS)}"
                )
            if int(count) < 0:
                raise RatingInputError(f"negative vote count for {left} vs {right}")
        names = sorted({*models, *(r[0] for r in rows), *(r[1] for r in rows)})
        index = {name: i for i, name in enumerate(names)}
        k = len(names)
        wins = np.zeros((k, k), dtype=np.int64)
        ties = np.zeros((k, k), dtype=np.int64)
        both_bad = np.zeros((k, k), dtype=np.int64)
        dropped = 0
        for left, right, winner, count in rows:
            i, j, n = index[left], index[right], int(count)
            if i == j:
                dropped += n
            elif winner == "left":
                wins[i, j] += n
            elif winner == "right":
                wins[j, i] += n
            elif winner == "tie":
                ties[i, j] += n
                ties[j, i] += n
            else:
                both_bad[i, j] += n
                both_bad[j, i] += n
        return cls(tuple(names), wins, ties, both_bad, dropped)

    @classmethod
    def from_votes(
        cls, left: Sequence[str], right: Sequence[str], winner: Sequence[str],
        models: Iterable[str] = (),
    ) -> PairCounts:
        """From one entry per vote (vectorised; for raw vote lists such as imports)."""
        if not len(left) == len(right) == len(winner):
            raise RatingInputError("left, right and winner must have the same length")
        names = sorted({*models, *left, *right})
        index = {name: i for i, name in enumerate(names)}
        k = len(names)
        codes = {w: c for c, w in enumerate(WINNERS)}
        try:
            w = np.fromiter((codes[x] for x in winner), dtype=np.int64, count=len(winner))
        except KeyError as exc:
            raise RatingInputError(f"unknown winner {exc}; use {', '.join(WINNERS)}") from None
        a = np.fromiter((index[x] for x in left), dtype=np.int64, count=len(left))
        b = np.fromiter((index[x] for x in right), dtype=np.int64, count=len(right))
        same = a == b
        a, b, w = a[~same], b[~same], w[~same]
        # one bincount per outcome over flattened (row, column) cells
        cells = k * k

        def count(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
            return np.bincount(rows * k + cols, minlength=cells).reshape(k, k)

        wins = count(a[w == 0], b[w == 0]) + count(b[w == 1], a[w == 1])
        tie_half = count(a[w == 2], b[w == 2])
        bad_half = count(a[w == 3], b[w == 3])
        return cls(
            tuple(names), wins.astype(np.int64), (tie_half + tie_half.T).astype(np.int64),
            (bad_half + bad_half.T).astype(np.int64), int(same.sum()),
        )

    @property
    def draws(self) -> np.ndarray:
        draws: np.ndarray = self.ties + self.both_bad
        return draws

    @property
    def games(self) -> np.ndarray:
        """games[i, j]: votes between i and j (symmetric)."""
        games: np.ndarray = self.wins + self.wins.T + self.draws
        return games

    @property
    def total(self) -> int:
        return int(np.triu(self.games, 1).sum())

    def votes_per_model(self) -> np.ndarray:
        votes: np.ndarray = self.games.sum(axis=1)
        return votes

    def key(self) -> str:
        """A digest of the counts: equal votes give an equal key (for caching fits)."""
        digest = hashlib.sha256()
        digest.update("\x1f".join(self.models).encode())
        for matrix in (self.wins, self.ties, self.both_bad):
            digest.update(np.ascontiguousarray(matrix, dtype=np.int64).tobytes())
        return digest.hexdigest()

    def subset(self, models: Iterable[str]) -> PairCounts:
        """Only the votes among `models` (names not present are ignored)."""
        wanted = set(models)
        keep = [i for i, m in enumerate(self.models) if m in wanted]
        grid = np.ix_(keep, keep)
        return PairCounts(
            tuple(self.models[i] for i in keep), self.wins[grid], self.ties[grid],
            self.both_bad[grid],
        )


# -- the fit --------------------------------------------------------------------------------------
def _log_p(diff: np.ndarray) -> np.ndarray:
    """log P(i beats j) for r_i − r_j = diff (base-10 logits), without overflow."""
    log_p: np.ndarray = -np.logaddexp(0.0, -LN10 * diff)
    return log_p


def _objective(r: np.ndarray, score: np.ndarray, ridge: float) -> np.ndarray:
    diff = r[:, :, None] - r[:, None, :]
    value: np.ndarray = -(score * _log_p(diff)).sum(axis=(1, 2)) + 0.5 * ridge * (r * r).sum(axis=1)
    return value


def fit_batch(
    score: np.ndarray, ridge: float = RIDGE, *, tol: float = 1e-9, max_iter: int = 100
) -> np.ndarray:
    """Maximum-likelihood r (base-10 logits, mean 0) for a batch of score matrices.

    `score[b, i, j]` is model i's points against j in data set b (wins + half of the draws).
    Damped Newton: the objective is smooth and strictly convex, so halving a step until the
    objective does not rise converges from r = 0 even when a model never loses."""
    score = np.asarray(score, dtype=float)
    if score.ndim != 3 or score.shape[1] != score.shape[2]:
        raise RatingInputError("score must have shape (batch, models, models)")
    batch, k, _ = score.shape
    games = score + score.transpose(0, 2, 1)
    r = np.zeros((batch, k))
    if k < 2:
        return r
    diag = np.arange(k)
    f = _objective(r, score, ridge)
    for _ in range(max_iter):
        diff = r[:, :, None] - r[:, None, :]
        p = 0.5 * (1.0 + np.tanh(0.5 * LN10 * diff))
        grad = -LN10 * (score - games * p).sum(axis=2) + ridge * r
        weight = LN10 * LN10 * games * p * (1.0 - p)
        hess = -weight
        hess[:, diag, diag] = weight.sum(axis=2) + ridge
        # The all-ones direction is an eigenvector of the Hessian (eigenvalue `ridge`, zero
        # without a ridge); lifting it keeps the solve regular and leaves every other
        # direction of the step unchanged. The mean is fixed by centring at the end.
        hess += 1.0 / k
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        t = np.ones(batch)
        for _ in range(40):
            candidate = r - t[:, None] * step
            fc = _objective(candidate, score, ridge)
            worse = fc > f + 1e-12 * np.maximum(1.0, np.abs(f))
            if not worse.any():
                break
            t = np.where(worse, 0.5 * t, t)
        r = candidate - candidate.mean(axis=1, keepdims=True)
        f = _objective(r, score, ridge) if ridge else fc
        if np.max(np.abs(t[:, None] * step)) < tol:
            break
    centred: np.ndarray = r - r.mean(axis=1, keepdims=True)
    return centred


def score_matrix(counts: PairCounts) -> np.ndarray:
    score: np.ndarray = counts.wins + 0.5 * counts.draws
    return score


def fit(counts: PairCounts, ridge: float = RIDGE) -> np.ndarray:
    """Display scores (1000 + 400·r) of the full data, in the order of `counts.models`."""
    r = fit_batch(score_matrix(counts)[None], ridge)[0]
    scores: np.ndarray = BASE + SCALE * r
    return scores


def bootstrap(
    counts: PairCounts, rounds: int = BOOTSTRAP_ROUNDS, seed: int = BOOTSTRAP_SEED,
    ridge: float = RIDGE,
) -> np.ndarray:
    """Display scores of `rounds` refits on votes resampled with replacement: (rounds, models).

    Resampling N votes with replacement is a multinomial draw over the distinct vote kinds
    (who beat whom, or a draw between whom) with their observed frequencies."""
    k = len(counts.models)
    upper = np.triu_indices(k, 1)
    win_rows, win_cols = np.nonzero(counts.wins)
    draw_cells = counts.draws[upper] > 0
    draw_rows, draw_cols = upper[0][draw_cells], upper[1][draw_cells]
    kinds = np.concatenate([counts.wins[win_rows, win_cols], counts.draws[draw_rows, draw_cols]])
    total = int(kinds.sum())
    if rounds < 1:
        raise RatingInputError("need at least one bootstrap round")
    if total == 0:
        return np.full((rounds, k), BASE)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(total, kinds / total, size=rounds)
    n_wins = len(win_rows)
    score = np.zeros((rounds, k, k))
    score[:, win_rows, win_cols] = draws[:, :n_wins]
    half = 0.5 * draws[:, n_wins:]
    score[:, draw_rows, draw_cols] += half
    score[:, draw_cols, draw_rows] += half
    return BASE + SCALE * fit_batch(score, ridge)


# -- the table ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelRating:
    model: str
    votes: int
    wins: int
    losses: int
    draws: int
    score: float | None  # display scale; None when the model has no votes
    lower: float | None
    upper: float | None
    enough: bool  # at least `min_votes` votes: ranked and labelled
    rank_ub: int | None  # None when not ranked
    field_win_probability: float | None  # mean P(beats each other model in the fit)

    @property
    def status(self) -> str:
        if self.votes == 0:
            return "no votes"
        return "ranked" if self.enough else "not enough votes"

    @property
    def label(self) -> str:
        if not self.enough or self.field_win_probability is None:
            return self.status
        return bt_verdict(self.field_win_probability)


@dataclass(frozen=True)
class BTResult:
    ratings: tuple[ModelRating, ...]  # ranked models by score, then the rest by votes
    total_votes: int
    min_votes: int
    rounds: int
    seed: int
    components: int  # groups of models never compared with each other across groups
    message: str | None = None  # why the table is empty, or a caution about it

    @property
    def ranked(self) -> tuple[ModelRating, ...]:
        return tuple(r for r in self.ratings if r.enough)

    def rating(self, model: str) -> ModelRating | None:
        for row in self.ratings:
            if row.model == model:
                return row
        return None


def bt_verdict(win_probability: float) -> str:
    for threshold, label in BT_VERDICT_SCALE:
        if win_probability >= threshold:
            return label
    return BT_VERDICT_SCALE[-1][1]


def win_probability(score_a: float, score_b: float) -> float:
    """P(A beats B) for display scores A and B."""
    odds: float = 10.0 ** ((score_b - score_a) / SCALE)  # float ** float is typed Any
    return 1.0 / (1.0 + odds)


def rank_ub(lower: Sequence[float], upper: Sequence[float]) -> list[int]:
    """1 + the number of models whose lower bound is above this model's upper bound."""
    lo = np.asarray(lower, dtype=float)
    hi = np.asarray(upper, dtype=float)
    return [int(1 + np.sum(lo > h)) for h in hi]


def components(counts: PairCounts) -> int:
    """Connected groups among models that have votes (1 when every model is linked)."""
    active = [i for i, n in enumerate(counts.votes_per_model()) if n > 0]
    linked = counts.games > 0
    seen: set[int] = set()
    groups = 0
    for start in active:
        if start in seen:
            continue
        groups += 1
        stack = [start]
        seen.add(start)
        while stack:
            i = stack.pop()
            for j in np.nonzero(linked[i])[0]:
                if int(j) not in seen:
                    seen.add(int(j))
                    stack.append(int(j))
    return groups


def rate(
    counts: PairCounts, *, min_votes: int = MIN_VOTES, rounds: int = BOOTSTRAP_ROUNDS,
    seed: int = BOOTSTRAP_SEED, ridge: float = RIDGE,
) -> BTResult:
    """The leaderboard for one criterion (and category): fit, intervals, Rank(UB), labels.

    Never raises for thin data: no votes, one model or all ties give a table with a message
    (all ties: every score 1000 with a zero-width interval). Every returned score is finite."""
    per_model = counts.votes_per_model()
    total = counts.total

    def unrated(i: int) -> ModelRating:
        return ModelRating(counts.models[i], int(per_model[i]), 0, 0, 0, None, None, None,
                           False, None, None)

    if len(counts.models) < 2:
        message = (
            "Only one model has generations here; the arena needs two models to compare."
            if counts.models else "No votes yet for this selection."
        )
        return BTResult(tuple(unrated(i) for i in range(len(counts.models))), 0, min_votes,
                        rounds, seed, 0, message)
    if total == 0:
        return BTResult(tuple(unrated(i) for i in range(len(counts.models))), 0, min_votes,
                        rounds, seed, 0, "No votes yet for this selection.")

    active = [i for i in range(len(counts.models)) if per_model[i] > 0]
    sub = counts.subset(counts.models[i] for i in active)
    point = fit(sub, ridge)
    boot = bootstrap(sub, rounds, seed, ridge)
    lower, upper = np.percentile(boot, INTERVAL, axis=0)
    # percentiles of finite refits are finite; keep the point inside its own interval
    lower, upper = np.minimum(lower, point), np.maximum(upper, point)
    sub_votes = sub.votes_per_model()
    enough = sub_votes >= min_votes
    ranks: dict[int, int | None] = dict.fromkeys(range(len(sub.models)))
    idx = np.nonzero(enough)[0]
    for position, rank in zip(idx, rank_ub(lower[idx], upper[idx]), strict=True):
        ranks[int(position)] = rank
    k = len(sub.models)
    rows: list[ModelRating] = []
    for i in range(k):
        others = [j for j in range(k) if j != i]
        field = float(np.mean([win_probability(point[i], point[j]) for j in others]))
        rows.append(
            ModelRating(
                model=sub.models[i], votes=int(sub_votes[i]), wins=int(sub.wins[i].sum()),
                losses=int(sub.wins[:, i].sum()), draws=int(sub.draws[i].sum()),
                score=float(point[i]), lower=float(lower[i]), upper=float(upper[i]),
                enough=bool(enough[i]), rank_ub=ranks[i], field_win_probability=field,
            )
        )
    rows.sort(key=lambda r: (not r.enough, -(r.score or 0.0), r.model))
    rows.extend(unrated(i) for i in range(len(counts.models)) if per_model[i] == 0)
    groups = components(counts)
    notes = []
    if groups > 1:
        notes.append(
            f"The votes fall into {groups} groups of models never compared with each other; "
            "scores are only comparable within a group."
        )
    if not enough.any():
        notes.append(f"No model has {min_votes} votes yet, so none is ranked.")
    if not np.any(counts.wins):
        notes.append("Every vote was a tie or both bad, so every model scores the same.")
    return BTResult(tuple(rows), total, min_votes, rounds, seed, groups,
                    " ".join(notes) or None)


# -- matrices for the heatmaps ------------------------------------------------------------------
@dataclass(frozen=True)
class PairStat:
    model_a: str
    model_b: str
    votes: int
    wins: int  # model_a beat model_b
    draws: int
    win_rate: float  # (wins + draws/2) / votes, model_a's share


def pairwise(counts: PairCounts) -> list[PairStat]:
    """One entry per ordered pair that has votes (pairs without votes are left out, not NaN)."""
    games = counts.games
    stats: list[PairStat] = []
    for i, a in enumerate(counts.models):
        for j, b in enumerate(counts.models):
            n = int(games[i, j])
            if i == j or n == 0:
                continue
            wins, draws = int(counts.wins[i, j]), int(counts.draws[i, j])
            stats.append(PairStat(a, b, n, wins, draws, (wins + 0.5 * draws) / n))
    return stats


# -- rater consistency --------------------------------------------------------------------------
@dataclass(frozen=True)
class Proportion:
    hits: int
    n: int

    @property
    def share(self) -> float | None:
        return self.hits / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float] | None:
        """Wilson 95% interval (sane for small n and for shares of 0 or 1)."""
        if not self.n:
            return None
        z = 1.959964
        p = self.hits / self.n
        denom = 1 + z * z / self.n
        centre = (p + z * z / (2 * self.n)) / denom
        half = z * math.sqrt(p * (1 - p) / self.n + z * z / (4 * self.n * self.n)) / denom
        return max(0.0, centre - half), min(1.0, centre + half)

    def text(self) -> str:
        interval, share = self.interval, self.share
        if interval is None or share is None:  # no votes (n = 0)
            return "no data yet"
        low, high = interval
        return f"{share:.0%} [{low:.0%}–{high:.0%}] of {self.n}"


def position_bias(winners: Mapping[str, int]) -> Proportion:
    """Share of decisive votes (left or right) won by the left image; 50% means no bias."""
    left, right = int(winners.get("left", 0)), int(winners.get("right", 0))
    return Proportion(left, left + right)


def outcome(winner: str, left_generation: str, right_generation: str) -> str:
    """A vote's result independent of the side shown: the winning generation, or 'draw'
    (tie and both bad are both half a point in the fit, so they agree with each other)."""
    if winner == "left":
        return left_generation
    if winner == "right":
        return right_generation
    if winner in ("tie", "both_bad"):
        return "draw"
    raise RatingInputError(f"unknown winner '{winner}'")


def repeat_agreement(pairs: Iterable[tuple[str, str]]) -> Proportion:
    """Share of repeated pairs whose repeat vote had the same outcome as the first vote.

    Each item is (first outcome, repeat outcome) as given by `outcome`."""
    pairs = list(pairs)
    return Proportion(sum(1 for first, again in pairs if first == again), len(pairs))
