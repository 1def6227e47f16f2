"""The Leaderboard page (AppTest) with the adherence judge's stored scores: machine rows below
people's rows in the verdict and trade-off tables, each labelled with the judge model and
"not yet calibrated" and carrying n; questions missed per category as plain text lines; without
a Gemini key the figures already stored still show and the page says how to enable the judge.
No call reaches the fake while the page renders."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from harness.fake_judge import FakeGeminiJudge
from harness.judge_data import KEY, add_scene
from harness.judge_scenes import Disc, Scene
from tests.ui import pages
from workbench import config
from workbench.config import load_settings
from workbench.services.evidence.judge import judging
from workbench.services.evidence.judge.settings import DEFAULT_MODEL
from workbench.services.evidence.leaderboard import FITS
from workbench.services.workbench import Workbench, open_workbench

GOOD = Scene((Disc("red", 50, 60), Disc("red", 60, 140), Disc("blue", 200, 100)), "OPEN")
BAD = Scene((Disc("red", 200, 60), Disc("blue", 50, 100)), "OPNE")
LABEL = f"judged by {DEFAULT_MODEL} (machine, not yet calibrated)"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("WORKBENCH_JUDGE_MODEL", raising=False)
    monkeypatch.setattr(config, "SECRETS_FILE", tmp_path / "no-secrets.toml")
    FITS.clear()


def _judge(seeded: Workbench, monkeypatch: pytest.MonkeyPatch, fake: FakeGeminiJudge) -> None:
    """FLUX.2 Pro follows the complex prompt twice, Nano Banana 2 once in two; all judged
    through the fake on a keyed workbench (the page's own has no key unless the test sets it)."""
    also_good = Scene((Disc("red", 40, 50), Disc("red", 70, 150), Disc("blue", 210, 90)), "OPEN")
    ids = [add_scene(seeded, GOOD, model="flux-2-pro", provider="bfl"),
           add_scene(seeded, also_good, model="flux-2-pro", provider="bfl"),
           add_scene(seeded, BAD), add_scene(seeded, Scene(also_good.discs, "OPEN", 240))]
    with monkeypatch.context() as keyed_env:
        keyed_env.setenv("GEMINI_API_KEY", KEY)
        keyed_env.setenv("GEMINI_BASE_URL", fake.url)
        keyed = open_workbench(load_settings(), idle_close_s=0)
        try:
            report = judging.execute(keyed, judging.plan(keyed, generation_ids=ids))
        finally:
            keyed.close()
    assert len(report.scored) == 4 and not report.failed


def _table(at: AppTest, index: str) -> pd.DataFrame:
    return next(t.value for t in at.table if t.value.index.name == index)


def _texts(at: AppTest) -> str:
    return "\n".join([*(t.value for t in at.text), *(c.value for c in at.caption),
                      *(i.value for i in at.info)])


def test_machine_rows_stand_apart_with_n_and_the_calibration_label(seeded, monkeypatch):
    with FakeGeminiJudge(key=KEY) as fake:
        _judge(seeded, monkeypatch, fake)
        calls = len(fake.requests)
        monkeypatch.setenv("GEMINI_API_KEY", KEY)
        monkeypatch.setenv("GEMINI_BASE_URL", fake.url)
        at = AppTest.from_function(pages.leaderboard_page, default_timeout=30).run()
        assert not at.exception
        assert len(fake.requests) == calls  # the page reads stored scores only
    verdict = _table(at, "Criterion")
    assert list(verdict.columns) == ["FLUX.2 Pro", "Nano Banana 2"]
    machine = f"Prompt adherence · {LABEL}"
    rows = list(verdict.index)
    assert rows.index(machine) == rows.index("Prompt adherence") + 1
    assert verdict.loc[machine, "FLUX.2 Pro"] == "100% [100%–100%] (2 images judged)"
    assert verdict.loc[machine, "Nano Banana 2"] == "67% [0%–100%] (2 images judged)"
    # People's row is people's: no votes or stars here, and nothing of the judge in it.
    assert verdict.loc["Prompt adherence", "FLUX.2 Pro"].startswith("not enough data")
    trade = _table(at, "Factor")
    complex_machine = f"Complex prompt handling · {LABEL}"
    assert trade.loc[complex_machine, "Nano Banana 2"] == "67% [0%–100%] (2 images judged)"
    assert "never averaged" in trade.loc[complex_machine, "How it is measured"]
    assert trade.loc["Complex prompt handling", "Nano Banana 2"].startswith("not enough data")
    assert trade.loc[f"Minimal prompt handling · {LABEL}", "FLUX.2 Pro"] == (
        "not enough data (no judged images)")
    assert trade.loc[f"Text in image · {LABEL}", "Nano Banana 2"].startswith("50% [")
    # Per question category, as lines of plain text (st.text), with n and an interval.
    lines = [t.value for t in at.text]
    assert any(x.startswith("Nano Banana 2 missed 50% [") and "of 4 spatial" in x
               and x.endswith("(2 images)") for x in lines)
    assert any(x.startswith("FLUX.2 Pro missed 0% [0%–") for x in lines)
    failures = next(d.value for d in at.dataframe
                    if "Missed [95% interval] of questions" in d.value.columns)
    assert set(failures["Model"]) == {"FLUX.2 Pro", "Nano Banana 2"}
    assert f"Adherence judge ({DEFAULT_MODEL}): not yet calibrated" in _texts(at)
    assert LABEL in _texts(at)  # the failures' caption


def test_without_a_key_stored_figures_show_and_the_page_says_how_to_enable(
    seeded, monkeypatch
):
    with FakeGeminiJudge(key=KEY) as fake:
        _judge(seeded, monkeypatch, fake)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    at = AppTest.from_function(pages.leaderboard_page, default_timeout=30).run()
    assert not at.exception
    assert "no Gemini key is set" in _texts(at) and "GEMINI_API_KEY" in _texts(at)
    verdict = _table(at, "Criterion")
    assert f"Prompt adherence · {LABEL}" in verdict.index


def test_nothing_judged_adds_no_machine_row(seeded):
    add_scene(seeded, GOOD, model="flux-2-pro", provider="bfl")
    add_scene(seeded, BAD)
    at = AppTest.from_function(pages.leaderboard_page, default_timeout=30).run()
    assert not at.exception
    assert not [r for r in _table(at, "Criterion").index if "machine" in r]
    assert "missed" not in "\n".join(t.value for t in at.text)
    assert "no Gemini key is set" in _texts(at)
