"""The seed article's second table ("Factor | Model A | Model B"), row for row, from your data.

Rows in the article's order, each with its definition (`DEFINITIONS`), the evidence behind each
cell and "not enough data" below the thresholds:

- Generation speed, Cost per image: the log's measured rows, as in the verdict table.
- Quality ceiling: the mean Overall stars of each model's best tenth of rated images (at least
  `MIN_CEILING_IMAGES` rated images, so the tenth holds at least one).
- Iterative workflow: batches of `BATCH_SIZE` variations (same run, model and prompt, rated):
  the share holding at least one image rated `GOOD_STARS`★ or better, with the batch's wait
  (its slowest image: Compare sends the variations at once) and cost (the sum), as medians;
  at least `MIN_BATCHES` batches.
- Final delivery quality: Overall (votes, else stars) on the production categories
  (`PRODUCTION`) and on lineage finals: images refined from a draft of another model family
  (for votes, both images of the pair).
- Complex / Minimal prompt handling: Overall and Prompt adherence (votes, else stars) on the
  suite categories `complex` and `minimal`.
- Text in image: the criterion, as in the verdict table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from workbench.domain.criteria import verdict as stars_label
from workbench.domain.filters import HistoryFilter
from workbench.services.evidence.leaderboard.board import Leaderboard
from workbench.services.evidence.leaderboard.fits import FITS
from workbench.services.evidence.leaderboard.verdict import (
    NOT_ENOUGH_DATA,
    VerdictCell,
    VerdictTable,
    criterion_cell,
    measured_cell,
)
from workbench.services.workbench import Workbench
from workbench.stats.bradley_terry import BOOTSTRAP_ROUNDS, BOOTSTRAP_SEED, BTResult, PairCounts
from workbench.stats.ratings import StarSummary, summarise_stars
from workbench.store.tradeoffs import BatchSummary, StarCount, StarSums
from workbench.store.votes import OFFLINE, contestant

PRODUCTION = ("product", "fashion", "architecture")
GROUPS = {"final": PRODUCTION, "complex": ("complex",), "minimal": ("minimal",)}
ROW_CRITERIA = ("overall", "prompt_adherence")
BATCH_SIZE = 4
GOOD_STARS = 4
MIN_BATCHES = 5
CEILING_SHARE = 0.1
MIN_CEILING_IMAGES = 10

FACTORS = (
    ("speed", "Generation speed"),
    ("cost", "Cost per image"),
    ("ceiling", "Quality ceiling"),
    ("iterative", "Iterative workflow"),
    ("final", "Final delivery quality"),
    ("complex", "Complex prompt handling"),
    ("minimal", "Minimal prompt handling"),
    ("text", "Text in image"),
)
DEFINITIONS = {
    "Generation speed": "median seconds from request to image, over succeeded images.",
    "Cost per image": "mean dollars per succeeded image (the provider's figure when it gives "
    "one, else the catalog price).",
    "Quality ceiling": "mean Overall stars of the model's best tenth of rated images "
    f"(at least {MIN_CEILING_IMAGES} rated images).",
    "Iterative workflow": f"share of batches of {BATCH_SIZE} rated variations (one run, model "
    f"and prompt) holding at least one image rated {GOOD_STARS}★ or better, with a batch's "
    f"median wait (its slowest image) and cost (at least {MIN_BATCHES} batches).",
    "Final delivery quality": "Overall, from votes (else stars), on the production "
    f"categories {', '.join(PRODUCTION)} and on finals (images refined from a draft made "
    "with another model family).",
    "Complex prompt handling": "Overall, then Prompt adherence, from votes (else stars) on "
    "the 'complex' suite category.",
    "Minimal prompt handling": "Overall, then Prompt adherence, from votes (else stars) on "
    "the 'minimal' suite category.",
    "Text in image": "the Text in image criterion, from votes (else stars).",
}
EXPLAINED = (
    "Labels from votes follow the win-probability scale, from stars the star scale, as in the "
    "verdict table. The number in brackets is the evidence behind a cell."
)


@dataclass(frozen=True)
class Ceiling:
    images: int  # rated images
    top: int  # images in the best tenth
    mean: float | None  # their mean stars


@dataclass(frozen=True)
class Batches:
    batches: int
    good: int
    wait_median_s: float | None
    dollars_median: float | None


def ceiling(histogram: Sequence[tuple[float, int]], share: float = CEILING_SHARE) -> Ceiling:
    """The best `share` of rated images (at least one) from (stars, count) pairs."""
    images = sum(n for _, n in histogram)
    if not images:
        return Ceiling(0, 0, None)
    top = max(1, math.ceil(images * share))
    taken, total = 0, 0.0
    for stars, n in sorted(histogram, reverse=True):
        use = min(n, top - taken)
        taken += use
        total += use * stars
        if taken == top:
            break
    return Ceiling(images, top, total / top)


def _split(row: StarCount | StarSums | BatchSummary) -> str:
    return contestant(row.model, OFFLINE if row.sketch else None)


def ceilings(wb: Workbench, f: HistoryFilter) -> dict[str, Ceiling]:
    grouped: dict[str, list[tuple[float, int]]] = {}
    for row in wb.tradeoffs.star_histogram(f, "overall"):
        grouped.setdefault(_split(row), []).append((float(row.stars), int(row.n)))
    return {name: ceiling(hist) for name, hist in grouped.items()}


def batches(wb: Workbench, f: HistoryFilter) -> dict[str, Batches]:
    out = {}
    for row in wb.tradeoffs.batches(f, "overall", BATCH_SIZE, GOOD_STARS):
        wait = row.wait_median_ms
        dollars = row.dollars_median
        out[_split(row)] = Batches(
            int(row.batches), int(row.good),
            None if wait is None else float(wait) / 1000.0,
            None if dollars is None else float(dollars),
        )
    return out


def ceiling_cell(c: Ceiling | None) -> VerdictCell:
    if c is None or c.images < MIN_CEILING_IMAGES or c.mean is None:
        rated = c.images if c else 0
        return VerdictCell(NOT_ENOUGH_DATA, rated, "none", f"{rated} rated images")
    label = f"{c.mean:.1f}★ · {stars_label(c.mean)}"
    return VerdictCell(label, c.images, "stars", f"best {c.top} of {c.images} rated images")


def batch_cell(b: Batches | None) -> VerdictCell:
    if b is None or b.batches < MIN_BATCHES:
        n = b.batches if b else 0
        return VerdictCell(NOT_ENOUGH_DATA, n, "none", f"{n} rated batches of {BATCH_SIZE}")
    parts = [f"{b.good / b.batches:.0%} hold a {GOOD_STARS}★+ image"]
    if b.wait_median_s is not None:
        parts.append(f"{b.wait_median_s:.1f} s")
    if b.dollars_median is not None:
        parts.append(f"${b.dollars_median:.3f} a batch")
    return VerdictCell(" · ".join(parts), b.batches, "batches", f"{b.good} of {b.batches}")


def _pair_cell(overall: VerdictCell, adherence: VerdictCell) -> VerdictCell:
    """Overall, with Prompt adherence beside it, each with its own evidence."""
    if overall.source == "none" and adherence.source == "none":
        return VerdictCell(NOT_ENOUGH_DATA, overall.evidence, "none", overall.detail)
    return VerdictCell(
        f"{overall.text}; adherence {adherence.text}", overall.evidence + adherence.evidence,
        "pair",
    )


@dataclass(frozen=True)
class GroupEvidence:
    """Votes and stars on the criteria of the category rows, for one group of categories."""

    voted: dict[str, BTResult]
    stars: dict[tuple[str, str], StarSummary]


def _groups(f: HistoryFilter) -> dict[str, tuple[str, ...]]:
    """Each category row's categories, narrowed by the filter's own when it names any."""
    return {
        key: tuple(c for c in wanted if not f.categories or c in f.categories)
        for key, wanted in GROUPS.items()
    }


def _stars(rows: Sequence[tuple[int, float, float]]) -> StarSummary:
    """One summary from (n, sum, sum of squares) of several categories: exact, not averaged."""
    n = sum(r[0] for r in rows)
    total = sum(r[1] for r in rows)
    squares = sum(r[2] for r in rows)
    sd = math.sqrt(max(0.0, (squares - total * total / n) / (n - 1))) if n > 1 else None
    return summarise_stars(n, total / n, sd)


def group_evidence(wb: Workbench, board: Leaderboard) -> dict[str, GroupEvidence | None]:
    """Per category row, its votes (Bradley–Terry, cached fits) and stars; None when the
    filter leaves all its categories out. Three queries, whatever the number of groups."""
    groups = _groups(board.filter)
    votes: dict[str, dict[str, list[tuple[str, str, str, int]]]] = {k: {} for k in groups}
    log = wb.tallies
    for criterion in ROW_CRITERIA:
        for category, a, b, winner, n, finals in log.pair_counts_by_group(
            board.filter, criterion
        ):
            for key, categories in groups.items():
                if category in categories or (finals and key == "final" and categories):
                    votes[key].setdefault(criterion, []).append((a, b, winner, n))
    sums: dict[str, dict[tuple[str, str], list[tuple[int, float, float]]]] = {
        k: {} for k in groups}
    for row in wb.tradeoffs.star_sums_by_category(board.filter, ROW_CRITERIA):
        for key, categories in groups.items():
            if row.category in categories or (row.final and key == "final" and categories):
                sums[key].setdefault((_split(row), row.criterion), []).append(
                    (int(row.n), float(row.total), float(row.squares)))
    out: dict[str, GroupEvidence | None] = {}
    for key, categories in groups.items():
        if not categories:
            out[key] = None
            continue
        voted = {
            c: FITS.rate(PairCounts.from_rows(rows), board.min_votes, BOOTSTRAP_ROUNDS,
                         BOOTSTRAP_SEED)
            for c, rows in votes[key].items()
        }
        out[key] = GroupEvidence(voted, {k: _stars(v) for k, v in sums[key].items()})
    return out


def tradeoff_table(wb: Workbench, board: Leaderboard, models: Sequence[str]) -> VerdictTable:
    """The article's trade-off table for the chosen models (contestant names, in order)."""
    f = board.filter
    with wb.db.cursor():  # one connection for every read below
        tops = ceilings(wb, f)
        runs = batches(wb, f)
        groups = group_evidence(wb, board)
    left_out = VerdictCell(NOT_ENOUGH_DATA, 0, "none", "the filter leaves these categories out")

    def on(key: str, model: str, criterion: str) -> VerdictCell:
        group = groups[key]
        if group is None:
            return left_out
        return criterion_cell(group.voted, group.stars, model, criterion)

    def cell(key: str, model: str) -> VerdictCell:
        if key in ("speed", "cost"):
            return measured_cell(board.measured, model, key)
        if key == "ceiling":
            return ceiling_cell(tops.get(model))
        if key == "iterative":
            return batch_cell(runs.get(model))
        if key == "final":
            return on(key, model, "overall")
        if key in ("complex", "minimal"):
            if groups[key] is None:
                return left_out
            return _pair_cell(on(key, model, "overall"), on(key, model, "prompt_adherence"))
        return criterion_cell(board.voted, board.stars, model, "text_in_image")

    rows = tuple((label, tuple(cell(key, m) for m in models)) for key, label in FACTORS)
    definitions = {label: DEFINITIONS[label] for _, label in FACTORS}
    return VerdictTable(
        tuple(models), tuple(board.names.get(m, m) for m in models), rows,
        explanation=EXPLAINED + " " + " ".join(f"{k}: {v}" for k, v in definitions.items()),
        first_column="Factor", definitions=definitions,
    )
