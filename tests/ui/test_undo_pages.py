"""Undo in the pages (AppTest): a star click is saved once and a slider never writes ratings;
clicking the selected star clears the rating, and a fresh session shows no stars; the Arena's
last vote and any own vote on History's detail can be undone, and the Leaderboard follows."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.ui import pages
from workbench.domain.filters import HistoryFilter
from workbench.services.runs.generation import GenerateRequest, generate_sync
from workbench.services.workbench import Workbench


def _app(page) -> AppTest:  # type: ignore[no-untyped-def]
    return AppTest.from_function(page, default_timeout=30)


def _rows(wb: Workbench) -> int:
    with wb.db.cursor() as cur:
        return int(cur.execute("SELECT count(*) FROM ratings").fetchone()[0])


def _one(wb: Workbench) -> str:
    return generate_sync(wb, GenerateRequest(model="nano-banana-2", prompt="a kite", seed=1)).id


def test_a_star_is_saved_once_and_the_slider_writes_no_rating(
    data_dir: Path, seeded: Workbench
) -> None:
    gid = _one(seeded)
    at = _app(pages.history_page)
    at.run()
    at.feedback(key=f"rate_{gid}_overall").set_value(3).run()
    assert _rows(seeded) == 1
    for stars in (0.5, 1.0, 0.0, 0.5):  # two quick presses of → and back
        at.slider(key="h_min").set_value(stars).run()
        assert not at.exception
    at.run()
    assert _rows(seeded) == 1
    assert seeded.ratings.latest_for(gid, seeded.settings.user) == {"overall": 4}


def test_clicking_the_selected_star_clears_the_rating_for_good(
    data_dir: Path, seeded: Workbench
) -> None:
    gid = _one(seeded)
    at = _app(pages.history_page)
    at.run()
    at.feedback(key=f"rate_{gid}_overall").set_value(4).run()
    at.feedback(key=f"rate_{gid}_overall").set_value(None).run()
    assert not at.exception
    assert seeded.ratings.latest_for(gid, seeded.settings.user) == {}
    assert [r.rating for r in seeded.log.page(HistoryFilter())] == [None]
    again = _app(pages.history_page)  # a reload: a new session reads the database
    again.run()
    assert again.feedback(key=f"rate_{gid}_overall").value is None


def _pair(wb: Workbench) -> None:
    for model in ("nano-banana-2", "flux-2-pro"):
        generate_sync(wb, GenerateRequest(model=model, prompt="A lighthouse at dawn", seed=1))


def test_the_arenas_last_vote_can_be_undone_and_voted_again(
    data_dir: Path, seeded: Workbench
) -> None:
    _pair(seeded)
    at = _app(pages.arena_page)
    at.run()
    at.toggle(key="a_offline").set_value(True).run()
    pair = at.session_state["arena_pair"]
    at.button(key="a_left").click().run()
    assert seeded.votes.count(HistoryFilter()) == 1
    assert at.button(key="a_undo").proto.shortcut == "u"
    at.button(key="a_undo").click().run()
    assert not at.exception
    assert seeded.votes.count(HistoryFilter()) == 0
    assert at.session_state["arena_pair"] == pair  # the same pair, waiting for a vote
    at.button(key="a_right").click().run()
    assert seeded.votes.count(HistoryFilter()) == 1
    with seeded.db.cursor() as cur:  # the undone vote's row stays, marked
        assert cur.execute("SELECT count(*) FROM votes").fetchone()[0] == 2


def test_a_vote_is_undone_from_historys_detail(data_dir: Path, seeded: Workbench) -> None:
    _pair(seeded)
    arena = _app(pages.arena_page)
    arena.run()
    arena.toggle(key="a_offline").set_value(True).run()
    arena.button(key="a_tie").click().run()
    [vote] = seeded.votes.frame(HistoryFilter())["id"].tolist()
    at = _app(pages.history_page)
    at.run()
    assert any("Arena votes on this image** (1 vote)" in m.value for m in at.markdown)
    at.button(key=f"h_undo_vote_{vote}").click().run()
    assert not at.exception
    assert seeded.votes.count(HistoryFilter()) == 0
    assert not any("Arena votes on this image" in m.value for m in at.markdown)


def test_archive_hides_and_the_archived_filter_restores(data_dir: Path, seeded: Workbench) -> None:
    kept = _one(seeded)
    gone = generate_sync(
        seeded, GenerateRequest(model="flux-2-pro", prompt="a boat", seed=2)
    ).id
    at = _app(pages.history_page)
    at.run()
    assert at.subheader[0].value == f"Generation {gone}"
    at.button(key=f"h_archive_{gone}").click().run()
    assert not at.exception
    assert "1 generation matches" in at.caption[0].value
    assert at.subheader[0].value == f"Generation {kept}"
    at.selectbox(key="h_archived").set_value("only").run()
    assert at.subheader[0].value == f"Generation {gone}"
    at.button(key=f"h_restore_{gone}").click().run()
    at.selectbox(key="h_archived").set_value("hide").run()
    assert "2 generations match" in at.caption[0].value


def test_tags_and_a_note_are_saved_from_the_detail(data_dir: Path, seeded: Workbench) -> None:
    gid = _one(seeded)
    at = _app(pages.history_page)
    at.run()
    at.text_input(key=f"h_tags_{gid}").set_value("Sunset, client A")
    at.text_area(key=f"h_note_{gid}").set_value("**not bold** [link](http://127.0.0.1:9)")
    at.button[[b.label for b in at.button].index("Save tags and note")].click().run()
    assert not at.exception
    found = seeded.annotations.get(gid)
    assert found.tags == ("sunset", "client a")
    assert found.note == "**not bold** [link](http://127.0.0.1:9)"
    table = at.dataframe[0].value
    assert table.loc[0, "tags"] == "sunset, client a"


def test_delete_for_good_asks_first_then_removes_the_generation_and_its_file(
    data_dir: Path, seeded: Workbench
) -> None:
    kept = _one(seeded)
    gone = generate_sync(
        seeded, GenerateRequest(model="flux-2-pro", prompt="a boat", seed=2)
    ).id
    image = seeded.images.absolute(seeded.log.get(gone).image_path)
    at = _app(pages.history_page)
    at.run()
    assert at.button(key=f"h_delete_{gone}").disabled  # not before "Yes, delete it for good"
    at.checkbox(key=f"h_delete_sure_{gone}").check().run()
    at.button(key=f"h_delete_{gone}").click().run()
    assert not at.exception
    assert seeded.log.get(gone) is None and not image.exists()
    assert at.subheader[0].value == f"Generation {kept}"
    assert any(f"Deleted {gone} for good." in s.value for s in at.success)


def test_an_attempt_cut_off_while_sending_is_sent_again_only_on_purpose(
    data_dir: Path, seeded: Workbench
) -> None:
    gid = _one(seeded)
    with seeded.db.cursor() as cur:  # as a kill while the request was leaving leaves it
        cur.execute(
            "UPDATE generations SET status = 'interrupted', error_kind = 'uncertain',"
            " error_message = 'cut off while sending', image_sha256 = NULL WHERE id = ?", [gid])
    at = _app(pages.history_page)
    at.run()
    assert any("may be billed twice" in w.value for w in at.warning)
    assert len(seeded.log.page(HistoryFilter())) == 1  # nothing sent by showing it
    at.button(key=f"h_resend_{gid}").click().run()
    assert not at.exception
    rows = seeded.log.page(HistoryFilter(), every_column=True)
    again = [r for r in rows if r.id != gid]
    assert len(again) == 1 and again[0].resend_of == gid and again[0].status == "succeeded"
    assert seeded.log.get(gid).error_kind == "resent"
