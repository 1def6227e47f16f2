"""The Judge page: prompt adherence judged by a Gemini model over your own key, and whether that
judge may be trusted here.

Sections: whether the judge can run (and how to enable it), its calibration against people's
votes (shown first: until it says "calibrated", every machine figure is labelled "not yet
calibrated"), judging a run (estimate first, then one button), best-of-N and per-category
failures of that run, the question sets of prompts (view, edit as a new version), and the
judge's own pairwise board when asked for. Prompts and questions are user text: shown with
`st.text`, `st.code` and dataframes, never as Markdown.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from workbench.domain.plural import count
from workbench.errors import WorkbenchError
from workbench.services.evidence.judge import calibration, insights, judging, question_sets
from workbench.services.evidence.judge.settings import judge_model, unavailable_reason
from workbench.services.evidence.leaderboard.judged import JudgedEvidence
from workbench.services.workbench import Workbench
from workbench.ui.names import model_name
from workbench.ui.shared import page, workbench
from workbench.ui.text import plain

PLAN_KEY = "judge_plan"
REPORT_KEY = "judge_report"


def _calibration(wb: Workbench) -> str:
    st.subheader("Checked against people")
    result = calibration.calibration(wb, rounds=400)
    st.text(f"{result.judge_model}: {result.status}. {result.reason}")
    st.dataframe(pd.DataFrame(result.table()), hide_index=True, width="stretch")
    if result.categories:
        st.caption("By question category: the judge's pick from that category's questions "
                   "alone, against people's votes.")
        st.dataframe(pd.DataFrame(result.category_table()), hide_index=True, width="stretch")
    return "" if result.calibrated else " (not yet calibrated)"


def _judge_run(wb: Workbench, run_id: str, pairs: bool, budget: float | None) -> None:
    planned = judging.plan(wb, run_id=run_id, pairs=pairs)
    for line in planned.lines():
        st.text(line)
    if planned.calls == 0:
        return
    if st.button(f"Judge: {count(planned.calls, 'call')}, about ${planned.estimate_usd:.4f}",
                 key="judge_go", type="primary"):
        with st.spinner("Asking the judge..."):
            report = judging.execute(wb, planned, budget_usd=budget)
        st.session_state[REPORT_KEY] = report.lines()
    for line in st.session_state.get(REPORT_KEY, []):
        st.text(line)


def run_adherence(wb: Workbench, run_id: str) -> None:
    """Under a run's grid (Compare, Matrix): its variations ranked by adherence (best of N) and
    the questions missed by category, where the judge has scored them; else how to."""
    if unavailable_reason(wb.settings) is not None:
        return
    with st.expander("Adherence (judge): rank the variations"):
        if not insights.rank_variations(wb, run_id):
            st.caption(f"Not judged yet: `workbench judge --run {run_id}`, or the Judge page.")
            return
        _run_figures(wb, run_id, " (machine-judged)")


def _run_figures(wb: Workbench, run_id: str, tag: str) -> None:
    groups = insights.rank_variations(wb, run_id)
    if groups:
        st.subheader("Best of N: variations ranked by adherence" + tag)
        st.dataframe(pd.DataFrame([
            {"Model": model_name(wb, g.model), "Prompt": g.prompt, "Best": g.best,
             "Ranked (generation: adherence)": ", ".join(f"{gid}: {s:.0%}" for gid, s in g.ranked)}
            for g in groups
        ]), hide_index=True, width="stretch")
    failures = insights.category_failures(wb, run_id=run_id)
    if failures:
        st.subheader("Questions missed, by category" + tag)
        st.dataframe(pd.DataFrame([
            {"Model": model_name(wb, f.model), "Category": f.category, "Missed": f.missed.text(),
             "Images": f.images} for f in failures
        ]), hide_index=True, width="stretch")


def _by_model(wb: Workbench, tag: str) -> None:
    rows = insights.adherence_by_model(wb)
    if not rows:
        return
    st.subheader("Machine-judged evidence for the trade-off rows" + tag)
    st.caption("Mean adherence of each model's judged images, with n and a 95% interval. "
               "Kept apart from people's stars and votes on the Leaderboard.")
    labels = dict(insights.GROUPS)
    st.dataframe(pd.DataFrame([
        {"Row": labels[r.group], "Model": model_name(wb, r.model), "Adherence": r.text()}
        for r in rows
    ]), hide_index=True, width="stretch")


def note(wb: Workbench, judged: JudgedEvidence | None = None) -> None:
    """One line for other pages (Leaderboard, Measurements): the judge's state and where it
    lives, or how to enable it. `judged`: the Leaderboard's evidence, whose calibration status
    is already read."""
    reason = unavailable_reason(wb.settings)
    if reason:
        st.caption(reason)
        return
    if judged is not None:
        model, status = judged.judge_model, judged.status
    else:
        try:
            result = calibration.calibration(wb, rounds=0)
        except WorkbenchError as exc:
            st.caption(plain(f"Adherence judge: {exc}"))
            return
        model, status = result.judge_model, result.status
    st.caption(plain(f"Adherence judge ({model}): {status}. Its agreement with "
                     "people's votes, per criterion and question category, is on the Judge "
                     "page."))


def _questions(wb: Workbench) -> None:
    st.subheader("Questions per prompt")
    prompts = question_sets.recent_prompts(wb)
    if not prompts:
        st.caption("No prompt has questions yet: judging an image writes them first.")
        return
    labels = {digest: text for digest, text, _ in prompts}
    digest = st.selectbox("Prompt", list(labels), format_func=lambda d: plain(labels[d][:90]),
                          key="judge_prompt")
    prompt = labels[digest]
    st.text(prompt)
    versions = question_sets.versions(wb, prompt)
    current = versions[-1]
    st.caption(f"Version {current.version} of {len(versions)} ({current.source}); an edit is "
               "stored as a new version and images are judged again on it.")
    st.dataframe(pd.DataFrame(current.questions), hide_index=True, width="stretch")
    edited = st.text_area("Edit the questions (JSON)", json.dumps(current.questions, indent=1),
                          key=f"judge_edit_{digest}", height=200)
    if st.button("Save as a new version", key="judge_save"):
        try:
            saved = question_sets.save_edit(wb, prompt, question_sets.parse_edit(edited))
        except WorkbenchError as exc:
            st.error(plain(exc))
        else:
            st.success(f"Saved as version {saved.version}.")


def _board(wb: Workbench) -> None:
    if not st.toggle("Show the judge's own pairwise board", key="judge_board",
                     help="Its votes are never counted on people's boards; this shows them "
                     "alone."):
        return
    board = insights.judge_board(wb)
    if board.message:
        st.text(board.message)
    st.dataframe(pd.DataFrame([
        {"Model": model_name(wb, r.model), "Score": r.score, "Lower": r.lower, "Upper": r.upper,
         "Votes": r.votes, "Status": r.status} for r in board.ratings
    ]), hide_index=True, width="stretch")


@page
def render() -> None:
    st.title("Judge")
    st.caption("Prompt adherence judged by a Gemini model: each prompt becomes yes/no "
               "questions, each image is asked them, and the score is the share passed (a "
               "question whose parent failed fails too). Judged on your Gemini key; every call "
               "is priced from its billed tokens and counted against your budget and caps.")
    wb = workbench()
    reason = unavailable_reason(wb.settings)
    if reason:
        st.info(reason)
    else:
        st.caption(f"Judge model: {judge_model(wb.settings)} (setting WORKBENCH_JUDGE_MODEL).")
    tag = _calibration(wb)
    runs = insights.recent_runs(wb)
    if runs:
        st.subheader("Judge a run")
        names = {run_id: n for run_id, n in runs}
        run_id = st.selectbox("Run", list(names),
                              format_func=lambda r: plain(f"{r} ({names[r]} images)"),
                              key="judge_run")
        left, right = st.columns(2)
        pairs = left.toggle("Also judge pairs (both orders)", key="judge_pairs")
        budget = right.number_input("Budget (USD, 0 = none)", min_value=0.0, value=0.0,
                                    step=0.05, key="judge_budget")
        if not reason:
            _judge_run(wb, run_id, pairs, budget or None)
        _run_figures(wb, run_id, tag)
    _by_model(wb, tag)
    _questions(wb)
    _board(wb)
