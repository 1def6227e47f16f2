"""Bradley–Terry maths: the fit recovers known strengths, bootstrap intervals cover the truth,
and thin or odd data (no votes, one model, all ties, a model that never loses) gives finite
scores and a message instead of an error or a NaN."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from workbench.stats.bradley_terry import (
    BASE,
    BT_SCALE_EXPLAINED,
    MIN_VOTES,
    SCALE,
    PairCounts,
    RatingInputError,
    bootstrap,
    bt_verdict,
    fit,
    outcome,
    pairwise,
    position_bias,
    rank_ub,
    rate,
    repeat_agreement,
    win_probability,
)

TRUE_SCORES = np.array([1240.0, 1120.0, 1060.0, 1000.0, 930.0, 850.0])
NAMES = [f"model-{i}" for i in range(len(TRUE_SCORES))]


def simulate(rng: np.random.Generator, scores: np.ndarray, n: int) -> PairCounts:
    """Votes drawn from the Bradley–Terry model itself: random distinct pairs, random sides."""
    k = len(scores)
    a = rng.integers(0, k, n)
    b = (a + rng.integers(1, k, n)) % k
    p_left = 1.0 / (1.0 + 10.0 ** ((scores[b] - scores[a]) / SCALE))
    left_wins = rng.random(n) < p_left
    winner = np.where(left_wins, "left", "right")
    return PairCounts.from_votes([NAMES[i] for i in a], [NAMES[i] for i in b], list(winner))


def centred(scores: np.ndarray) -> np.ndarray:
    """The truth on the fit's scale: mean score 1000 (the fit's identifying constraint)."""
    return scores - scores.mean() + BASE


# -- the statistical proof ------------------------------------------------------------------------
def test_fit_recovers_the_order_of_known_strengths() -> None:
    counts = simulate(np.random.default_rng(7), TRUE_SCORES, 6000)
    result = rate(counts)
    assert [r.model for r in result.ratings] == NAMES  # NAMES are listed strongest first
    fitted = np.array([result.rating(name).score for name in NAMES])
    assert np.max(np.abs(fitted - centred(TRUE_SCORES))) < 25


def test_intervals_cover_the_true_scores_in_at_least_90_percent_of_200_data_sets() -> None:
    """200 data sets of 1,000 votes simulated from known strengths: the 95% bootstrap
    intervals must contain the true score in at least 90% of cases (1,200 intervals in all;
    each model on its own in at least 85%, allowing for its ±1.7% sampling noise), and must
    not be so wide that they cover almost always."""
    rng = np.random.default_rng(20240501)
    truth = centred(TRUE_SCORES)
    covered = np.zeros(len(NAMES), dtype=int)
    sets = 200
    for s in range(sets):
        result = rate(simulate(rng, TRUE_SCORES, 1000), seed=s)
        for i, name in enumerate(NAMES):
            row = result.rating(name)
            covered[i] += row.lower <= truth[i] <= row.upper
    per_model = covered / sets
    pooled = covered.sum() / (sets * len(NAMES))
    assert pooled >= 0.90, f"coverage {pooled:.3f}, per model {per_model}"
    assert per_model.min() >= 0.85, f"per-model coverage {per_model}"
    assert pooled <= 0.99, f"intervals too wide: coverage {pooled:.3f}"


def test_point_estimate_is_the_full_data_fit_and_lies_inside_its_interval() -> None:
    counts = simulate(np.random.default_rng(3), TRUE_SCORES, 900)
    full = fit(counts)
    result = rate(counts)
    for i, name in enumerate(counts.models):
        row = result.rating(name)
        assert row.score == pytest.approx(full[i])
        assert row.lower <= row.score <= row.upper


def test_bootstrap_is_reproducible_with_a_fixed_seed_and_changes_with_another() -> None:
    counts = simulate(np.random.default_rng(4), TRUE_SCORES, 500)
    first = bootstrap(counts, rounds=50, seed=11)
    assert np.array_equal(first, bootstrap(counts, rounds=50, seed=11))
    assert not np.array_equal(first, bootstrap(counts, rounds=50, seed=12))
    assert first.shape == (50, len(NAMES))


def test_bootstrap_resamples_votes_not_pairs() -> None:
    # 90 of 100 votes say a beats b: a resample keeps close to that split, so a's refitted
    # score never falls below b's
    counts = PairCounts.from_rows([("a", "b", "left", 90), ("a", "b", "right", 10)])
    boot = bootstrap(counts, rounds=100, seed=1)
    assert np.all(boot[:, 0] > boot[:, 1])


# -- the scale ------------------------------------------------------------------------------------
def test_scores_follow_the_400_point_base_10_scale() -> None:
    # a beats b 3 times in 4: 10^(d/400) = 3, so d = 400·log10(3) ≈ 190.8, centred on 1000
    counts = PairCounts.from_rows([("a", "b", "left", 300), ("b", "a", "left", 100)])
    a, b = fit(counts, ridge=0.0)
    assert a - b == pytest.approx(400 * math.log10(3), abs=1e-6)
    assert (a + b) / 2 == pytest.approx(1000.0)
    assert win_probability(a, b) == pytest.approx(0.75)


def test_ties_and_both_bad_count_as_half_a_win() -> None:
    tie = PairCounts.from_rows([("a", "b", "left", 10), ("a", "b", "tie", 10)])
    bad = PairCounts.from_rows([("a", "b", "left", 10), ("a", "b", "both_bad", 10)])
    plain = PairCounts.from_rows([("a", "b", "left", 15), ("a", "b", "right", 5)])
    assert fit(tie, 0.0) == pytest.approx(fit(plain, 0.0))
    assert fit(bad, 0.0) == pytest.approx(fit(plain, 0.0))


def test_side_does_not_matter_to_the_fit() -> None:
    as_left = PairCounts.from_rows([("a", "b", "left", 7), ("a", "b", "right", 3)])
    as_right = PairCounts.from_rows([("b", "a", "right", 7), ("b", "a", "left", 3)])
    assert fit(as_left) == pytest.approx(fit(as_right))


def test_aggregating_first_gives_the_same_counts_as_one_row_per_vote() -> None:
    rng = np.random.default_rng(5)
    winners = ["left", "right", "tie", "both_bad"]
    left = [NAMES[i] for i in rng.integers(0, 3, 400)]
    right = [NAMES[i] for i in rng.integers(0, 3, 400)]
    winner = [winners[i] for i in rng.integers(0, 4, 400)]
    per_vote = PairCounts.from_votes(left, right, winner)
    grouped = Counter(zip(left, right, winner, strict=True))
    aggregated = PairCounts.from_rows([(*key, n) for key, n in grouped.items()])
    assert per_vote.key() == aggregated.key()
    assert per_vote.dropped == aggregated.dropped == sum(
        1 for a, b in zip(left, right, strict=True) if a == b
    )
    assert per_vote.total == 400 - per_vote.dropped


# -- thin and odd data ----------------------------------------------------------------------------
def test_no_votes_gives_an_empty_table_with_a_message() -> None:
    result = rate(PairCounts.empty())
    assert result.ratings == ()
    assert "No votes" in result.message


def test_models_without_votes_are_listed_without_a_score() -> None:
    counts = PairCounts.from_rows([("a", "b", "left", 12), ("b", "a", "left", 8)], models=["c"])
    result = rate(counts, min_votes=5)
    c = result.rating("c")
    assert c.score is None and c.rank_ub is None and c.status == "no votes"
    assert {r.model for r in result.ranked} == {"a", "b"}


def test_a_single_model_gives_a_message_not_an_error() -> None:
    result = rate(PairCounts.empty(["only"]))
    assert result.ratings[0].score is None
    assert "two models" in result.message


def test_all_ties_give_equal_finite_scores_and_zero_width_intervals() -> None:
    counts = PairCounts.from_rows([("a", "b", "tie", 20), ("b", "c", "both_bad", 20)])
    result = rate(counts)
    for row in result.ratings:
        assert row.score == pytest.approx(1000.0)
        assert row.lower == pytest.approx(1000.0) and row.upper == pytest.approx(1000.0)
        assert row.rank_ub == 1
    assert "tie" in result.message


def test_a_model_that_never_loses_gets_a_finite_top_score() -> None:
    counts = PairCounts.from_rows(
        [("a", "b", "left", 30), ("a", "c", "left", 30), ("b", "c", "left", 20),
         ("c", "b", "left", 10)]
    )
    result = rate(counts)
    scores = {r.model: r for r in result.ratings}
    assert all(math.isfinite(v) for r in result.ratings for v in (r.score, r.lower, r.upper))
    assert scores["a"].score > scores["b"].score > scores["c"].score
    assert scores["a"].rank_ub == 1
    assert scores["a"].label == "Excellent"


def test_models_below_the_vote_threshold_are_not_ranked() -> None:
    counts = PairCounts.from_rows(
        [("a", "b", "left", 30), ("b", "a", "left", 20), ("c", "a", "left", 3)]
    )
    result = rate(counts, min_votes=10)
    c = result.rating("c")
    assert not c.enough and c.rank_ub is None and c.label == "not enough votes"
    assert c.score is not None and math.isfinite(c.score)
    assert [r.model for r in result.ratings][-1] == "c"  # unranked rows come after ranked ones


def test_disconnected_groups_are_reported() -> None:
    counts = PairCounts.from_rows([("a", "b", "left", 12), ("c", "d", "left", 12)])
    result = rate(counts, min_votes=1)
    assert result.components == 2
    assert "groups" in result.message


def test_unknown_winner_and_negative_counts_are_refused() -> None:
    with pytest.raises(RatingInputError, match="unknown winner"):
        PairCounts.from_rows([("a", "b", "model_a", 1)])
    with pytest.raises(RatingInputError, match="negative"):
        PairCounts.from_rows([("a", "b", "left", -1)])
    with pytest.raises(RatingInputError, match="unknown winner"):
        PairCounts.from_votes(["a"], ["b"], ["draw"])


# -- ranks, labels, matrices ----------------------------------------------------------------------
def test_rank_ub_counts_models_whose_lower_bound_is_above_this_upper_bound() -> None:
    lower = [1100, 1050, 990, 900]
    upper = [1200, 1150, 1060, 980]
    assert rank_ub(lower, upper) == [1, 1, 2, 4]


def test_bt_verdict_scale_matches_its_explanation() -> None:
    assert bt_verdict(0.70) == "Excellent"
    assert bt_verdict(0.60) == "Very Good"
    assert bt_verdict(0.50) == "Good"
    assert bt_verdict(0.30) == "Fair"
    assert "65%" in BT_SCALE_EXPLAINED and str(MIN_VOTES) in BT_SCALE_EXPLAINED


def test_pairwise_win_rates_and_vote_counts() -> None:
    counts = PairCounts.from_rows(
        [("a", "b", "left", 6), ("b", "a", "left", 2), ("a", "b", "tie", 2), ("b", "c", "left", 1)]
    )
    stats = {(s.model_a, s.model_b): s for s in pairwise(counts)}
    assert stats[("a", "b")].win_rate == pytest.approx((6 + 1) / 10)
    assert stats[("b", "a")].win_rate == pytest.approx((2 + 1) / 10)
    assert ("a", "c") not in stats  # no votes: left out rather than NaN
    assert (stats[("a", "b")].votes, stats[("b", "c")].votes) == (10, 1)
    assert stats[("c", "b")].win_rate == 0.0 and stats[("b", "c")].win_rate == 1.0


def test_position_bias_and_repeat_agreement() -> None:
    bias = position_bias({"left": 30, "right": 10, "tie": 50})
    assert bias.n == 40 and bias.share == pytest.approx(0.75)
    low, high = bias.interval
    assert low > 0.5 > 0.0 and high < 1.0
    assert position_bias({}).share is None and position_bias({}).text() == "no data yet"

    first = outcome("left", "g1", "g2")
    again_swapped = outcome("right", "g2", "g1")  # same image won, shown on the other side
    assert first == again_swapped == "g1"
    assert outcome("tie", "g1", "g2") == outcome("both_bad", "g2", "g1") == "draw"
    agreement = repeat_agreement([(first, again_swapped), ("g1", "draw"), ("draw", "draw")])
    assert agreement.hits == 2 and agreement.n == 3


def test_the_rating_maths_is_domain_code_on_numpy_only() -> None:
    import ast
    from pathlib import Path

    import workbench.stats.bradley_terry as module

    tree = ast.parse(Path(module.__file__).read_text())
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    # The project imports allowed are the error root and the vote outcomes, which import
    # nothing themselves.
    roots = {
        name.split(".")[0]
        for name in imported - {"workbench.errors", "workbench.domain.outcomes"}
    }
    assert roots <= {"__future__", "hashlib", "math", "collections", "dataclasses", "numpy"}


# -- boundaries (issue 11): each fails when its boundary moves -----------------------------------
def test_exactly_min_votes_ranks_a_model_and_one_fewer_does_not() -> None:
    rows = [("a", "b", "left", 30), ("b", "a", "left", 20)]
    at_limit = rate(PairCounts.from_rows([*rows, ("c", "a", "left", 6), ("a", "c", "left", 4)]),
                    min_votes=10)
    assert at_limit.rating("c").enough and at_limit.rating("c").rank_ub is not None
    below = rate(PairCounts.from_rows([*rows, ("c", "a", "left", 5), ("a", "c", "left", 4)]),
                 min_votes=10)
    assert not below.rating("c").enough and below.rating("c").rank_ub is None


def test_on_tie_heavy_data_the_bootstrap_median_stays_near_the_fit() -> None:
    counts = PairCounts.from_rows(
        [("a", "b", "tie", 60), ("b", "c", "tie", 60), ("a", "c", "both_bad", 40),
         ("a", "b", "left", 12), ("a", "b", "right", 4), ("b", "c", "left", 10),
         ("c", "b", "left", 5), ("a", "c", "left", 8), ("c", "a", "left", 3)]
    )
    full = fit(counts)
    median = np.median(bootstrap(counts, rounds=300, seed=5), axis=0)
    assert full[0] > full[1] > full[2]
    assert np.abs(median - full).max() < 3.0  # points on the 400-point scale
    # and the spread is the fit's, not shrunk or stretched by how draws are resampled
    assert (median[0] - median[2]) == pytest.approx(full[0] - full[2], rel=0.1)
