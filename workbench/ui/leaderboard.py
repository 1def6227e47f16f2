"""The Leaderboard page: models against criteria from the user's own data.

Widgets in (category, template, provider, date range, raters, offline sketches), one board from
`services.leaderboard` out: Bradley–Terry scores from arena votes with intervals and Rank(UB),
star means with n and interval, what the log measured, automatic image measures, the seed
article's verdict table for chosen models and the Bradley–Terry table per criterion. Every cell
is text formatted here or by the service, so a missing number reads as a word, never as NaN.
The adherence judge's figures are rows of their own in the verdict and trade-off tables, and
per-category failures below them, labelled machine-judged with the judge's calibration status
(`leaderboard_judge`). The rest lives beside the page: charts in `leaderboard_charts`, rater
consistency and inter-rater agreement in `leaderboard_raters`, downloads and the battles import
in `leaderboard_transfer`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st
from pydantic import ValidationError

from workbench.domain.catalog import PROVIDER_LABELS
from workbench.domain.criteria import SCALE_EXPLAINED
from workbench.domain.filters import HistoryFilter
from workbench.domain.suites import CATEGORIES
from workbench.imaging import measure as metric_specs
from workbench.services import history as history_service
from workbench.services.evidence import leaderboard as lb_service
from workbench.services.evidence.leaderboard import Leaderboard
from workbench.services.evidence.leaderboard.judged import (
    VERDICT_GROUPS,
    JudgedEvidence,
    with_machine_rows,
)
from workbench.services.evidence.leaderboard.measures import (
    PAIRED_METRICS,
    TEXT_ACCURACY_COLUMN,
    metric_columns,
)
from workbench.services.evidence.leaderboard.providers import provider_board
from workbench.services.workbench import Workbench
from workbench.stats.bradley_terry import BOOTSTRAP_ROUNDS
from workbench.ui import url_state
from workbench.ui.judge import note as judge_note
from workbench.ui.leaderboard_charts import heatmaps, score_charts
from workbench.ui.leaderboard_judge import evidence, failures_section
from workbench.ui.leaderboard_raters import rater_section
from workbench.ui.leaderboard_transfer import exchange
from workbench.ui.shared import date_bounds, page, workbench
from workbench.ui.text import count, plain
from workbench.ui.tradeoffs import tradeoff_section
from workbench.ui.widget_value import held, picked, position

MEASURE_COLUMNS = ("Median time", "p95 time", "Cost / image", "Failure rate", "Moderation rate")
VERDICT_KEY = "lb_verdict_models"
MISSING = "—"


# -- filters --------------------------------------------------------------------------------------
def _category_label(category: str) -> str:
    known = CATEGORIES.get(category)
    return known.label if known else category


def _filters(wb: Workbench) -> HistoryFilter | None:
    """The board's filters, kept in the URL (ui.url_state) like History's."""
    options = history_service.choices(wb)
    categories = [*CATEGORIES, *(c for c in options["categories"] if c not in CATEGORIES)]
    raters = lb_service.rater_names(wb)
    F = url_state.Field
    fields = [
        F("lb_categories", "list", [], categories),
        F("lb_templates", "list", [], options["templates"]),
        F("lb_providers", "list", [], options["providers"]),
        F("lb_dates", "dates", []),
        F("lb_raters", "list", [], raters),
        F("lb_offline", "bool", False),
    ]
    url_state.restore("leaderboard", fields)
    f = _filter_widgets(options, categories, raters)
    url_state.publish("leaderboard", fields)
    return f


def _filter_widgets(
    options: dict[str, list[str]], categories: list[str], raters: list[str]
) -> HistoryFilter | None:
    with st.expander("Filters", expanded=True):
        c1, c2, c3, c4 = st.columns(4)
        chosen_categories = c1.multiselect(
            "Category", categories, picked("lb_categories", categories), key="lb_categories",
            format_func=_category_label,
        )
        templates = c2.multiselect(
            "Template", options["templates"], picked("lb_templates", options["templates"]),
            key="lb_templates",
        )
        providers = c3.multiselect(
            "Provider",
            options["providers"],
            picked("lb_providers", options["providers"]),
            key="lb_providers",
            format_func=lambda p: PROVIDER_LABELS.get(p, p),
        )
        # [] not (): Streamlit's stub lists no empty-tuple range overload; both are the same
        # empty range at runtime (any sequence, same parsed value and widget id).
        dates = c4.date_input(
            "Date range", held("lb_dates", []), key="lb_dates", format="YYYY-MM-DD"
        )
        chosen_raters = st.multiselect(
            "Raters",
            raters,
            picked("lb_raters", raters),
            key="lb_raters",
            help="Count only these people's star ratings and arena votes (none chosen: "
            "everyone's). Generations, speed and cost are not filtered by it.",
        )
        include_offline = st.toggle(
            "Include offline sketches",
            held("lb_offline", False),
            key="lb_offline",
            help="Sketches are drawn locally, not by a model. When included they compete under "
            "their own name, never as the model.",
        )
    date_from, date_to = date_bounds(dates)
    try:
        return lb_service.leaderboard_filter(
            categories=chosen_categories,
            templates=templates,
            providers=providers,
            date_from=date_from,
            date_to=date_to,
            include_offline=include_offline,
            raters=chosen_raters,
        )
    except ValidationError as exc:
        st.error("Filter not applied: " + "; ".join(e["msg"] for e in exc.errors()))
        return None


# -- the model x criterion tables -----------------------------------------------------------------
def _scores_table(board: Leaderboard, overview: pd.DataFrame) -> None:
    scores = overview[[c for c in overview.columns if c not in MEASURE_COLUMNS]]
    if len(scores.columns) <= 1:
        st.info(
            "No arena votes or star ratings in this selection yet. Vote on the Arena page or "
            "rate images on the History page; until then only the measured columns below "
            "speak."
        )
        return
    st.table(scores.set_index("Model"))
    st.caption(
        f"Votes: Bradley–Terry score [95% interval] #Rank(UB) · label; a model needs "
        f"{board.min_votes} votes on a criterion to be ranked. Stars: mean [95% interval] n · "
        "label. “—” means no votes or ratings."
    )


def _measured_table(
    wb: Workbench, board: Leaderboard, overview: pd.DataFrame, f: HistoryFilter
) -> None:
    measured = overview[["Model", *[c for c in MEASURE_COLUMNS if c in overview.columns]]].copy()
    extra = metric_columns(wb, f)
    for title, cells in extra.items():
        measured[title] = [cells.get(m, MISSING) for m in board.models]
    st.table(measured.set_index("Model"))
    notes = [
        "Times are medians and 95th percentiles of finished attempts; cost is the mean per "
        "succeeded image (est. where the price is estimated); rates are shares of finished "
        "attempts. An image that arrived but could not be stored here, or a workbench error, "
        "is not counted against the model."
    ]
    if extra:
        shown = [s for s in PAIRED_METRICS if f"{metric_specs.SPECS[s].label} vs others" in extra]
        notes.append(
            "Automatic measures are paired: a model's images minus the other models' images of "
            "the same prompt, mean over prompts [95% interval], so scene content cancels out. "
            + " ".join(
                f"{metric_specs.SPECS[s].label}: {metric_specs.SPECS[s].explain}" for s in shown
            )
        )
    if TEXT_ACCURACY_COLUMN in extra:
        notes.append(
            "Text accuracy: 1 − character error rate of the quoted text, read by OCR, over "
            "prompts of the text category; “exact” is the share spelled exactly right."
        )
    st.caption(" ".join(notes))


def _explain_labels(board: Leaderboard) -> None:
    with st.expander("How labels map to scores"):
        st.markdown(
            f"- **Voted criteria** (arena): Bradley–Terry by maximum likelihood; a win counts 1, "
            f"a loss 0, a tie or “both bad” ½. Score = 1000 + 400·r, so 400 points mean 10:1 "
            f"odds. The 95% interval comes from {BOOTSTRAP_ROUNDS} bootstrap rounds with a "
            f"fixed seed. Rank(UB) = 1 + the number of models whose lower bound is above this "
            f"model's upper bound. Fewer than {board.min_votes} votes: “not enough votes”.\n"
            f"- {lb_service.VERDICT_EXPLAINED}\n"
            f"- **Star ratings**: {SCALE_EXPLAINED}"
        )


# -- the verdict table ----------------------------------------------------------------------------
def _verdict(board: Leaderboard, judged: JudgedEvidence | None) -> list[str]:
    st.subheader("Verdict table")
    models = list(board.models)
    chosen = [m for m in st.session_state.get(VERDICT_KEY, models[:2]) if m in models]
    st.session_state[VERDICT_KEY] = chosen
    shown = st.multiselect(
        "Models",
        models,
        chosen,
        key=VERDICT_KEY,
        format_func=lambda m: board.names.get(m, m),
        help="The seed article's table, drawn from your data for the models you choose.",
    )
    if not shown:
        st.info("Choose one or more models to draw the verdict table.")
        return []
    verdict = board.verdict(shown)
    if judged is not None and not judged.is_empty:
        verdict = with_machine_rows(verdict, judged, VERDICT_GROUPS)
    st.table(verdict.frame().set_index("Criterion"))
    st.caption(verdict.explanation)
    with st.expander("Copy as Markdown"):
        st.code(verdict.markdown(), language="markdown")
    tradeoff_section(board, shown, judged)
    return shown


# -- one criterion: Bradley–Terry, categories, charts --------------------------------------------
def _bt_display(frame: pd.DataFrame) -> pd.DataFrame:
    def score(row: pd.Series) -> str:
        if pd.isna(row["score"]):
            return "no votes" if not row["votes"] else f"not enough votes ({row['votes']})"
        return f"{row['score']} [{row['lower']}–{row['upper']}]"

    return pd.DataFrame(
        {
            "Rank (UB)": [MISSING if pd.isna(r) else str(r) for r in frame["rank_ub"]],
            "Model": frame["name"],
            "Score [95% interval]": [score(row) for _, row in frame.iterrows()],
            "Votes": frame["votes"].astype(int),
            "Wins / losses / draws": [
                f"{w} / {lo} / {d}"
                for w, lo, d in zip(frame["wins"], frame["losses"], frame["draws"], strict=True)
            ],
            "Expected wins vs field": [
                MISSING if pd.isna(p) else f"{p:.0%}" for p in frame["win_vs_field"]
            ],
            "Label": frame["label"],
        }
    )


def _bt_table(result: Any, names: dict[str, str]) -> None:
    if result.message:
        st.info(result.message)
    frame = lb_service.bt_frame(result, names)
    if not frame.empty and frame["votes"].sum() > 0:
        st.table(_bt_display(frame).set_index("Rank (UB)"))


def _category_boards(wb: Workbench, board: Leaderboard, criterion: str, f: HistoryFilter) -> None:
    boards = lb_service.category_boards(wb, criterion, f, min_votes=board.min_votes)
    if not boards:
        return
    st.markdown("**By category**")
    hidden = []
    for cb in boards:
        label = plain(_category_label(cb.category))
        if not cb.shown:
            hidden.append(f"{label} ({count(cb.result.total_votes, 'vote')})")
            continue
        with st.expander(f"{label} · {count(cb.result.total_votes, 'vote')}"):
            _bt_table(cb.result, board.names)
    if hidden:
        st.caption(
            f"Hidden until a model there has {board.min_votes} votes: " + ", ".join(hidden) + "."
        )


def _criterion(wb: Workbench, board: Leaderboard, f: HistoryFilter) -> None:
    st.subheader("Arena scores by criterion")
    ids = [c.id for c in board.criteria]

    def label(cid: str) -> str:
        result = board.voted.get(cid)
        votes = result.total_votes if result else 0
        return f"{board.criterion_label(cid)} · {count(votes, 'vote')}"

    field = [url_state.Field("lb_criterion", "choice", None, ids)]
    url_state.restore("leaderboard_criterion", field)
    if st.session_state.get("lb_criterion") not in ids:
        voted = [c for c in ids if c in board.voted]
        st.session_state["lb_criterion"] = voted[0] if voted else ids[0]
    criterion = st.selectbox(
        "Criterion", ids, position("lb_criterion", ids), key="lb_criterion",
        format_func=label,
    )
    url_state.publish("leaderboard_criterion", field)
    result = board.result(criterion)
    _bt_table(result, board.names)
    if not result.total_votes:
        st.caption("Vote on the Arena page to rank models on this criterion.")
    _category_boards(wb, board, criterion, f)
    st.markdown("**Score against cost and speed**")
    score_charts(board, criterion)
    heatmaps(board, criterion)


def _provider_board(wb: Workbench, f: HistoryFilter) -> None:
    """One model, several providers: how each did on these prompts."""
    board = provider_board(wb, f)
    st.subheader("Providers of the same model")
    if not board.attempts:
        st.caption(
            "Run a model that several providers offer (Nano Banana 2, FLUX.2 Pro, …) through "
            "two or more of them to compare their speed, success, moderation and cost here."
        )
        return
    st.caption(
        "From your own finished attempts in this selection: rates over attempts, latency over "
        "successes (median and 95th percentile), cost per image; each with its n. Failures "
        "the workbench caused (storage, its own errors) are not the provider's."
    )
    st.dataframe(board.display(), hide_index=True, key="lb_provider_board")


@page
def render() -> None:
    wb = workbench()
    st.title("Leaderboard")
    f = _filters(wb)
    if f is None:
        return
    board = lb_service.build_leaderboard(wb, f)
    judged = evidence(wb, f)  # the adherence judge's stored figures, shown apart from people's
    verdict_models: list[str] = []
    if board.is_empty:
        sketches = "" if f.include_offline else " Offline sketches are left out unless included."
        st.info(
            "Nothing to rank in this selection yet: no finished generations, ratings or votes."
            f"{sketches} Generate on Build, Compare or Matrix, then vote in the Arena or rate "
            "images on History."
        )
    else:
        if len(board.models) == 1:
            st.info(
                "Only one model in this selection — "
                f"{board.names.get(board.models[0], board.models[0])} — so there is nobody to "
                "rank it against; its ratings and measures are shown below."
            )
        st.subheader("Models × criteria")
        overview = board.overview_frame()
        _scores_table(board, overview)
        _explain_labels(board)
        st.markdown("**Measured from the log**")
        _measured_table(wb, board, overview, f)
        verdict_models = _verdict(board, judged)
        failures_section(board, judged)
        _provider_board(wb, f)
        _criterion(wb, board, f)
        rater_section(wb, f)
    exchange(wb, board, f, verdict_models)
    judge_note(wb, judged)  # the adherence judge's state, or how to enable it (ui/judge.py)
