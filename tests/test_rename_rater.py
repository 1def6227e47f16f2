"""Renaming a rater (`workbench db rename-rater me ann`): ratings and votes made before names
were recorded ('me') become the person's, so one person does not count as two raters; nothing
else changes. On both backends, and through the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.arena_data import add_generation
from workbench import cli
from workbench.config import load_settings
from workbench.domain.filters import HistoryFilter
from workbench.services.team.identity import InvalidName, rename_rater
from workbench.services.workbench import Workbench, open_workbench
from workbench.store.votes import NewVote

NB, FP = "nano-banana-2", "flux-2-pro"


@pytest.fixture
def wb(backend_wb: Workbench) -> Workbench:
    return backend_wb


def _vote(a: str, b: str, rater: str) -> NewVote:
    return NewVote(left_model=NB, right_model=FP, left_provider="gemini", right_provider="bfl",
                   left_generation_id=a, right_generation_id=b, winner="left",
                   criterion="overall", prompt="p", rater=rater)


def test_old_ratings_and_votes_become_the_persons(wb: Workbench) -> None:
    a, b = add_generation(wb, NB, "a fox"), add_generation(wb, FP, "a fox", provider="bfl")
    wb.ratings.add(a, "overall", 4, rater="me")
    wb.ratings.add(b, "overall", 2, rater="me")
    wb.ratings.add(b, "overall", 5, rater="bob")
    wb.votes.add(_vote(a, b, "me"))
    wb.votes.add(_vote(a, b, "bob"))
    # Before: 'me' and 'ann' are two raters, and ann sees none of her own stars.
    assert wb.ratings.latest_for(a, rater="ann") == {}

    done = rename_rater(wb, " me ", "ann")

    assert (done.ratings, done.votes) == (2, 1)
    assert wb.ratings.raters() == ["ann", "bob"]
    assert wb.ratings.latest_for(a, rater="ann") == {"overall": 4}
    ann = wb.ratings.by_model(HistoryFilter(raters=("ann",)))
    assert [(r.model, r.n, r.mean) for r in ann] == [(FP, 1, 2.0), (NB, 1, 4.0)]
    assert wb.votes.count(HistoryFilter(raters=("ann",))) == 1
    assert wb.votes.count(HistoryFilter(raters=("bob",))) == 1
    # Stars and winners are unchanged: the same averages over everyone.
    everyone = {(r.model, r.n, r.mean) for r in wb.ratings.by_model(HistoryFilter())}
    assert everyone == {(NB, 1, 4.0), (FP, 2, 3.5)}


def test_a_blank_or_same_name_is_refused_and_nothing_changes(wb: Workbench) -> None:
    a = add_generation(wb, NB, "a fox")
    wb.ratings.add(a, "overall", 4, rater="me")
    for old, new in (("me", "  "), ("me", "me"), ("", "ann"), ("me", "a\tb")):
        with pytest.raises(InvalidName):
            rename_rater(wb, old, new)
    assert wb.ratings.raters() == ["me"]


def test_the_command_renames_and_says_how_many(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings(env={"WORKBENCH_DATA_DIR": str(data_dir)},
                             secrets_file=tmp_path / "none.toml")
    wb = open_workbench(settings, idle_close_s=0)
    try:
        a = add_generation(wb, NB, "a fox")
        wb.ratings.add(a, "overall", 4, rater="me")
        wb.ratings.add(a, "detail", 3, rater="me")
    finally:
        wb.close()
    assert cli.main(["db", "rename-rater", "me", "ann"]) == 0
    assert capsys.readouterr().out.strip() == "Renamed rater 'me' to 'ann': 2 ratings, 0 votes."
    assert cli.main(["db", "rename-rater", "ann", ""]) == 2
    assert "A name cannot be blank." in capsys.readouterr().err
