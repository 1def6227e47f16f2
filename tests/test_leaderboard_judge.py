"""The adherence judge's evidence on the Leaderboard, on both backends: per model the mean score
of its judged images on the complex and minimal suite categories and on the text questions,
with n and an interval; questions missed per question category with n and a Wilson interval;
machine rows in the verdict and trade-off tables apart from people's, labelled with the judge
model and its calibration status; offline sketches never counted; the Leaderboard's filter
applied. Scores come from the loopback fake judge reading synthetic scenes."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.judge_data import PROMPT, add_scene, judged_workbench
from harness.judge_scenes import Disc, Scene
from workbench import config
from workbench.services.evidence import leaderboard as lb
from workbench.services.evidence.judge import judging, question_sets
from workbench.services.evidence.judge.settings import DEFAULT_MODEL
from workbench.services.evidence.leaderboard.judged import (
    TRADEOFF_GROUPS,
    VERDICT_GROUPS,
    judged_evidence,
    with_machine_rows,
)
from workbench.services.evidence.leaderboard.tradeoffs import tradeoff_table
from workbench.services.workbench import Workbench
from workbench.store.votes import NewVote

GOOD = Scene((Disc("red", 50, 60), Disc("red", 60, 140), Disc("blue", 200, 100)), "OPEN")
BAD = Scene((Disc("red", 200, 60), Disc("blue", 50, 100)), "OPNE")
MINIMAL = "one blue circle"
BLUE = Scene((Disc("blue", 120, 100),))
NB, FP = "nano-banana-2", "flux-2-pro"
LABEL = f"judged by {DEFAULT_MODEL} (machine, not yet calibrated)"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("WORKBENCH_JUDGE_MODEL", raising=False)
    monkeypatch.setattr(config, "SECRETS_FILE", tmp_path / "none.toml")


def _judged_log(wb: Workbench) -> dict[str, str]:
    """Two complex images a model (FLUX.2 Pro follows the prompt twice, Nano Banana 2 once), a
    minimal one of Nano Banana 2, all judged; then an offline sketch of the same picture."""
    ids = {
        "fp1": add_scene(wb, GOOD, model=FP, provider="bfl"),
        "fp2": add_scene(wb, GOOD, model=FP, provider="bfl"),
        "nb_bad": add_scene(wb, BAD, model=NB),
        "nb_good": add_scene(wb, GOOD, model=NB),
        "nb_min": add_scene(wb, BLUE, model=NB, prompt=MINIMAL, category="minimal"),
    }
    report = judging.execute(wb, judging.plan(wb, generation_ids=list(ids.values())))
    # Identical pictures share one score (cached by image): three images judged, five scored.
    assert len(report.scored) == 3 and not report.failed
    # Same prompt and image bytes as a judged image: its score's join would find it, but a
    # sketch is never judged evidence.
    ids["sketch"] = add_scene(wb, BAD, model=NB, provider="offline")
    return ids


def test_machine_figures_on_each_backend(backend, request, tmp_path: Path):
    env = {"WORKBENCH_DATABASE_URL": request.getfixturevalue("pg_url")} if (
        backend == "postgres") else {}
    with judged_workbench(tmp_path, **env) as (wb, _fake):
        ids = _judged_log(wb)
        f = lb.leaderboard_filter(include_offline=True)
        judged = judged_evidence(wb, f)
        assert judged.judge_model == DEFAULT_MODEL and judged.source == LABEL
        got = {key: (a.n, round(a.mean, 4)) for key, a in judged.adherence.items()}
        assert got == {
            ("complex", FP): (2, 1.0), ("complex", NB): (2, round((1 + 2 / 6) / 2, 4)),
            ("minimal", NB): (1, 1.0),
            ("text", FP): (2, 1.0), ("text", NB): (2, 0.5),  # "OPNE" is not "OPEN"
            ("all", FP): (2, 1.0), ("all", NB): (3, round((1 + 2 / 6 + 1) / 3, 4)),
        }
        low, high = judged.adherence[("complex", NB)].interval or (None, None)
        assert low == 0.0 and 0.9 < high <= 1.0  # two images, far apart: a wide t interval
        assert judged.adherence[("minimal", NB)].interval is None  # one image: no interval
        misses = {(x.model, x.category): (x.missed.hits, x.missed.n, x.images)
                  for x in judged.failures}
        # BAD has its red discs right and its blue one left: both spatial questions fail.
        assert misses[(NB, "spatial")] == (2, 4, 2) and misses[(FP, "spatial")] == (0, 4, 2)
        assert misses[(NB, "entity")] == (0, 5, 3)  # the minimal prompt's one question too
        assert misses[(NB, "text")] == (1, 2, 2)
        lines = judged.failure_lines({NB: "Nano Banana 2", FP: "FLUX.2 Pro"})
        line = next(x for x in lines if x.startswith("Nano Banana 2") and "spatial" in x)
        assert line.startswith("Nano Banana 2 missed 50% [") and "of 4 spatial" in line
        assert line.endswith("(2 images)")
        assert any(x.startswith("FLUX.2 Pro missed 0% [0%–") for x in lines)
        # The filter applies: on the minimal category only, no complex figure remains.
        minimal = judged_evidence(wb, lb.leaderboard_filter(categories=["minimal"]))
        assert set(minimal.adherence) == {("minimal", NB), ("all", NB)}
        assert [(x.model, x.category, x.missed.n) for x in minimal.failures] == [
            (NB, "entity", 1)]
        # An edited question set (entity and count of the red discs only), judged again: each
        # image counts once, on the newest version that scored it.
        edited = question_sets.current(wb, PROMPT).questions[:2]
        assert question_sets.save_edit(wb, PROMPT, edited).version == 2
        judging.execute(wb, judging.plan(wb, generation_ids=list(ids.values())))
        again = judged_evidence(wb, f)
        assert (again.adherence[("complex", NB)].n, again.adherence[("complex", NB)].mean) == (
            2, 0.75)  # BAD has one red disc: entity yes, count no
        assert ("text", NB) not in again.adherence and ("text", FP) not in again.adherence
        misses = {(x.model, x.category): (x.missed.hits, x.missed.n) for x in again.failures}
        assert misses[(NB, "count")] == (1, 2) and misses[(NB, "entity")] == (0, 3)
        assert (NB, "spatial") not in misses


def test_machine_rows_sit_apart_from_peoples_rows(tmp_path: Path):
    with judged_workbench(tmp_path) as (wb, _fake):
        ids = _judged_log(wb)
        for rater in range(6):  # people's stars on the complex rows
            for key, stars in (("fp1", 2), ("nb_good", 5)):
                wb.ratings.add(ids[key], "prompt_adherence", stars, rater=f"r{rater}")
        board = lb.build_leaderboard(wb, lb.leaderboard_filter())
        judged = judged_evidence(wb, board.filter)
        people = tradeoff_table(wb, board, [FP, NB])
        both = with_machine_rows(people, judged, TRADEOFF_GROUPS)
        rows = dict(both.rows)
        # People's rows are exactly as they were: nothing machine-judged mixed in.
        for label, cells in people.rows:
            assert rows[label] == cells
        labels = [label for label, _ in both.rows]
        machine = f"Complex prompt handling · {LABEL}"
        assert labels.index(machine) == labels.index("Complex prompt handling") + 1
        assert [c.text for c in rows[machine]] == [
            "100% [100%–100%] (2 images judged)", "67% [0%–100%] (2 images judged)"]
        assert [c.text for c in rows[f"Minimal prompt handling · {LABEL}"]] == [
            "not enough data (no judged images)", "100% (1 image judged)"]
        assert rows[f"Text in image · {LABEL}"][1].text.startswith("50% [")
        assert "never averaged" in both.definitions[machine]
        assert LABEL in both.markdown() and "kept apart" in both.explanation
        # People's stars still say what people said (FLUX.2 Pro rated 2★, the judge 100%).
        assert rows["Complex prompt handling"][0].text == (
            "not enough data (0 votes, 0 ratings); adherence Fair (6 ratings)")
        verdict = with_machine_rows(board.verdict([FP, NB]), judged, VERDICT_GROUPS)
        vrows = dict(verdict.rows)
        assert vrows[f"Prompt adherence · {LABEL}"][1].text.startswith("78% [")
        assert vrows["Prompt adherence"] == dict(board.verdict([FP, NB]).rows)["Prompt adherence"]


def test_the_label_follows_the_calibration_service(tmp_path: Path):
    """With 120 people's votes the judge agrees with (κ = 1, no pair two people voted), the
    calibration service calls it calibrated, and so do the Leaderboard's machine rows."""
    with judged_workbench(tmp_path) as (wb, _fake):
        ids = _judged_log(wb)
        f = lb.leaderboard_filter()
        assert judged_evidence(wb, f).status == "not yet calibrated"
        pairs = (("fp1", "nb_bad", "left"), ("nb_bad", "nb_good", "right"),
                 ("fp1", "nb_good", "tie"))
        with wb.db.cursor():
            for i in range(120):
                left, right, winner = pairs[i % 3]
                wb.votes.add(NewVote(
                    left_model=FP if left.startswith("fp") else NB,
                    right_model=FP if right.startswith("fp") else NB, winner=winner,
                    criterion="prompt_adherence", left_generation_id=ids[left],
                    right_generation_id=ids[right], category="complex", prompt=PROMPT,
                    rater="ann"))
        judged = judged_evidence(wb, f)
        assert judged.calibrated and judged.source == (
            f"judged by {DEFAULT_MODEL} (machine, calibrated)")
        board = lb.build_leaderboard(wb, f)
        table = with_machine_rows(tradeoff_table(wb, board, [FP, NB]), judged, TRADEOFF_GROUPS)
        assert f"Complex prompt handling · judged by {DEFAULT_MODEL} (machine, calibrated)" in (
            dict(table.rows))
        # People's votes stay in people's row (80 of the 120 involve each model).
        assert dict(table.rows)["Complex prompt handling"][0].text == (
            "not enough data (0 votes, 0 ratings); adherence Excellent (80 votes)")
