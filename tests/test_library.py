"""The prompt library: append-only versions, the word diff, marks and search,
bad names, the link from a version to its generations, per-version figures and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench import cli
from workbench.domain.prompt_diff import DiffPart, as_text, word_diff
from workbench.services.delivery import library
from workbench.services.runs.generation import GenerateRequest, generate_sync
from workbench.services.workbench import Workbench
from workbench.store.prompt_library import LibraryMarks, StarFigure
from workbench.store.records import LibraryVersion
from workbench.store.votes import NewVote

KITE = "A red kite over dunes, late afternoon"


def _save(
    wb: Workbench, name: str = "kite", prompt: str = KITE, **extra: object
) -> LibraryVersion:
    return library.save(wb, {"name": name, "model": "nano-banana-2", "provider": "offline",
                             "template_id": "free-text", "slots": {"prompt": prompt},
                             "prompt": prompt, "aspect_ratio": "1:1", **extra})


# -- versions ---------------------------------------------------------------------------------

def test_each_save_is_a_new_version_and_never_overwrites(wb: Workbench) -> None:
    first = _save(wb)
    second = _save(wb, prompt="A blue kite over dunes at dusk", seed=7)
    assert (first.version, second.version) == (1, 2)
    assert first.id != second.id
    v1, v2 = wb.library.versions("kite")
    assert v1.prompt == KITE and v1.params == {"aspect_ratio": "1:1"}
    assert v2.prompt == "A blue kite over dunes at dusk" and v2.params["seed"] == 7
    assert library.resolve(wb, "kite").version == 2
    assert library.resolve(wb, "kite@1").prompt == KITE
    with pytest.raises(library.LibraryError, match="No version 3"):
        library.resolve(wb, "kite@3")


def test_saving_the_same_text_again_still_appends(wb: Workbench) -> None:
    _save(wb)
    _save(wb)
    assert [v.version for v in wb.library.versions("kite")] == [1, 2]


def test_round_trip_to_the_builder(wb: Workbench) -> None:
    saved = library.resolve(wb, _save(wb, seed=3).name)
    load = library.to_builder(saved)
    assert load == {
        "model": "nano-banana-2", "provider": "offline", "template_id": "free-text",
        "slots": {"prompt": KITE}, "prompt": KITE, "aspect_ratio": "1:1", "size": None,
        "seed": 3, "library_version_id": saved.id,
    }


def test_word_diff() -> None:
    parts = word_diff("a red kite over dunes", "a blue kite over   dunes at dusk")
    assert parts == [
        DiffPart("same", "a"), DiffPart("removed", "red"), DiffPart("added", "blue"),
        DiffPart("same", "kite over dunes"), DiffPart("added", "at dusk"),
    ]
    assert as_text(parts) == "a [-red-] {+blue+} kite over dunes {+at dusk+}"
    assert word_diff("same words", "same  words") == [DiffPart("same", "same words")]


def test_diff_between_two_saved_versions(wb: Workbench) -> None:
    a = _save(wb)
    b = _save(wb, prompt="A red kite over white dunes, late afternoon")
    assert as_text(library.diff(wb, a.id, b.id)) == (
        "A red kite over {+white+} dunes, late afternoon"
    )


# -- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "message"), [
    ("", "empty"),
    ("   ", "empty"),
    ("x" * 10_000, "at most 120 characters; this one has 10,000"),
    ("../../etc/passwd", "path or control characters"),
    ("a\\b", "path or control characters"),
    ("C:name", "path or control characters"),
    ("tab\there", "path or control characters"),
    ("..", "path or control characters"),
])
def test_bad_names_are_refused_and_lose_nothing(wb: Workbench, name: str, message: str) -> None:
    kept = _save(wb)
    with pytest.raises(library.LibraryError, match=message):
        _save(wb, name=name)
    assert wb.library.count() == 1
    assert library.resolve(wb, "kite").id == kept.id


def test_a_name_at_the_limit_is_kept(wb: Workbench) -> None:
    assert _save(wb, name="n" * library.NAME_MAX).version == 1
    with pytest.raises(library.LibraryError):
        _save(wb, name="n" * (library.NAME_MAX + 1))


def test_nothing_to_save_and_unknown_model(wb: Workbench) -> None:
    with pytest.raises(library.LibraryError, match="nothing to save"):
        _save(wb, prompt="  ", slots={"prompt": ""})
    with pytest.raises(library.LibraryError, match="Unknown model"):
        _save(wb, model="no-such-model")


# -- marks and search -------------------------------------------------------------------------

def test_marks_latest_wins_and_search_by_name_tag_and_text(wb: Workbench) -> None:
    _save(wb, "kite")
    _save(wb, "kettle", prompt="A copper kettle on oak, soft window light")
    _save(wb, "kettle", prompt="A copper kettle on oak, 85mm lens")
    library.mark(wb, "kite", ["Beach", "draft"], "first try", False)
    library.mark(wb, "kite", ["beach"], "keeper", True)
    assert wb.library.marks("kite") == LibraryMarks(tags=["beach"], note="keeper", favourite=True)
    assert wb.library.tags() == ["beach"]

    names = [r.name for r in library.browse(wb).rows]
    assert names == ["kite", "kettle"]  # favourites first
    assert [r.name for r in library.browse(wb, text="KETT").rows] == ["kettle"]
    # Text of an older version still finds the name; the row shows its newest version.
    found = library.browse(wb, text="window light").rows
    assert [(r.name, r.version, r.versions) for r in found] == [("kettle", 2, 2)]
    assert [r.name for r in library.browse(wb, tag="beach").rows] == ["kite"]
    assert library.browse(wb, tag="draft").rows == []  # the older mark no longer counts
    assert [r.name for r in library.browse(wb, favourites_only=True).rows] == ["kite"]
    assert library.browse(wb, text="100%_").total == 0  # no wildcards


def test_marking_an_unknown_name_or_a_bad_tag(wb: Workbench) -> None:
    with pytest.raises(library.LibraryError, match="No prompt named"):
        library.mark(wb, "ghost", [], "", True)
    _save(wb)
    with pytest.raises(library.LibraryError, match="tag"):
        library.mark(wb, "kite", ["a/b"], "", True)


def test_paging_at_the_boundary(wb: Workbench) -> None:
    for i in range(5):
        _save(wb, f"p{i}")
    first = library.browse(wb, page_size=4)
    second = library.browse(wb, page=2, page_size=4)
    assert (first.total, first.pages, len(first.rows), len(second.rows)) == (5, 2, 4, 1)
    assert {r.name for r in first.rows + second.rows} == {f"p{i}" for i in range(5)}
    assert library.browse(wb, page_size=5).pages == 1
    assert library.browse(wb, page=9, page_size=4).page == 2


# -- what a version produced ------------------------------------------------------------------

def _generate(wb: Workbench, version_id: str | None, prompt: str = KITE, seed: int = 1) -> str:
    return generate_sync(wb, GenerateRequest(
        model="nano-banana-2", provider="offline", prompt=prompt, seed=seed,
        library_version_id=version_id,
    )).id


def test_generations_are_linked_to_their_version_and_counted(wb: Workbench) -> None:
    v1 = _save(wb).id
    v2 = _save(wb, prompt="A blue kite").id
    mine = [_generate(wb, v1, seed=s) for s in (1, 2, 3)]
    other = _generate(wb, v2, "A blue kite")
    _generate(wb, None, seed=9)  # not from the library
    assert {g.id for g in wb.library.generations(v1)} == set(mine)
    wb.ratings.add(mine[0], "overall", 5)
    wb.ratings.add(mine[1], "overall", 2)
    wb.ratings.add(mine[1], "overall", 4)  # the newest rating counts
    wb.ratings.add(mine[2], "prompt_adherence", 3)

    def vote(left: str, right: str, winner: str) -> None:
        wb.votes.add(NewVote(
            left_model="nano-banana-2", right_model="nano-banana-2", left_provider="offline",
            right_provider="offline", left_generation_id=left, right_generation_id=right,
            winner=winner, criterion="overall", prompt=KITE,
        ))

    vote(mine[0], other, "left")    # win
    vote(other, mine[1], "left")    # loss
    vote(other, mine[2], "tie")     # half
    vote(mine[0], mine[1], "left")  # both sides this version: left out

    figures = library.stats(wb, v1)
    assert figures.generations == figures.succeeded == 3
    assert figures.stars == {
        "overall": StarFigure(n=2, mean=4.5), "prompt_adherence": StarFigure(n=1, mean=3.0),
    }
    assert figures.arena_votes == 3
    assert figures.arena_win_rate == pytest.approx(1.5 / 3)
    assert figures.latency_n == 3 and figures.cost_n == 3
    assert library.stats(wb, v2).arena_win_rate == pytest.approx(1.5 / 3)

    rows = {r["figure"]: r for r in library.side_by_side(wb, v1, v2)}
    assert rows["generations"]["left"] == "3 (3 ok)"
    assert rows["generations"]["right"] == "1 (1 ok)"
    assert rows["mean stars: overall"]["left"] == "4.50★ (n=2)"
    assert rows["mean stars: overall"]["right"] == "–"
    assert rows["Arena win rate (overall)"]["left"] == "50% (n=3)"


def test_an_edited_builder_is_no_longer_the_version(wb: Workbench) -> None:
    saved = _save(wb)
    request = {"model": "nano-banana-2", "template_id": "free-text", "prompt": KITE}
    assert library.still_matches(wb, saved.id, request) == saved.id
    assert library.still_matches(wb, saved.id, {**request, "prompt": KITE + "!"}) is None
    assert library.still_matches(wb, saved.id, {**request, "model": "flux-2-pro"}) is None
    assert library.still_matches(wb, None, request) is None


# -- command line -----------------------------------------------------------------------------

def test_cli_save_list_show_diff(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["prompts", "save", "kite", "--model", "nano-banana-2", "--prompt", KITE]) == 0
    assert cli.main(["prompts", "save", "kite", "--model", "nano-banana-2",
                     "--prompt", "A blue kite over dunes, late afternoon", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert "saved kite@1" in out and "saved kite@2" in out
    assert cli.main(["prompts", "list"]) == 0
    assert "kite@2  nano-banana-2  A blue kite" in capsys.readouterr().out
    assert cli.main(["prompts", "show", "kite@1"]) == 0
    shown = capsys.readouterr().out
    assert f"prompt: {KITE}" in shown and "kite@1 (of 2)" in shown
    assert cli.main(["prompts", "diff", "kite@1", "kite"]) == 0
    assert "A [-red-] {+blue+} kite over dunes, late afternoon" in capsys.readouterr().out


def test_cli_bad_input(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["prompts", "save", "a/b", "--model", "nano-banana-2", "--prompt", "x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "path or control characters" in err
    assert len(err.strip().splitlines()) == 1
    assert cli.main(["prompts", "show", "ghost"]) == 2
    assert "No 'ghost' in the library" in capsys.readouterr().err
    assert cli.main(["prompts", "save", "k", "--model", "nano-banana-2", "--slot", "novalue"]) == 2
