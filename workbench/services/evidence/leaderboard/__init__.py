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
- rater consistency: position bias and agreement on repeated pairs, for everyone and per
  rater; inter-rater agreement (Krippendorff's α over stars, same decisions on shared pairs).

One module per subject: `fits` (the fit cache), `aggregates` (what is read from the log),
`verdict` (the article's table), `frames` (tables and chart data), `board` (the Leaderboard and
`build_leaderboard`), `raters` (who judged, per-rater consistency, inter-rater agreement).
This package re-exports their public names, so callers import from
`workbench.services.evidence.leaderboard` as before.

Fits are cached on a digest of the aggregated vote counts (plus the settings of the fit), so a
rerun with unchanged votes runs one GROUP BY per table and no fit. Offline sketches compete
under their own name ("model (offline sketch)"), never as the model itself. No score shown is
NaN: a missing value is None in numeric frames and a word in display frames.
"""

from workbench.services.evidence.leaderboard.aggregates import (
    NO_CATEGORY,
    CategoryBoard,
    Consistency,
    Measured,
    category_boards,
    consistency,
    contestant_names,
    leaderboard_filter,
    measured,
    stars,
)
from workbench.services.evidence.leaderboard.board import Leaderboard, build_leaderboard
from workbench.services.evidence.leaderboard.fits import FIT_CACHE_SIZE, FITS
from workbench.services.evidence.leaderboard.frames import bt_frame, bt_text, pareto_front
from workbench.services.evidence.leaderboard.raters import (
    Agreement,
    agreement,
    consistency_by_rater,
    rater_names,
)
from workbench.services.evidence.leaderboard.verdict import (
    MEASURED_ROWS,
    NOT_ENOUGH_DATA,
    VERDICT_EXPLAINED,
    VerdictCell,
    VerdictTable,
)
from workbench.store.votes import OFFLINE, OFFLINE_TAG

__all__ = [
    "FITS", "FIT_CACHE_SIZE", "MEASURED_ROWS", "NOT_ENOUGH_DATA", "NO_CATEGORY", "OFFLINE",
    "OFFLINE_TAG", "VERDICT_EXPLAINED", "Agreement", "CategoryBoard", "Consistency", "Leaderboard",
    "Measured", "VerdictCell", "VerdictTable", "agreement", "bt_frame", "bt_text",
    "build_leaderboard", "category_boards", "consistency", "consistency_by_rater",
    "contestant_names", "leaderboard_filter", "measured", "pareto_front", "rater_names", "stars",
]
