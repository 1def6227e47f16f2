"""The Leaderboard page: models against criteria from the user's own data.

Widgets in (category, template, provider, date range, offline sketches), one board from
`services.leaderboard` out: Bradley–Terry scores from arena votes with intervals and Rank(UB),
star means with n and interval, what the log measured, automatic image measures, the seed
article's verdict table for chosen models, charts (score against cost and speed with the
Pareto frontier, win-rate and vote-count heatmaps), rater consistency, downloads and the
import of a battles CSV. Every cell is text formatted here or by the service, so a missing
number reads as a word, never as NaN.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from pydantic import ValidationError

from workbench.domain.catalog import PROVIDER_LABELS
from workbench.domain.criteria import SCALE_EXPLAINED
from workbench.domain.filters import HistoryFilter
from workbench.domain.suites import CATEGORIES
from workbench.imaging import metrics as metric_specs
from workbench.services import exports
from workbench.services import history as history_service
from workbench.services import leaderboard as lb_service
from workbench.services.leaderboard import Leaderboard
from workbench.services.leaderboard.measures import (
    PAIRED_METRICS,
    TEXT_ACCURACY_COLUMN,
    metric_columns,
)
from workbench.services.workbench import Workbench
from workbench.stats.bradley_terry import BOOTSTRAP_ROUNDS
from workbench.ui.shared import date_bounds, page, workbench
from workbench.ui.text import plain
from workbench.ui.tradeoffs import tradeoff_section

MEASURE_COLUMNS = ("Median time", "p95 time", "Cost / image", "Failure rate", "Moderation rate")
IMPORT_RESULT_KEY = "lb_import_result"
VERDICT_KEY = "lb_verdict_models"
MISSING = "—"
INK = "#9aa0a6"  # chart text and whiskers: readable on the dark and the light theme


# -- filters --------------------------------------------------------------------------------------
def _category_label(category: str) -> str:
    known = CATEGORIES.get(category)
    return known.label if known else category


def _filters(wb: Workbench) -> HistoryFilter | None:
    options = history_service.choices(wb)
    categories = [*CATEGORIES, *(c for c in options["categories"] if c not in CATEGORIES)]
    with st.expander("Filters", expanded=True):
        c1, c2, c3, c4 = st.columns(4)
        chosen_categories = c1.multiselect(
            "Category", categories, key="lb_categories", format_func=_category_label
        )
        templates = c2.multiselect("Template", options["templates"], key="lb_templates")
        providers = c3.multiselect(
            "Provider",
            options["providers"],
            key="lb_providers",
            format_func=lambda p: PROVIDER_LABELS.get(p, p),
        )
        dates = c4.date_input("Date range", value=(), key="lb_dates", format="YYYY-MM-DD")
        include_offline = st.toggle(
            "Include offline sketches",
            value=False,
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
        "attempts."
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
def _verdict(board: Leaderboard) -> list[str]:
    st.subheader("Verdict table")
    models = list(board.models)
    chosen = [m for m in st.session_state.get(VERDICT_KEY, models[:2]) if m in models]
    st.session_state[VERDICT_KEY] = chosen
    picked = st.multiselect(
        "Models",
        models,
        key=VERDICT_KEY,
        format_func=lambda m: board.names.get(m, m),
        help="The seed article's table, drawn from your data for the models you choose.",
    )
    if not picked:
        st.info("Choose one or more models to draw the verdict table.")
        return []
    verdict = board.verdict(picked)
    st.table(verdict.frame().set_index("Criterion"))
    st.caption(verdict.explanation)
    with st.expander("Copy as Markdown"):
        st.code(verdict.markdown(), language="markdown")
    tradeoff_section(board, picked)
    return picked


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
            hidden.append(f"{label} ({cb.result.total_votes} votes)")
            continue
        with st.expander(f"{label} · {cb.result.total_votes} votes"):
            _bt_table(cb.result, board.names)
    if hidden:
        st.caption(
            f"Hidden until a model there has {board.min_votes} votes: " + ", ".join(hidden) + "."
        )


def _score_chart(data: pd.DataFrame, x_field: str, x_title: str, y_title: str) -> alt.Chart:
    x = alt.X(x_field, title=x_title, scale=alt.Scale(zero=False))
    y = alt.Y("score", title=y_title, scale=alt.Scale(zero=False))
    base = alt.Chart(data)
    tooltip = [
        alt.Tooltip("name", title="Model"),
        alt.Tooltip("score", format=".3~f"),
        alt.Tooltip("lower", format=".3~f"),
        alt.Tooltip("upper", format=".3~f"),
        alt.Tooltip("evidence", title="Evidence"),
        alt.Tooltip(x_field, title=x_title),
    ]
    whiskers = base.mark_rule(color=INK, opacity=0.7).encode(x=x, y="lower", y2="upper")
    points = (
        base.transform_calculate(where="datum.on_frontier ? 'on the frontier' : 'dominated'")
        .mark_circle(size=110, opacity=1)
        .encode(
            x=x,
            y=y,
            tooltip=tooltip,
            color=alt.Color(
                "where:N",
                title="Pareto frontier",
                scale=alt.Scale(
                    domain=["on the frontier", "dominated"], range=["#d62728", "#7f7f7f"]
                ),
            ),
        )
    )
    names = base.mark_text(align="left", dx=8, dy=-6, color=INK).encode(x=x, y=y, text="name")
    frontier = (
        alt.Chart(data[data["on_frontier"]])
        .mark_line(interpolate="step-after", strokeDash=[5, 3], color="#d62728")
        .encode(x=x, y=y, order=alt.Order(x_field))
    )
    return (whiskers + frontier + points + names).properties(height=320)


def _score_charts(board: Leaderboard, criterion: str) -> None:
    label = board.criterion_label(criterion)
    source = (
        st.segmented_control(
            "Score from",
            ["votes", "stars"],
            default="votes",
            key="lb_score_source",
            format_func=lambda s: {"votes": "Arena votes", "stars": "Star ratings"}[s],
        )
        or "votes"
    )
    y_title = f"{label} ({'Bradley–Terry score' if source == 'votes' else 'mean stars'})"
    cols = st.columns(2)
    charts = (
        ("cost", "cost_per_image_usd", "Cost per image (USD)"),
        ("latency", "latency_median_s", "Median generation time (s)"),
    )
    for col, (measure, field, title) in zip(cols, charts, strict=True):
        data = board.score_vs(criterion, measure, source)  # type: ignore[arg-type]
        with col:
            if data.empty:
                st.caption(
                    f"{title}: no model has both enough {source} on {label} and a recorded "
                    f"{'cost' if measure == 'cost' else 'time'} in this selection."
                )
                continue
            st.altair_chart(_score_chart(data, field, title, y_title), key=f"lb_chart_{measure}")
    st.caption(
        "Red points are the Pareto frontier: no other model is at least as cheap (or fast) and "
        "at least as good. Whiskers are 95% intervals."
    )


def _heatmap(
    data: pd.DataFrame, value: str, title: str, fmt: str, scale: alt.Scale, dark_when: str
) -> alt.Chart:
    base = alt.Chart(data).encode(
        x=alt.X("model_b:N", title="against (column)", axis=alt.Axis(labelAngle=-30)),
        y=alt.Y("model_a:N", title="model (row)"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(f"{value}:Q", title=title, scale=scale),
        tooltip=[
            alt.Tooltip("model_a", title="model"),
            alt.Tooltip("model_b", title="against"),
            alt.Tooltip(value, format=fmt),
            alt.Tooltip("votes", title="votes"),
        ],
    )
    text = base.mark_text(fontSize=13).encode(
        text=alt.Text(f"{value}:Q", format=fmt),
        color=alt.condition(dark_when, alt.value("white"), alt.value("black")),
    )
    return (cells + text).properties(height=alt.Step(40), width=alt.Step(90))


def _heatmaps(board: Leaderboard, criterion: str) -> None:
    rates = board.win_rate_frame(criterion)
    counts = board.vote_count_frame(criterion)
    if rates.empty:
        st.caption("Heatmaps appear once two models have votes against each other.")
        return
    cols = st.columns(2)
    with cols[0]:
        st.markdown("**Win rate** (row's share of points against column; ties count half)")
        st.altair_chart(
            _heatmap(
                rates,
                "win_rate",
                "win rate",
                ".0%",
                alt.Scale(domain=[0, 1], scheme="redblue"),
                "datum.win_rate < 0.2 || datum.win_rate > 0.8",
            ),
            key="lb_heat_rates",
        )
    with cols[1]:
        st.markdown("**Votes** between each two models")
        st.altair_chart(
            _heatmap(
                counts,
                "votes",
                "votes",
                "d",
                alt.Scale(scheme="blues", domainMin=0),
                f"datum.votes > {0.6 * max(1, int(counts['votes'].max()))}",
            ),
            key="lb_heat_votes",
        )


def _consistency(wb: Workbench, f: HistoryFilter) -> None:
    st.markdown("**Rater consistency** (all criteria in this selection)")
    figures = lb_service.consistency(wb, f)
    st.markdown("\n".join(f"- {line}" for line in figures.lines()))


def _criterion(wb: Workbench, board: Leaderboard, f: HistoryFilter) -> None:
    st.subheader("Arena scores by criterion")
    ids = [c.id for c in board.criteria]

    def label(cid: str) -> str:
        result = board.voted.get(cid)
        votes = result.total_votes if result else 0
        return f"{board.criterion_label(cid)} · {votes} votes"

    if st.session_state.get("lb_criterion") not in ids:
        voted = [c for c in ids if c in board.voted]
        st.session_state["lb_criterion"] = voted[0] if voted else ids[0]
    criterion = st.selectbox("Criterion", ids, key="lb_criterion", format_func=label)
    result = board.result(criterion)
    _bt_table(result, board.names)
    if not result.total_votes:
        st.caption("Vote on the Arena page to rank models on this criterion.")
    _category_boards(wb, board, criterion, f)
    st.markdown("**Score against cost and speed**")
    _score_charts(board, criterion)
    _heatmaps(board, criterion)
    _consistency(wb, f)


# -- export and import ----------------------------------------------------------------------------
def _import(wb: Workbench) -> None:
    upload = st.session_state.get("lb_import_file")
    if upload is None:
        return
    try:
        report = exports.import_battles_csv(wb, upload.getvalue())
    except exports.ImportRejected as exc:
        st.session_state[IMPORT_RESULT_KEY] = ("rejected", exc.problems, exc.total)
    else:
        st.session_state[IMPORT_RESULT_KEY] = ("imported", report.text(), 0)


def _exchange(
    wb: Workbench, board: Leaderboard, f: HistoryFilter, verdict_models: list[str]
) -> None:
    st.subheader("Export and import")
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("**Download**")
        st.download_button(
            "Votes (battles CSV)",
            data=partial(exports.battles_csv, wb, f),
            file_name="battles.csv",
            mime="text/csv",
            key="lb_dl_battles",
            on_click="ignore",
            icon=":material/download:",
            help="Every vote in this selection in the common arena battle layout (model_a, "
            "model_b, winner, criterion, category, prompt, time), for other rating tools.",
        )
        tables = exports.board_tables(board, verdict_models)
        name = st.selectbox("Leaderboard table", list(tables), key="lb_table")
        frame = tables[name]
        c1, c2 = st.columns(2)
        c1.download_button(
            "CSV",
            data=partial(exports.table_csv, frame),
            file_name=f"{name}.csv",
            mime="text/csv",
            key="lb_dl_csv",
            on_click="ignore",
            icon=":material/download:",
        )
        c2.download_button(
            "Parquet",
            data=partial(exports.table_parquet, frame),
            file_name=f"{name}.parquet",
            mime="application/vnd.apache.parquet",
            key="lb_dl_parquet",
            on_click="ignore",
            icon=":material/download:",
        )
    with right:
        st.markdown("**Import votes**")
        upload = st.file_uploader(
            "A battles CSV (model_a, model_b, winner; criterion, category, prompt, time optional)",
            type=["csv"],
            key="lb_import_file",
            max_upload_size=exports.MAX_IMPORT_BYTES // (1024 * 1024),
        )
        st.button(
            "Import",
            key="lb_import",
            disabled=upload is None,
            on_click=_import,
            args=(wb,),
            help="All or nothing: a file with any problem imports nothing.",
        )
        result = st.session_state.pop(IMPORT_RESULT_KEY, None)
        if result is not None:
            kind, detail, total = result
            if kind == "imported":
                st.success(detail)
            else:
                more = total - len(detail)
                lines = "\n".join(f"- {plain(p)}" for p in detail)
                tail = f"\n- … and {more} more" if more > 0 else ""
                st.error(
                    f"Nothing was imported: the file has {total} "
                    f"problem{'s' if total != 1 else ''}.\n{lines}{tail}"
                )


@page
def render() -> None:
    wb = workbench()
    st.title("Leaderboard")
    f = _filters(wb)
    if f is None:
        return
    board = lb_service.build_leaderboard(wb, f)
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
        verdict_models = _verdict(board)
        _criterion(wb, board, f)
    _exchange(wb, board, f, verdict_models)
