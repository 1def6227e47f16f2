"""The Leaderboard's section on the people judging: consistency in the arena, for everyone and
per rater (position bias; repeated pairs decided the same way), and inter-rater agreement per
criterion (Krippendorff's α over star ratings; the share of image pairs two raters decided the
same way), each with its n. Figures come from `services.leaderboard`; below the minimum
overlap they read "not enough overlap yet", never a number."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.domain.filters import HistoryFilter
from workbench.services.evidence import leaderboard as lb_service
from workbench.services.workbench import Workbench
from workbench.stats.agreement import MIN_OVERLAP
from workbench.ui.text import plain


def _consistency(wb: Workbench, f: HistoryFilter) -> None:
    st.markdown("**Rater consistency** (all criteria in this selection)")
    figures = lb_service.consistency(wb, f)
    st.markdown("\n".join(f"- {plain(line)}" for line in figures.lines()))
    per_rater = lb_service.consistency_by_rater(wb, f)
    if len(per_rater) < 2 and not f.raters:
        return  # one rater: the lines above are theirs
    st.table(
        pd.DataFrame(
            {
                "Rater": [plain(name) for name, _ in per_rater],
                "Left image won (decisive votes)": [c.position.text() for _, c in per_rater],
                "Repeated pairs judged the same way": [c.agreement.text() for _, c in per_rater],
            }
        ).set_index("Rater")
    )


def _agreement(wb: Workbench, f: HistoryFilter) -> None:
    st.markdown("**Inter-rater agreement** (different people judging the same images)")
    found = lb_service.agreement(wb, f)
    rows = found.rows()
    if not rows:
        st.caption(
            "Not enough overlap yet: no image has star ratings from two raters, and no pair "
            "was judged in the arena by two raters, in this selection."
        )
        return
    st.table(pd.DataFrame(rows).set_index("Criterion"))
    st.caption(
        "Krippendorff's α over the stars of images rated by two or more people (each "
        "person's newest rating): 1 is full agreement, 0 what chance would give, below 0 "
        "systematic disagreement; n is the number of such images. Votes: the share of "
        "rater-pairs who decided the same image pair the same way (the same winner, or both "
        "a draw) [95% interval]; n is the number of image pairs judged by two or more raters. "
        f"Fewer than {MIN_OVERLAP} shows no figure. All criteria together: "
        f"{plain(found.votes.text())}."
    )


def rater_section(wb: Workbench, f: HistoryFilter) -> None:
    st.subheader("Raters")
    _consistency(wb, f)
    _agreement(wb, f)
