"""The Judge page (AppTest): without a key it says how to enable the judge and sends nothing;
with the loopback fake it shows the estimate, judges a run on one button, ranks the run's
variations, shows the calibration as "not yet calibrated", and stores an edited question set as
a new version. Prompt text is shown as text, never as Markdown."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from harness.fake_judge import FakeGeminiJudge
from harness.judge_data import KEY, add_scene
from harness.judge_scenes import Disc, Scene
from workbench import config

TIMEOUT = 30
GOOD = Scene((Disc("red", 50, 60), Disc("red", 60, 140), Disc("blue", 200, 100)), "OPEN")
BAD = Scene((Disc("red", 200, 60), Disc("blue", 50, 100)), "OPNE")


def judge_page() -> None:
    from workbench.ui import judge

    judge.render()


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("WORKBENCH_JUDGE_MODEL", raising=False)
    monkeypatch.setattr(config, "SECRETS_FILE", tmp_path / "no-secrets.toml")


def _texts(at: AppTest) -> str:
    return "\n".join([*(t.value for t in at.text), *(i.value for i in at.info),
                      *(c.value for c in at.caption)])


def test_without_a_key_the_page_says_how_to_enable_the_judge(seeded, monkeypatch):
    add_scene(seeded, GOOD, run_id="run_page")
    at = AppTest.from_function(judge_page, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "no Gemini key is set" in _texts(at) and "GEMINI_API_KEY" in _texts(at)
    assert not [b for b in at.button if b.key == "judge_go"]
    assert "not yet calibrated" in _texts(at)


def test_a_run_is_judged_on_one_button_after_its_estimate(seeded, monkeypatch):
    with FakeGeminiJudge(key=KEY) as fake:
        monkeypatch.setenv("GEMINI_API_KEY", KEY)
        monkeypatch.setenv("GEMINI_BASE_URL", fake.url)
        good = add_scene(seeded, GOOD, run_id="run_page")
        add_scene(seeded, BAD, run_id="run_page")
        at = AppTest.from_function(judge_page, default_timeout=TIMEOUT).run()
        assert not at.exception
        assert "Estimated cost $" in _texts(at) and fake.requests == []
        at.button(key="judge_go").click().run()
        assert not at.exception
        assert "Judged 2 images" in _texts(at) and len(fake.on("generate")) == 3
        ranked = next(d.value for d in at.dataframe if "Best" in d.value.columns)
        assert ranked["Best"].tolist() == [good]
        # models by their names, never their ids, in every table of the page
        shown = {m for d in at.dataframe if "Model" in d.value.columns for m in d.value["Model"]}
        assert shown == {"Nano Banana 2"}
        assert "<<<" not in _texts(at)  # the request's own text never reaches the page
        # The questions of the prompt, editable as a new version.
        edit = at.text_area(key=next(t.key for t in at.text_area))
        edit.set_value('[{"id": 1, "question": "Is there a red circle?", '
                       '"category": "entity", "parents": []}]').run()
        at.button(key="judge_save").click().run()
        assert any("Saved as version 2" in s.value for s in at.success)


def history_page() -> None:
    from workbench.ui import history

    history.render()


def test_history_shows_the_adherence_column_for_judged_images(seeded, monkeypatch):
    from workbench.config import load_settings
    from workbench.services.evidence.judge import judging
    from workbench.services.workbench import open_workbench

    with FakeGeminiJudge(key=KEY) as fake:
        monkeypatch.setenv("GEMINI_API_KEY", KEY)
        monkeypatch.setenv("GEMINI_BASE_URL", fake.url)
        good = add_scene(seeded, GOOD)
        bad = add_scene(seeded, BAD)
        keyed = open_workbench(load_settings(), idle_close_s=0)
        try:
            judging.execute(keyed, judging.plan(keyed, generation_ids=[good]))
        finally:
            keyed.close()
        at = AppTest.from_function(history_page, default_timeout=TIMEOUT).run()
        assert not at.exception
        frame = next(d.value for d in at.dataframe if "adherence" in d.value.columns)
        scores = dict(zip(frame["id"], frame["adherence"], strict=True))
        assert scores[good] == 1.0 and pd.isna(scores[bad])


def measurements_page() -> None:
    from workbench.ui import measurements

    measurements.render()


def test_other_pages_say_how_to_enable_the_judge(seeded):
    at = AppTest.from_function(measurements_page, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "no Gemini key is set" in _texts(at) and "GEMINI_API_KEY" in _texts(at)


def grid_adherence() -> None:
    from workbench.ui import judge
    from workbench.ui.shared import workbench

    judge.run_adherence(workbench(), "run_page")


def test_under_a_runs_grid_its_variations_are_ranked_by_adherence(seeded, monkeypatch):
    # Compare and Matrix call this under a run's grid: best of N, machine-judged
    with FakeGeminiJudge(key=KEY) as fake:
        monkeypatch.setenv("GEMINI_API_KEY", KEY)
        monkeypatch.setenv("GEMINI_BASE_URL", fake.url)
        good = add_scene(seeded, GOOD, run_id="run_page")
        add_scene(seeded, BAD, run_id="run_page")
        at = AppTest.from_function(grid_adherence, default_timeout=TIMEOUT).run()
        assert "Not judged yet" in _texts(at) and fake.requests == []
        from workbench.config import load_settings
        from workbench.services.evidence.judge import judging
        from workbench.services.workbench import open_workbench

        wb = open_workbench(load_settings(), idle_close_s=0)
        try:
            judging.execute(wb, judging.plan(wb, run_id="run_page"))
        finally:
            wb.close()
        at = AppTest.from_function(grid_adherence, default_timeout=TIMEOUT).run()
        assert not at.exception
        ranked = next(d.value for d in at.dataframe if "Best" in d.value.columns)
        assert ranked["Best"].tolist() == [good]
