"""`workbench judge` end to end against the loopback fake judge: the estimate before a batch,
the cache on a second run, --budget, --estimate, calibration as text and JSON, and the one-line
answers for a missing key and bad arguments."""

from __future__ import annotations

import json

import pytest

from harness.fake_judge import FakeGeminiJudge
from harness.judge_data import KEY, add_scene
from harness.judge_scenes import Disc, Scene
from workbench import cli
from workbench.config import load_settings
from workbench.services.workbench import open_workbench

GOOD = Scene((Disc("red", 50, 60), Disc("red", 60, 140), Disc("blue", 200, 100)), "OPEN")
BAD = Scene((Disc("red", 200, 60), Disc("blue", 50, 100)), "OPNE")


@pytest.fixture
def fake(data_dir, monkeypatch):
    monkeypatch.delenv("WORKBENCH_JUDGE_MODEL", raising=False)
    with FakeGeminiJudge(key=KEY) as server:
        monkeypatch.setenv("GEMINI_API_KEY", KEY)
        monkeypatch.setenv("GEMINI_BASE_URL", server.url)
        yield server


def _seed(*scenes, run_id="run_judge1"):
    wb = open_workbench(load_settings(), idle_close_s=0)
    try:
        return [add_scene(wb, s, model=m, run_id=run_id) for s, m in scenes]
    finally:
        wb.close()


def test_judging_a_run_prints_the_estimate_then_the_scores_and_caches(fake, capsys):
    good, bad = _seed((GOOD, "flux-2-pro"), (BAD, "nano-banana-2"))
    assert cli.main(["judge", "--run", "run_judge1", "--pairs"]) == 0
    out = capsys.readouterr().out
    assert out.index("Estimated cost $") < out.index("Judged 2 images")
    assert f"{good}\tadherence 1.00" in out and f"{bad}\tadherence 0.33" in out
    assert "1 pair to judge in both orders" in out
    sent = len(fake.on("generate"))
    assert sent == 5  # questions, two images, a pair in two orders
    assert cli.main(["judge", "--id", good, bad, "--pairs"]) == 0
    again = capsys.readouterr().out
    assert "0 images to judge, 2 already judged" in again and "1 cached" in again
    assert len(fake.on("generate")) == sent


def test_estimate_only_sends_nothing(fake, capsys):
    _seed((GOOD, "flux-2-pro"))
    assert cli.main(["judge", "--run", "run_judge1", "--estimate"]) == 0
    assert "Estimated cost $" in capsys.readouterr().out and fake.requests == []


def test_a_budget_below_one_call_sends_nothing_and_fails(fake, capsys):
    _seed((GOOD, "flux-2-pro"))
    assert cli.main(["judge", "--run", "run_judge1", "--budget", "0.00001"]) == 1
    assert "stopped: the budget of $0.0000 would be passed" in capsys.readouterr().out
    assert fake.requests == []


def test_calibration_as_text_and_json(fake, capsys):
    assert cli.main(["judge", "calibration"]) == 0
    assert "not yet calibrated" in capsys.readouterr().out
    assert cli.main(["judge", "calibration", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "not yet calibrated"
    assert [r["key"] for r in data["rows"]] == ["complex", "minimal", "text", "adherence", "all"]


def test_without_a_key_one_line_says_how_to_enable_it(data_dir, capsys, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    assert cli.main(["judge", "--id", "gen_x"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "GEMINI_API_KEY" in err and "unavailable" in err


def test_bad_arguments_are_one_line_usage_errors(data_dir, capsys):
    assert cli.main(["judge"]) == 2
    assert "--run RUN_ID" in capsys.readouterr().err
    assert cli.main(["judge", "calibration", "--run", "x"]) == 2
    assert cli.main(["judge", "--id", "g", "--budget", "-1"]) == 2
