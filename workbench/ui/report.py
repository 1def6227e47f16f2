"""The report download: a button that builds the HTML report of a run or of chosen generations,
then a download button for it. Built on request only: a report of many images takes a moment."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from workbench.services.delivery.provenance import generation_ids
from workbench.services.delivery.report import ReportError, build_report, run_title
from workbench.services.workbench import Workbench
from workbench.ui.text import count


def report_download(
    wb: Workbench, *, key: str, run_id: str | None = None, ids: Sequence[str] = (),
    title: str | None = None,
) -> None:
    """'Prepare report' for a run (its succeeded images) and/or these generation ids."""
    state_key = f"{key}_report"
    source = (run_id, tuple(ids))
    ready = st.session_state.get(state_key)
    if ready is not None and ready[0] != source:  # the selection changed: build again
        ready = None
    if ready is None:
        if not st.button("Prepare a report to send", key=f"{key}_report_build",
                         help="One HTML file with the images, prompts, cost, time, ratings and "
                         "verdict rows; opens offline in any browser."):
            return
        try:
            with st.spinner("Building the report…"):
                chosen = generation_ids(wb, run_id=run_id, ids=ids)
                heading = title or (run_title(wb, run_id) if run_id else "Image report")
                report = build_report(wb, chosen, heading)
        except ReportError as exc:
            st.warning(str(exc))
            return
        ready = (source, report.data, report.images)
        st.session_state[state_key] = ready
    _, data, images = ready
    st.download_button(
        f"Download report ({count(images, 'image')}, {len(data) / 1024 / 1024:.1f} MB)", data,
        file_name=f"report-{run_id or 'selection'}.html", mime="text/html",
        key=f"{key}_report_download",
    )
