"""The Leaderboard's export and import: downloads of the votes in the selection (a battles CSV in
the common arena layout) and of any leaderboard table (CSV or Parquet), and the import of a
battles CSV, all or nothing, with every problem listed when a file is refused.

Files are built by `services.exports` only when a download is clicked."""

from __future__ import annotations

from functools import partial

import streamlit as st

from workbench.domain.filters import HistoryFilter
from workbench.services.delivery import exports
from workbench.services.evidence.leaderboard import Leaderboard
from workbench.services.workbench import Workbench
from workbench.ui.text import plain

IMPORT_RESULT_KEY = "lb_import_result"


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


def exchange(
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
        formats = (
            ("CSV", exports.table_csv, "csv", "text/csv"),
            ("Parquet", exports.table_parquet, "parquet", "application/vnd.apache.parquet"),
        )
        for column, (label, make, ext, mime) in zip(st.columns(2), formats, strict=True):
            column.download_button(
                label,
                data=partial(make, frame),
                file_name=f"{name}.{ext}",
                mime=mime,
                key=f"lb_dl_{ext}",
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


