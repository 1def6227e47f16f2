"""The Leaderboard page: model x criterion star ratings with intervals and the article's verdict
labels, beside what the log measured (speed, cost, failures)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.criteria import SCALE_EXPLAINED, load_criteria
from workbench.filters import HistoryFilter
from workbench.ratings import MIN_RATINGS
from workbench.services import ratings as rating_service
from workbench.ui.shared import duration, money, page, percent, workbench


@page
def render() -> None:
    wb = workbench()
    st.title("Leaderboard")
    include_offline = st.toggle(
        "Include offline sketches",
        value=False,
        key="lb_offline",
        help="Sketches are not model output; they are left out unless you ask for them.",
    )
    f = HistoryFilter(include_offline=include_offline)

    st.subheader("Star ratings")
    st.caption(
        f"{SCALE_EXPLAINED} Mean stars with a 95% interval and the number of ratings; "
        f"fewer than {MIN_RATINGS} ratings get no label."
    )
    cells = rating_service.star_table(wb, f)
    if cells:
        labels = {c.id: c.label for c in load_criteria()}
        frame = (
            pd.DataFrame(
                [
                    {
                        "model": c.model,
                        "criterion": labels.get(c.criterion, c.criterion),
                        "cell": f"{c.summary.text()} · {c.summary.label}",
                    }
                    for c in cells
                ]
            )
            .pivot(index="model", columns="criterion", values="cell")
            .fillna("–")
        )
        st.table(frame)
    else:
        st.info("No ratings yet. Rate images on the History page.")

    st.subheader("Measured from the log")
    measured = rating_service.measured_table(wb, f)
    if measured:
        st.table(
            pd.DataFrame(
                [
                    {
                        "model": m["model"],
                        "attempts": m["attempts"],
                        "succeeded": m["succeeded"],
                        "median latency": duration(m["latency_median_ms"]),
                        "p95 latency": duration(m["latency_p95_ms"]),
                        "cost per image": money(
                            m["cost_per_image_usd"],
                            "estimated" if m["cost_has_estimates"] else None,
                        ),
                        "failure rate": percent(m["failure_rate"]),
                        "moderation rate": percent(m["moderation_rate"]),
                    }
                    for m in measured
                ]
            ).set_index("model")
        )
    else:
        st.info("No finished generations to measure yet.")
