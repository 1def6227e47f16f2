"""The Leaderboard's charts for one criterion, drawn with Altair from the board's frames.

- Score against cost per image and against median generation time (from arena votes or star
  ratings), with 95% whiskers and the Pareto frontier (no other model at least as cheap, or
  fast, and at least as good) in red.
- Heatmaps of pairwise win rates (ties count half) and of vote counts between each two models.

Data comes ready from `services.leaderboard.Leaderboard`; this module only draws it.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from workbench.services.evidence.leaderboard import Leaderboard

INK = "#9aa0a6"  # chart text and whiskers: readable on the dark and the light theme


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


def score_charts(board: Leaderboard, criterion: str) -> None:
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


def heatmaps(board: Leaderboard, criterion: str) -> None:
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

