"""History filtered and sorted by the judge's adherence score, in SQL, on both backends: the
judge model in use counts (another model's scores do not), the newest scored version of a
prompt's question set counts (an older version's score does not), a score on another prompt's
questions does not, and the never judged sort last. The values the filter and the sort use are
the ones the History column shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.arena_data import add_generation
from workbench.domain.filters import HistoryFilter
from workbench.services import history as history_service
from workbench.services.evidence.judge import insights
from workbench.services.workbench import Workbench
from workbench.store.judge import JudgeStore, ScoreRow

JUDGE, OTHER = "gemini-judge-now", "gemini-judge-old"
QUESTIONS = [{"id": 1, "question": "Is there a kite?", "category": "entity", "parents": []}]


def _score(store: JudgeStore, wb: Workbench, gid: str, prompt: str, model: str,
           score: float, *, versions: int = 1) -> None:
    """`versions` question sets of `prompt` for `model`; the image scored `score` on the newest
    and 1 - `score` on each older one."""
    sha = wb.log.get(gid).image_sha256
    for version in range(1, versions + 1):
        set_id = f"qs_{gid}_{model}_{version}"
        store.sets.add_set(set_id, f"hash-{prompt}", prompt, model, "generated", QUESTIONS,
                           None, "me")
        value = score if version == versions else 1 - score
        store.scores.add_score(ScoreRow(sha, set_id, model, value, [], f"call_{set_id}"))


@pytest.fixture
def judged(backend_wb: Workbench) -> dict[str, str]:
    wb = backend_wb
    store = JudgeStore(wb.db)
    ids = {name: add_generation(wb, "flux-2-pro", f"a {name} kite")
           for name in ("high", "low", "other_model", "other_prompt", "never")}
    _score(store, wb, ids["high"], "a high kite", JUDGE, 0.9)
    _score(store, wb, ids["low"], "a low kite", JUDGE, 0.2, versions=2)  # v1 scored 0.8
    _score(store, wb, ids["other_model"], "a other_model kite", OTHER, 0.95)
    _score(store, wb, ids["other_prompt"], "a kite of another prompt", JUDGE, 0.7)
    return ids


def _ids(wb: Workbench, **fields: object) -> list[str]:
    f = HistoryFilter(judge_model=JUDGE, **fields)  # type: ignore[arg-type]
    rows = [r.id for r in wb.log.page(f, limit=50)]
    assert wb.log.count(f) == len(rows)
    return rows


def test_the_judged_and_the_never_judged(backend_wb: Workbench, judged: dict[str, str]) -> None:
    wb, ids = backend_wb, judged
    assert set(_ids(wb, judged="judged")) == {ids["high"], ids["low"]}
    assert set(_ids(wb, judged="not_judged")) == {
        ids["other_model"], ids["other_prompt"], ids["never"]}


def test_bounds_read_the_newest_scored_question_set(
    backend_wb: Workbench, judged: dict[str, str]
) -> None:
    wb, ids = backend_wb, judged
    assert _ids(wb, adherence_min=0.5) == [ids["high"]]  # "low" scored 0.8 only on v1
    assert _ids(wb, adherence_max=0.5) == [ids["low"]]
    assert _ids(wb, adherence_min=0.2, adherence_max=0.9) == [ids["high"], ids["low"]][::-1]
    assert _ids(wb, adherence_min=0.95) == []


def test_the_sort_puts_scores_in_order_and_the_never_judged_last(
    backend_wb: Workbench, judged: dict[str, str]
) -> None:
    wb, ids = backend_wb, judged
    unjudged_newest_first = [ids["never"], ids["other_prompt"], ids["other_model"]]
    assert _ids(wb, sort="adherence_high") == [ids["high"], ids["low"], *unjudged_newest_first]
    assert _ids(wb, sort="adherence_low") == [ids["low"], ids["high"], *unjudged_newest_first]
    # paging an adherence order gives the same rows as reading it whole
    f = HistoryFilter(judge_model=JUDGE, sort="adherence_high")
    pages = [r.id for o in range(0, 5, 2) for r in wb.log.page(f, limit=2, offset=o)]
    assert pages == _ids(wb, sort="adherence_high")


def test_the_filter_agrees_with_the_column(backend_wb: Workbench, judged: dict[str, str]) -> None:
    wb = backend_wb
    shown = insights.adherence_by_generation(wb, list(judged.values()), JUDGE)
    assert set(shown) == set(_ids(wb, judged="judged"))
    for gid, adherence in shown.items():
        assert gid in _ids(wb, adherence_min=adherence.score, adherence_max=adherence.score)


def test_the_service_names_the_judge_in_use_and_without_one_nothing_is_judged(
    backend_wb: Workbench, judged: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    wb = backend_wb
    monkeypatch.setattr(wb, "settings", wb.settings.model_copy(update={"judge_model": JUDGE}))
    f = history_service.with_judge(wb, HistoryFilter(judged="judged"))
    assert f.judge_model == JUDGE
    assert history_service.load_page(wb, f).total == 2
    assert history_service.with_judge(wb, HistoryFilter()).judge_model is None  # not needed
    # a filter naming no judge model counts no score: nothing is judged
    assert wb.log.count(HistoryFilter(judged="judged")) == 0
    assert wb.log.count(HistoryFilter(judged="not_judged")) == 5
    newest = [r.id for r in wb.log.page(HistoryFilter())]
    assert [r.id for r in wb.log.page(HistoryFilter(sort="adherence_high"))] == newest


def test_adherence_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match="above the highest"):
        HistoryFilter(adherence_min=0.8, adherence_max=0.2)
    with pytest.raises(ValueError, match="never judged"):
        HistoryFilter(judged="not_judged", adherence_min=0.5)
    with pytest.raises(ValueError):
        HistoryFilter(adherence_max=1.5)


def test_the_command_line_filters_and_sorts_by_adherence(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench import cli
    from workbench.config import load_settings
    from workbench.services.workbench import open_workbench

    monkeypatch.setenv("WORKBENCH_JUDGE_MODEL", JUDGE)
    wb = open_workbench(load_settings(), idle_close_s=0)
    try:
        store = JudgeStore(wb.db)
        fair = add_generation(wb, "flux-2-pro", "a fair kite")
        good = add_generation(wb, "flux-2-pro", "a good kite")
        add_generation(wb, "flux-2-pro", "a never kite")
        _score(store, wb, fair, "a fair kite", JUDGE, 0.5)
        _score(store, wb, good, "a good kite", JUDGE, 1.0)
    finally:
        wb.close()
    capsys.readouterr()
    assert cli.main(["history", "--judged", "judged", "--sort", "adherence_low", "--json"]) == 0
    assert [json.loads(x)["id"] for x in capsys.readouterr().out.splitlines()] == [fair, good]
    assert cli.main(["history", "--adherence-min", "0.75", "--json"]) == 0
    assert [json.loads(x)["id"] for x in capsys.readouterr().out.splitlines()] == [good]
    assert cli.main(["history", "--judged", "not_judged", "--adherence-min", "0.5"]) == 2
    assert "never judged" in capsys.readouterr().err
    # the score a filter or sort reads is shown beside each row ("-": never judged)
    assert cli.main(["history", "--sort", "adherence_high", "--json"]) == 0
    shown = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(r["id"], r["adherence"]) for r in shown][:2] == [(good, 1.0), (fair, 0.5)]
    assert shown[2]["adherence"] is None
    assert cli.main(["history", "--sort", "adherence_high"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("adherence") and table[1].startswith("100%")
    assert table[2].startswith("50%") and table[3].startswith("-")
    assert cli.main(["history", "--json"]) == 0  # no adherence asked: no column
    assert "adherence" not in capsys.readouterr().out
