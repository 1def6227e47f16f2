"""The arena: blind pairs of the same prompt from two models, fewer-voted pairs first, random
and recorded sides, occasional repeats, validated votes and the reveal."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.arena_data import add_generation, delete_generation
from workbench.domain.filters import HistoryFilter
from workbench.services.evidence.arena import (
    ArenaPair,
    InvalidVote,
    NoPairAvailable,
    arena_filter,
    draw_pair,
    record_vote,
)
from workbench.services.workbench import Workbench
from workbench.store.votes import OFFLINE_TAG, NewVote

MODELS = {"nano-banana-2": "gemini", "flux-2-pro": "bfl", "flux-2-max": "bfl"}



@pytest.fixture(autouse=True)
def _one_connection(wb: Workbench) -> Iterator[None]:
    """Keep the database open for the whole test (the fixture's idle close is 0 s, which
    would reopen the file for every statement)."""
    with wb.db.cursor():
        yield


def fill(wb: Workbench, prompts: int = 3, models: dict[str, str] = MODELS) -> None:
    for i in range(prompts):
        for model, provider in models.items():
            add_generation(wb, model, f"prompt {i}", provider=provider, category="portrait")


def model_of(wb: Workbench, generation_id: str) -> str:
    return wb.log.get(generation_id).model


def test_a_pair_shows_the_same_prompt_from_two_different_models_without_names(
    wb: Workbench,
) -> None:
    fill(wb)
    pair = draw_pair(wb, "overall", rng=random.Random(1), repeat_rate=0)
    left, right = wb.log.get(pair.left.generation_id), wb.log.get(pair.right.generation_id)
    assert left.prompt == right.prompt == pair.prompt
    assert left.model != right.model
    assert pair.category == "portrait" and not pair.is_repeat
    assert pair.left.image_path.endswith(".png") and pair.left.thumb_path.endswith(".jpg")
    # blind: nothing the page receives names a model
    shown = repr(pair)
    assert not any(model in shown for model in MODELS)


def test_sides_are_random_and_recorded(wb: Workbench) -> None:
    fill(wb, prompts=1, models={"nano-banana-2": "gemini", "flux-2-pro": "bfl"})
    rng = random.Random(5)
    draws = [draw_pair(wb, "overall", rng=rng, repeat_rate=0) for _ in range(40)]
    lefts = Counter(model_of(wb, p.left.generation_id) for p in draws)
    assert lefts["nano-banana-2"] > 5 and lefts["flux-2-pro"] > 5
    for p in draws:  # `swapped` says which one the draw moved: the alphabetically second model
        assert p.swapped == (model_of(wb, p.left.generation_id) == "nano-banana-2")
    reveal = record_vote(wb, draws[0].vote("left"))
    assert wb.votes.get(reveal.vote_id).swapped == draws[0].swapped


def test_pairs_with_fewer_votes_are_drawn_more_often(wb: Workbench) -> None:
    fill(wb, prompts=2)
    rng = random.Random(2)
    log = wb.votes
    log.add_many(
        NewVote(left_model="flux-2-max", right_model="flux-2-pro", winner="tie",
                criterion="overall", left_provider="bfl", right_provider="bfl")
        for _ in range(12)
    )
    drawn = Counter()
    for _ in range(100):
        pair = draw_pair(wb, "overall", rng=rng, repeat_rate=0)
        drawn[frozenset({model_of(wb, pair.left.generation_id),
                         model_of(wb, pair.right.generation_id)})] += 1
    voted = drawn[frozenset({"flux-2-max", "flux-2-pro"})]
    assert voted < 10 < drawn[frozenset({"nano-banana-2", "flux-2-pro"})]
    # on another criterion that pair has no votes and is drawn as often as the others
    assert wb.tallies.votes_per_pair(arena_filter(), "skin_warmth") == {}


def test_a_voted_pair_comes_back_as_a_repeat_with_sides_reshuffled(wb: Workbench) -> None:
    fill(wb, prompts=1)
    rng = random.Random(3)
    first = draw_pair(wb, "overall", rng=rng, repeat_rate=0)
    first_reveal = record_vote(wb, first.vote("left"))
    again = draw_pair(wb, "overall", rng=rng, repeat_rate=1.0, skip_recent=0)
    assert again.is_repeat and again.repeat_of == first_reveal.vote_id
    assert {again.left.generation_id, again.right.generation_id} == {
        first.left.generation_id, first.right.generation_id}
    same_image = "left" if again.left.generation_id == first.left.generation_id else "right"
    reveal = record_vote(wb, again.vote(same_image))
    assert reveal.is_repeat and reveal.agrees_with_first is True
    assert "matches" in reveal.text()
    stored = wb.votes.get(reveal.vote_id)
    assert stored.is_repeat and stored.repeat_of == first_reveal.vote_id
    # once repeated, that vote is not offered again; a fresh pair is drawn instead
    third = draw_pair(wb, "overall", rng=rng, repeat_rate=1.0, skip_recent=0)
    assert not third.is_repeat


def test_a_recent_vote_is_not_repeated_at_once(wb: Workbench) -> None:
    fill(wb, prompts=1)
    rng = random.Random(4)
    record_vote(wb, draw_pair(wb, "overall", rng=rng, repeat_rate=0).vote("right"))
    assert not draw_pair(wb, "overall", rng=rng, repeat_rate=1.0).is_repeat


def test_a_disagreeing_repeat_is_reported(wb: Workbench) -> None:
    fill(wb, prompts=1)
    rng = random.Random(6)
    first = draw_pair(wb, "overall", rng=rng, repeat_rate=0)
    record_vote(wb, first.vote("left"))
    again = draw_pair(wb, "overall", rng=rng, repeat_rate=1.0, skip_recent=0)
    other = "right" if again.left.generation_id == first.left.generation_id else "left"
    reveal = record_vote(wb, again.vote(other))
    assert reveal.agrees_with_first is False and "differs" in reveal.text()


def test_the_reveal_names_both_models_and_the_winner(wb: Workbench) -> None:
    fill(wb, prompts=1, models={"nano-banana-2": "gemini", "flux-2-pro": "bfl"})
    pair = draw_pair(wb, "overall", rng=random.Random(8), repeat_rate=0)
    reveal = record_vote(wb, pair.vote("right"))
    right_model = model_of(wb, pair.right.generation_id)
    assert reveal.right_model == right_model
    assert reveal.winner_name == {"nano-banana-2": "Nano Banana 2",
                                  "flux-2-pro": "FLUX.2 Pro"}[right_model]
    assert record_vote(wb, pair.vote("both_bad")).winner_name is None


def test_offline_sketches_are_excluded_unless_asked_for(wb: Workbench) -> None:
    fill(wb, prompts=1, models={"nano-banana-2": "offline", "flux-2-pro": "offline"})
    with pytest.raises(NoPairAvailable, match="Offline sketches are left out"):
        draw_pair(wb, "overall")
    pair = draw_pair(wb, "overall", arena_filter(include_offline=True), rng=random.Random(1))
    reveal = record_vote(wb, pair.vote("tie"))
    assert reveal.left_name.endswith(OFFLINE_TAG) and reveal.right_name.endswith(OFFLINE_TAG)


def test_empty_and_one_model_selections_explain_themselves(wb: Workbench) -> None:
    with pytest.raises(NoPairAvailable, match="No finished images"):
        draw_pair(wb, "overall")
    add_generation(wb, "flux-2-pro", "a cat", provider="bfl")
    add_generation(wb, "flux-2-pro", "a dog", provider="bfl")
    with pytest.raises(NoPairAvailable, match="Only one model"):
        draw_pair(wb, "overall")
    add_generation(wb, "nano-banana-2", "a bird")
    with pytest.raises(NoPairAvailable, match="no prompt has images from two different"):
        draw_pair(wb, "overall")
    add_generation(wb, "nano-banana-2", "a cat", status="failed")
    with pytest.raises(NoPairAvailable):
        draw_pair(wb, "overall")


def test_the_filter_limits_what_is_drawn(wb: Workbench) -> None:
    fill(wb, prompts=1)
    for model, provider in MODELS.items():
        add_generation(wb, model, "a dune", provider=provider, category="landscape")
    rng = random.Random(9)
    for _ in range(10):
        pair = draw_pair(wb, "overall", HistoryFilter(categories=("landscape",),
                                                      include_offline=False), rng=rng)
        assert pair.prompt == "a dune"


def test_skip_prefers_another_pair(wb: Workbench) -> None:
    fill(wb, prompts=3)
    rng = random.Random(10)
    shown = draw_pair(wb, "overall", rng=rng, repeat_rate=0)
    avoid = {shown.left.generation_id, shown.right.generation_id}
    for _ in range(10):
        pair = draw_pair(wb, "overall", rng=rng, repeat_rate=0, avoid=avoid)
        assert {pair.left.generation_id, pair.right.generation_id} != avoid


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"winner": "model_a"}, "winner"),
        ({"criterion": "vibes"}, "unknown criterion"),
        ({"rater": "   "}, "rater"),
        ({"extra": 1}, "extra"),
    ],
)
def test_votes_are_validated_at_the_edge(
    wb: Workbench, change: dict[str, object], message: str
) -> None:
    fill(wb, prompts=1)
    pair = draw_pair(wb, "overall", rng=random.Random(1), repeat_rate=0)
    data = pair.vote("left").model_dump() | change
    with pytest.raises(InvalidVote, match=message):
        record_vote(wb, data)
    assert wb.votes.count(HistoryFilter()) == 0


def test_forged_votes_are_refused(wb: Workbench) -> None:
    a = add_generation(wb, "nano-banana-2", "one")
    b = add_generation(wb, "nano-banana-2", "one")
    c = add_generation(wb, "flux-2-pro", "two", provider="bfl")
    failed = add_generation(wb, "flux-2-pro", "one", provider="bfl", status="failed")
    base = {"criterion": "overall", "winner": "left"}
    cases = [
        ({"left_generation_id": a, "right_generation_id": b}, "same model"),
        ({"left_generation_id": a, "right_generation_id": c}, "different prompts"),
        ({"left_generation_id": a, "right_generation_id": failed}, "not a finished"),
        ({"left_generation_id": a, "right_generation_id": "gen_missing"}, "deleted"),
        ({"left_generation_id": a, "right_generation_id": a}, "same image"),
    ]
    for ids, message in cases:
        with pytest.raises(InvalidVote, match=message):
            record_vote(wb, base | ids)
    assert wb.votes.count(HistoryFilter()) == 0


def test_a_pair_whose_image_was_deleted_before_the_vote_is_refused_clearly(
    wb: Workbench,
) -> None:
    fill(wb, prompts=1, models={"nano-banana-2": "gemini", "flux-2-pro": "bfl"})
    pair: ArenaPair = draw_pair(wb, "overall", rng=random.Random(1), repeat_rate=0)
    delete_generation(wb, pair.left.generation_id)
    with pytest.raises(InvalidVote, match="left image is no longer in the log"):
        record_vote(wb, pair.vote("left"))


def test_a_repeat_must_name_a_vote_on_the_same_pair(wb: Workbench) -> None:
    fill(wb, prompts=2, models={"nano-banana-2": "gemini", "flux-2-pro": "bfl"})
    rng = random.Random(12)
    first = draw_pair(wb, "overall", rng=rng, repeat_rate=0)
    first_id = record_vote(wb, first.vote("left")).vote_id
    other = first
    while other.prompt == first.prompt:
        other = draw_pair(wb, "overall", rng=rng, repeat_rate=0)
    forged = other.vote("left").model_copy(update={"repeat_of": first_id})
    with pytest.raises(InvalidVote, match="repeats"):
        record_vote(wb, forged)
    wrong_criterion = first.vote("left").model_copy(
        update={"repeat_of": first_id, "criterion": "skin_warmth"})
    with pytest.raises(InvalidVote, match="repeats"):
        record_vote(wb, wrong_criterion)
