"""The judge's tables on both backends (the embedded file and the team's PostgreSQL server):
a judged batch with its question set, ledger, settled reservations, scores, a pair's vote, an
edited version, the History figure, and the calibration reads of people's votes and stars."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.judge_data import PROMPT, add_scene, judged_workbench
from harness.judge_scenes import Disc, Scene
from workbench import config
from workbench.services.evidence.judge import calibration, insights, judging, question_sets
from workbench.store.votes import NewVote

GOOD = Scene((Disc("red", 50, 60), Disc("red", 60, 140), Disc("blue", 200, 100)), "OPEN")
BAD = Scene((Disc("red", 200, 60), Disc("blue", 50, 100)), "OPNE")


def test_the_judge_on_each_backend(backend, request, tmp_path: Path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_JUDGE_MODEL", raising=False)
    monkeypatch.setattr(config, "SECRETS_FILE", tmp_path / "none.toml")
    env = {"WORKBENCH_DATABASE_URL": request.getfixturevalue("pg_url")} if (
        backend == "postgres") else {}
    with judged_workbench(tmp_path, **env) as (wb, fake):
        assert wb.db.dialect == ("postgres" if backend == "postgres" else "duckdb")
        good = add_scene(wb, GOOD, model="flux-2-pro")
        bad = add_scene(wb, BAD, model="nano-banana-2")
        report = judging.execute(wb, judging.plan(wb, generation_ids=[good, bad], pairs=True))
        assert dict(report.scored) == {good: 1.0, bad: pytest.approx(2 / 6)}
        assert len(report.pairs) == 1 and report.failed == []
        with wb.db.cursor() as cur:
            settled = cur.execute(
                "SELECT count(*) FROM judge_calls c JOIN spend_reservations s"
                " ON s.generation_id = c.id WHERE c.status = 'done'"
                " AND abs(s.amount_usd - c.cost_usd) < 1e-12").fetchone()[0]
        assert settled == report.calls == 5
        again = judging.plan(wb, generation_ids=[good, bad], pairs=True)
        assert again.calls == 0 and again.cached_pairs == 1
        v2 = question_sets.save_edit(wb, PROMPT, question_sets.current(wb, PROMPT).questions[:3])
        assert v2.version == 2
        assert insights.adherence_by_generation(wb, [good])[good].score == 1.0
        wb.votes.add(NewVote(left_model="nano-banana-2", right_model="flux-2-pro",
                             winner="right", criterion="prompt_adherence",
                             left_generation_id=bad, right_generation_id=good,
                             category="complex", prompt=PROMPT, rater="ann"))
        wb.ratings.add(good, "prompt_adherence", 5, rater="ann")
        wb.ratings.add(bad, "prompt_adherence", 1, rater="ann")
        result = calibration.calibration(wb, rounds=20)
        complex_row = next(r for r in result.rows if r.key == "complex")
        assert complex_row.judge_vs_votes.agreement == 1.0
        assert complex_row.judge_vs_stars.agreement == 1.0
        assert len(fake.on("generate")) == 5
