"""The Arena page in AppTest: blind pairs from the offline renderer, every kind of vote, skip,
keyboard shortcuts, the reveal, and the message when there is nothing to compare."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.arena_data import delete_generation
from tests.ui import pages
from workbench.domain.filters import HistoryFilter
from workbench.services.runs.generation import GenerateRequest, generate_sync
from workbench.services.workbench import Workbench
from workbench.ui.shared import USER_KEY

NAMES = ("nano-banana-2", "flux-2-pro", "Nano Banana 2", "FLUX.2 Pro")


def _app() -> AppTest:
    return AppTest.from_function(pages.arena_page, default_timeout=30)


def _sketches(wb: Workbench, prompts: int = 1, category: str | None = "portrait",
              models: tuple[str, ...] = ("nano-banana-2", "flux-2-pro")) -> None:
    for i in range(prompts):
        for model in models:
            generate_sync(wb, GenerateRequest(model=model, prompt=f"A lighthouse at dawn {i}",
                                              seed=1, category=category))


def _shown_text(at: AppTest) -> str:
    """Everything the page writes as text, image captions included."""
    parts = [str(e.value) for kind in ("title", "markdown", "caption", "success", "info",
                                       "error", "code") for e in getattr(at, kind)]
    parts += [c for image in at.image for c in image.captions]
    return "\n".join(parts)


def _open(at: AppTest) -> AppTest:
    at.run()
    at.toggle(key="a_offline").set_value(True).run()
    assert not at.exception
    return at


def _votes(wb: Workbench) -> list[dict]:
    frame = wb.votes.frame(HistoryFilter())
    return frame.to_dict("records")


def test_a_vote_hides_the_names_before_and_reveals_them_after(
    data_dir: Path, seeded: Workbench
) -> None:
    _sketches(seeded)
    at = _open(_app())
    pair = at.session_state["arena_pair"]
    assert len(at.image) == 2
    before = _shown_text(at)
    assert "A lighthouse at dawn 0" in before
    assert not any(name in before for name in NAMES)  # blind
    at.button(key="a_left").click().run()
    assert not at.exception
    [vote] = _votes(seeded)
    assert vote["winner"] == "left" and vote["criterion"] == "overall"
    assert vote["left_generation_id"] == pair.left.generation_id
    assert vote["swapped"] == pair.swapped
    left_model = seeded.log.get(pair.left.generation_id).model
    right_model = seeded.log.get(pair.right.generation_id).model
    names = {"nano-banana-2": "Nano Banana 2", "flux-2-pro": "FLUX.2 Pro"}
    reveal = at.success[0].value
    assert reveal.startswith(f"Left: {names[left_model]} (offline sketch) · Right: "
                             f"{names[right_model]} (offline sketch)")
    assert f"you preferred {names[left_model]}" in reveal
    assert any(m.value == f"**Left** · {names[left_model]} (offline sketch)" for m in at.markdown)
    assert [b.key for b in at.button] == ["a_next", "a_undo"]  # no second vote, only an undo
    at.button(key="a_next").click().run()
    assert [b.key for b in at.button] == ["a_left", "a_right", "a_tie", "a_both_bad", "a_skip"]
    assert not any(name in _shown_text(at) for name in NAMES)
    assert len(_votes(seeded)) == 1


@pytest.mark.parametrize(
    ("button", "winner", "criterion"),
    [("a_left", "left", "overall"), ("a_right", "right", "skin_warmth"),
     ("a_tie", "tie", "hair_detail"), ("a_both_bad", "both_bad", "text_in_image")],
)
def test_each_kind_of_vote_is_recorded_on_the_chosen_criterion(
    data_dir: Path, seeded: Workbench, button: str, winner: str, criterion: str
) -> None:
    _sketches(seeded)
    at = _open(_app())
    at.selectbox(key="a_criterion").set_value(criterion).run()
    at.button(key=button).click().run()
    assert not at.exception
    [vote] = _votes(seeded)
    assert (vote["winner"], vote["criterion"], vote["category"]) == (winner, criterion, "portrait")
    assert vote["rater"] == seeded.settings.user  # WORKBENCH_USER, else the OS user
    expected = {"left": "you preferred", "right": "you preferred", "tie": "you called it a tie",
                "both_bad": "you found both bad"}[winner]
    assert expected in at.success[0].value


def test_buttons_carry_keyboard_shortcuts(data_dir: Path, seeded: Workbench) -> None:
    _sketches(seeded)
    at = _open(_app())
    shortcuts = {b.key: b.proto.shortcut for b in at.button}
    assert shortcuts == {"a_left": "left", "a_right": "right", "a_tie": "t", "a_both_bad": "b",
                         "a_skip": "s"}
    assert any("← left" in c.value and "S skip" in c.value for c in at.caption)
    at.button(key="a_tie").click().run()
    assert at.button(key="a_next").proto.shortcut == "n"


def test_skip_records_nothing_and_shows_another_pair(data_dir: Path, seeded: Workbench) -> None:
    _sketches(seeded, prompts=4)
    at = _open(_app())
    first = at.session_state["arena_pair"]
    at.button(key="a_skip").click().run()
    assert not at.exception
    second = at.session_state["arena_pair"]
    skipped = {first.left.generation_id, first.right.generation_id}
    assert skipped <= set(at.session_state["arena_avoid"])
    assert not skipped & {second.left.generation_id, second.right.generation_id}
    assert _votes(seeded) == []
    assert "a_left" in [b.key for b in at.button]


def test_the_session_user_and_the_category_filter_are_used(
    data_dir: Path, seeded: Workbench
) -> None:
    _sketches(seeded, prompts=2, category="portrait")
    _sketches(seeded, prompts=2, category="text")
    at = _app()
    at.session_state[USER_KEY] = "Ada"  # as the sidebar's "Working as" sets it
    _open(at)
    assert any("Voting as Ada" in c.value for c in at.caption)
    assert any(c.value.startswith("Your consistency (Ada") and "no decisive" in c.value
               for c in at.caption)
    at.selectbox(key="a_category").set_value("text").run()
    assert at.session_state["arena_pair"].category == "text"
    at.button(key="a_right").click().run()
    [vote] = _votes(seeded)
    assert (vote["category"], vote["rater"]) == ("text", "Ada")
    assert any(c.value.startswith("Your consistency (Ada") and "won 0%" in c.value
               for c in at.caption)  # her one decisive vote went to the right image


def test_nothing_to_compare_says_to_run_compare_or_matrix(
    data_dir: Path, seeded: Workbench
) -> None:
    at = _app()
    at.run()
    assert not at.exception
    message = at.info[0].value
    assert "Compare" in message and "Matrix" in message
    assert not at.button and not at.image
    # one model only (and sketches left out by default, which the message says)
    _sketches(seeded, prompts=2, models=("nano-banana-2",))
    at.run()
    assert "Offline sketches are left out unless chosen" in at.info[0].value
    at.toggle(key="a_offline").set_value(True).run()
    message = at.info[0].value
    assert "Only one model" in message and "Compare" in message
    assert not at.button


def test_sketches_are_left_out_until_included(data_dir: Path, seeded: Workbench) -> None:
    _sketches(seeded)
    at = _app()
    at.run()
    assert at.info and not at.image  # offline sketches only, toggle off by default
    assert at.toggle(key="a_offline").value is False
    at.toggle(key="a_offline").set_value(True).run()
    assert len(at.image) == 2 and not at.info


def test_a_pair_whose_image_was_deleted_shows_why_and_moves_on(
    data_dir: Path, seeded: Workbench
) -> None:
    _sketches(seeded, prompts=2)
    at = _open(_app())
    pair = at.session_state["arena_pair"]
    delete_generation(seeded, pair.left.generation_id)
    at.button(key="a_left").click().run()
    assert not at.exception
    assert "no longer in the log" in at.error[0].value
    assert _votes(seeded) == []
    at.button(key="a_next").click().run()
    assert not at.error
    fresh = at.session_state["arena_pair"]
    assert pair.left.generation_id not in (fresh.left.generation_id, fresh.right.generation_id)
