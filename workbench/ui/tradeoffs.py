"""The article's trade-off table on the Leaderboard: one row per factor with its definition
beside it, evidence in every cell, the adherence judge's machine rows below the prompt-handling
and text rows (labelled, kept apart), and the table as Markdown in the article's layout."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from workbench.services.evidence.leaderboard import Leaderboard
from workbench.services.evidence.leaderboard.judged import (
    TRADEOFF_GROUPS,
    JudgedEvidence,
    with_machine_rows,
)
from workbench.services.evidence.leaderboard.tradeoffs import tradeoff_table
from workbench.ui.shared import workbench


def tradeoff_section(
    board: Leaderboard, models: Sequence[str], judged: JudgedEvidence | None = None
) -> None:
    st.subheader("Trade-offs")
    table = tradeoff_table(workbench(), board, models)
    if judged is not None and not judged.is_empty:
        table = with_machine_rows(table, judged, TRADEOFF_GROUPS)
    frame = table.frame()
    frame["How it is measured"] = [table.definitions.get(label, "") for label, _ in table.rows]
    st.table(frame.set_index(table.first_column))
    st.caption(
        "The seed article's second table, drawn from your data. \"not enough data\" means too "
        "little evidence for that cell; the number in brackets is the evidence behind it."
    )
    with st.expander("Copy the trade-offs as Markdown"):
        st.code(table.markdown(), language="markdown")
