"""The adherence judge on the Leaderboard: its evidence for the filter (read once a rerun, by
`services.evidence.leaderboard.judged`), and the per-question-category failures of each model.

Machine-judged figures are shown apart from people's, each labelled with the judge model and its
calibration status. Model names are the catalog's; every line goes out as plain text.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.domain.filters import HistoryFilter
from workbench.errors import WorkbenchError
from workbench.services.evidence.leaderboard import Leaderboard
from workbench.services.evidence.leaderboard.judged import JudgedEvidence, judged_evidence
from workbench.services.workbench import Workbench
from workbench.ui.text import plain


def evidence(wb: Workbench, f: HistoryFilter) -> JudgedEvidence | None:
    """The judge's figures for this filter; None (with the reason shown) when its setting is
    unusable."""
    try:
        return judged_evidence(wb, f)
    except WorkbenchError as exc:
        st.caption(plain(f"Adherence judge: {exc}"))
        return None


def failures_section(board: Leaderboard, judged: JudgedEvidence | None) -> None:
    """Per model and question category, the share of the judge's questions its images failed."""
    if judged is None or not judged.failures:
        return
    st.subheader("Questions missed, by category (machine-judged)")
    st.caption(
        f"{plain(judged.source)}. Share of the judge's yes/no questions counted “no”, per "
        "question category, with a Wilson 95% interval over questions (questions of one image "
        "are not independent: read it as the least uncertainty) and the images judged. Kept "
        "apart from people's votes and stars."
    )
    for line in judged.failure_lines(board.names):
        st.text(line)
    st.dataframe(pd.DataFrame(judged.failure_rows(board.names)), hide_index=True,
                 key="lb_judge_failures")
