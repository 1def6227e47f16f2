"""History's adherence filter and sort in the app (AppTest): the choice and the bounds narrow the
table, the sort orders it by the judge's score with the never judged last, the values shown are
the ones filtered on, and the URL keeps the choice."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.arena_data import add_generation
from tests.ui.pages import history_page
from workbench.services.workbench import Workbench
from workbench.store.judge import JudgeStore, ScoreRow

JUDGE = "gemini-judge-now"
QUESTIONS = [{"id": 1, "question": "Is there a kite?", "category": "entity", "parents": []}]


def _table(at: AppTest) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "adherence" in d.value.columns)


@pytest.fixture
def scored(seeded: Workbench, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("WORKBENCH_JUDGE_MODEL", JUDGE)
    store = JudgeStore(seeded.db)
    ids = {}
    for name, score in (("never", None), ("fair", 0.5), ("good", 1.0), ("poor", 0.25)):
        gid = add_generation(seeded, "flux-2-pro", f"a {name} kite")
        ids[name] = gid
        if score is None:
            continue
        store.sets.add_set(f"qs_{name}", f"h_{name}", f"a {name} kite", JUDGE, "generated",
                           QUESTIONS, None, "me")
        store.scores.add_score(ScoreRow(seeded.log.get(gid).image_sha256, f"qs_{name}", JUDGE,
                                        score, [], f"call_{name}"))
    return ids


def test_history_filters_and_sorts_by_adherence(data_dir, scored: dict[str, str]) -> None:
    at = AppTest.from_function(history_page, default_timeout=30).run()
    assert not at.exception
    assert len(_table(at)) == 4
    at.selectbox(key="h_sort").set_value("adherence_high").run()
    frame = _table(at)
    assert frame["id"].tolist() == [scored["good"], scored["fair"], scored["poor"],
                                     scored["never"]]
    assert frame["adherence"].tolist()[:3] == [1.0, 0.5, 0.25]
    at.selectbox(key="h_judged").set_value("not_judged").run()
    assert _table(at)["id"].tolist() == [scored["never"]]
    assert at.query_params["h_judged"] == "not_judged"
    at.selectbox(key="h_judged").set_value("judged").run()
    at.number_input(key="h_adh_min").set_value(50).run()
    assert _table(at)["id"].tolist() == [scored["good"], scored["fair"]]
    at.number_input(key="h_adh_max").set_value(60).run()
    assert _table(at)["id"].tolist() == [scored["fair"]]
    at.selectbox(key="h_sort").set_value("adherence_low").run()
    at.number_input(key="h_adh_max").set_value(100).run()
    assert _table(at)["id"].tolist() == [scored["fair"], scored["good"]]
    assert not at.exception


def test_an_unusable_judge_setting_leaves_the_other_filters_working(
    data_dir, scored: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_JUDGE_MODEL", "not a model id!")
    at = AppTest.from_function(history_page, default_timeout=30).run()
    at.selectbox(key="h_judged").set_value("judged").run()
    assert not at.exception
    assert any("Adherence not applied" in e.value for e in at.error)
    assert len(_table(at)) == 4
