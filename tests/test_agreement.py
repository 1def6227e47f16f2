"""Inter-rater agreement against hand-computed textbook values.

The reliability data is the worked example of K. Krippendorff (2011), "Computing
Krippendorff's Alpha-Reliability" (https://repository.upenn.edu/asc_papers/43), section C:
4 observers, 12 units, values 1–5, missing data. The paper gives α = 0.743 (nominal),
0.815 (ordinal) and 0.849 (interval) for it; unit 12 has one value only and is not pairable,
so n = 11 units and 40 pairable values.
"""

from __future__ import annotations

import pytest

from workbench.stats.agreement import (
    MIN_OVERLAP,
    agreement_from_tallies,
    alpha_from_counts,
    krippendorff_alpha,
    pair_agreement,
)
from workbench.stats.bradley_terry import outcome

_ = None
PAPER = {  # observer -> values of units 1..12 (None: that observer did not code the unit)
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],
    "C": [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _],
}
UNITS = [
    {who: float(values[u]) for who, values in PAPER.items() if values[u] is not None}
    for u in range(12)
]


@pytest.mark.parametrize(
    ("level", "expected"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)]
)
def test_alpha_matches_krippendorff_2011_worked_example(level: str, expected: float) -> None:
    result = krippendorff_alpha(UNITS, level)  # type: ignore[arg-type]
    assert result.alpha is not None
    assert round(result.alpha, 3) == expected
    assert (result.units, result.values) == (11, 40)
    assert result.text() == f"α = {result.alpha:.2f} (n = 11)"


def test_alpha_interval_matches_the_second_published_example() -> None:
    # Wikipedia's "A computational example" (3 coders, 15 units), interval α = 0.811, the
    # figure the `krippendorff` package's own test checks (0.810845).
    rows = [
        [_, _, _, _, _, 3, 4, 1, 2, 1, 1, 3, 3, _, 3],
        [1, _, 2, 1, 3, 3, 4, 3, _, _, _, _, _, _, _],
        [_, _, 2, 1, 3, 4, 4, _, 2, 1, 1, 3, 3, _, 4],
    ]
    units = [{r: float(row[u]) for r, row in enumerate(rows) if row[u] is not None}
             for u in range(15)]
    interval = krippendorff_alpha(units, "interval").alpha
    nominal = krippendorff_alpha(units, "nominal").alpha
    assert interval is not None and round(interval, 6) == 0.810845
    assert nominal is not None and round(nominal, 6) == 0.691358


def test_perfect_agreement_is_one_and_systematic_disagreement_is_negative() -> None:
    same = [{"ann": float(v), "bob": float(v)} for v in (1, 2, 3, 4, 5)]
    assert krippendorff_alpha(same).alpha == 1.0
    opposite = [{"ann": float(v), "bob": float(6 - v)} for v in (1, 2, 4, 5, 1, 5)]
    result = krippendorff_alpha(opposite).alpha
    assert result is not None and result < 0


def test_too_little_overlap_gives_no_number() -> None:
    units = [{"ann": 1.0, "bob": 1.0}, {"ann": 5.0, "bob": 4.0}, {"ann": 3.0}]
    result = krippendorff_alpha(units, min_overlap=MIN_OVERLAP)
    assert result.alpha is None and result.units == 2
    assert result.text().startswith("not enough overlap yet (n = 2")
    # exactly at the boundary a number appears
    at_boundary = [{"ann": float(v), "bob": float(v)} for v in (1, 2, 3, 4, 5)]
    assert krippendorff_alpha(at_boundary[:MIN_OVERLAP - 1]).alpha is None
    assert krippendorff_alpha(at_boundary[:MIN_OVERLAP]).alpha == 1.0


def test_no_variation_is_undefined_not_perfect() -> None:
    units = [{"ann": 4.0, "bob": 4.0} for _ in range(6)]
    result = krippendorff_alpha(units)
    assert result.alpha is None and result.units == 6
    assert "no variation" in result.text()


def _decision(rater: str, left: str, right: str, winner: str, criterion: str = "overall"
              ) -> tuple[tuple[str, frozenset[str]], str, str]:
    return (criterion, frozenset((left, right))), rater, outcome(winner, left, right)


def test_pair_agreement_counts_rater_pairs_on_shared_image_pairs() -> None:
    decisions = [
        # g1 vs g2: ann and bob agree although bob saw the sides swapped
        _decision("ann", "g1", "g2", "left"),
        _decision("bob", "g2", "g1", "right"),
        # g3 vs g4: three raters; ann and cy call it a draw (tie and both bad are both draws),
        # bob prefers g4: 1 agreeing rater-pair of 3
        _decision("ann", "g3", "g4", "tie"),
        _decision("bob", "g3", "g4", "right"),
        _decision("cy", "g4", "g3", "both_bad"),
        # g5 vs g6: ann's repeat is ignored (her first decision counts); she and bob disagree
        _decision("ann", "g5", "g6", "left"),
        _decision("ann", "g5", "g6", "right"),
        _decision("bob", "g5", "g6", "right"),
        # judged by one rater only: no comparison
        _decision("ann", "g7", "g8", "left"),
        # the same images on another criterion are another item
        _decision("bob", "g1", "g2", "right", criterion="realism"),
    ]
    result = pair_agreement(decisions, min_overlap=3)
    assert (result.same.hits, result.same.n, result.pairs) == (2, 5, 3)
    assert result.text().startswith("40% ")
    assert pair_agreement(decisions, min_overlap=4).text().startswith(
        "not enough overlap yet (n = 3"
    )


def test_alpha_from_grouped_value_counts_is_the_same() -> None:
    """The database sends each unit's star counts with identical units grouped: the paper's 12
    units, read off the table by hand, are 10 shapes (units 3 and 4 are both four 3s, units 5
    and 9 both four 2s; unit 12's single value is not pairable)."""
    shapes = [
        ({1: 3}, 1), ({2: 3, 3: 1}, 1), ({3: 4}, 2), ({2: 4}, 2), ({1: 1, 2: 1, 3: 1, 4: 1}, 1),
        ({4: 4}, 1), ({1: 3, 2: 1}, 1), ({5: 3}, 1), ({1: 2}, 1), ({3: 1}, 1),
    ]
    grouped = [({float(v): n for v, n in counts.items()}, same) for counts, same in shapes]
    for level, expected in (("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)):
        result = alpha_from_counts(grouped, level)  # type: ignore[arg-type]
        assert result.alpha is not None and round(result.alpha, 3) == expected
        assert (result.units, result.values) == (11, 40)


def test_agreement_from_tallies_counts_rater_pairs() -> None:
    # (raters, sum of squared outcome counts, items): two agreeing (2²=4), a 2-1 split of three
    # raters (2²+1²=5: 1 agreeing pair of 3), a disagreeing two (1+1=2), and lone raters
    result = agreement_from_tallies([(2, 4, 1), (3, 5, 1), (2, 2, 1), (1, 1, 4)], min_overlap=3)
    assert (result.same.hits, result.same.n, result.pairs) == (2, 5, 3)
    doubled = agreement_from_tallies([(2, 4, 2), (3, 5, 2), (2, 2, 2)])
    assert (doubled.same.hits, doubled.same.n, doubled.pairs) == (4, 10, 6)
    assert doubled.text() == (
        f"{doubled.same.text()} rater-pairs decided the same way (n = 6 image pairs)"
    )
