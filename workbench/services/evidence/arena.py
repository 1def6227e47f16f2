"""The blind arena: draw two images of the same prompt by two different models, record the
vote, then reveal who made which.

Blind means blind: an `ArenaPair` carries generation ids and image files but no model names;
`record_vote` looks the generations up itself (so a page cannot vote for a pair it was never
shown, or for two images of one model) and only then returns the names in a `Reveal`.
Pairs are drawn to favour model pairs with fewer votes on the chosen criterion; now and then
(REPEAT_RATE) an already-voted pair is shown again, sides re-shuffled, to measure how
consistent the rater is. Left/right order is random and recorded with the vote.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from workbench.domain.catalog import CatalogError
from workbench.domain.criteria import load_criteria
from workbench.domain.filters import HistoryFilter
from workbench.errors import InvalidInput, WorkbenchError
from workbench.services.workbench import Workbench
from workbench.stats.bradley_terry import outcome
from workbench.store.arena_candidates import ArenaCandidates
from workbench.store.generations import same_prompt_key
from workbench.store.records import ArenaCandidate, Generation
from workbench.store.votes import NewVote, VoteLog, contestant

# What an arena side is drawn from: a log row, or a candidate of a fresh draw.
Shownable = Generation | ArenaCandidate

REPEAT_RATE = 0.10  # share of draws that re-show a pair already voted on (when one exists)
SKIP_RECENT = 3  # a pair from the rater's last few votes is never re-shown (it is remembered)
Winner = Literal["left", "right", "tie", "both_bad"]
WINNER_LABELS: dict[str, str] = {
    "left": "Left is better",
    "right": "Right is better",
    "tie": "Tie",
    "both_bad": "Both are bad",
}


class InvalidVote(InvalidInput):
    """The vote cannot be recorded; `problems` are sentences for a person."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class NoPairAvailable(WorkbenchError, LookupError):
    """Nothing to compare yet; the message says what is missing and what to do."""


class VoteInput(BaseModel):
    """A vote as a page submits it. Validated at the edge."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    left_generation_id: str = Field(min_length=1, max_length=100)
    right_generation_id: str = Field(min_length=1, max_length=100)
    criterion: str
    winner: Winner
    swapped: bool = False
    rater: str | None = Field(default=None, min_length=1, max_length=80)  # None: Settings.user
    repeat_of: int | None = Field(default=None, ge=1)

    @field_validator("criterion")
    @classmethod
    def _known_criterion(cls, value: str) -> str:
        known = [c.id for c in load_criteria()]
        if value not in known:
            raise ValueError(f"unknown criterion '{value}'; use one of {', '.join(known)}")
        return value

    @field_validator("rater")
    @classmethod
    def _clean_rater(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = " ".join(value.split())
        if not value:
            raise ValueError("the rater name is blank")
        return value


def parse_vote(data: VoteInput | dict[str, Any]) -> VoteInput:
    if isinstance(data, VoteInput):
        return data
    try:
        return VoteInput.model_validate(data)
    except ValidationError as exc:
        raise InvalidVote(
            [f"{'.'.join(str(p) for p in e['loc']) or 'vote'}: {e['msg']}" for e in exc.errors()]
        ) from None


@dataclass(frozen=True)
class Shown:
    """One side of a pair as the page shows it: an image, no model name."""

    generation_id: str
    image_path: str  # absolute path of the full image
    thumb_path: str | None  # absolute path of the JPEG thumbnail
    width: int | None
    height: int | None


@dataclass(frozen=True)
class ArenaPair:
    criterion: str
    prompt: str
    category: str | None
    left: Shown
    right: Shown
    swapped: bool  # the random draw put the pair's second image on the left
    is_repeat: bool
    repeat_of: int | None
    votes_so_far: int  # earlier votes on this criterion for the same two models
    # When the two sides were sent different texts (each model's own template), the shared
    # intent (slot, value) is shown instead of either text: a template's wording (a lens and
    # lighting for FLUX, a narrative sentence for Nano Banana) would give the model away.
    intent: tuple[tuple[str, str], ...] = ()

    def vote(self, winner: str, rater: str | None = None) -> VoteInput:
        """The vote for this pair, ready for `record_vote`."""
        return parse_vote(
            {
                "left_generation_id": self.left.generation_id,
                "right_generation_id": self.right.generation_id,
                "criterion": self.criterion,
                "winner": winner,
                "swapped": self.swapped,
                "rater": rater,
                "repeat_of": self.repeat_of,
            }
        )


@dataclass(frozen=True)
class PairOption:
    """Two contestants that have images of at least one common prompt."""

    model_a: str
    model_b: str
    prompts: int
    votes: int  # on the criterion asked about


@dataclass(frozen=True)
class Reveal:
    vote_id: int
    winner: str
    criterion: str
    left_model: str
    left_provider: str
    left_name: str  # the catalog's display name (tagged when an offline sketch)
    right_model: str
    right_provider: str
    right_name: str
    is_repeat: bool
    agrees_with_first: bool | None  # for a repeat: same outcome as the first vote?

    @property
    def winner_name(self) -> str | None:
        return {"left": self.left_name, "right": self.right_name}.get(self.winner)

    def text(self) -> str:
        verdict = {
            "left": f"you preferred {self.left_name}",
            "right": f"you preferred {self.right_name}",
            "tie": "you called it a tie",
            "both_bad": "you found both bad",
        }[self.winner]
        line = f"Left: {self.left_name} · Right: {self.right_name} — {verdict}."
        if self.agrees_with_first is not None:
            line += (
                " This pair was shown before; your vote "
                + ("matches" if self.agrees_with_first else "differs from")
                + " the first one."
            )
        return line


def arena_filter(
    *, categories: tuple[str, ...] = (), templates: tuple[str, ...] = (),
    providers: tuple[str, ...] = (), include_offline: bool = False,
    raters: tuple[str, ...] = (),
) -> HistoryFilter:
    """The arena's default filter: offline sketches out unless asked for; `raters` limits the
    votes read (for one person's consistency), never the images drawn."""
    return HistoryFilter(
        categories=categories, templates=templates, providers=providers,
        include_offline=include_offline, raters=raters,
    )


def _default_filter(f: HistoryFilter | None) -> HistoryFilter:
    return f if f is not None else arena_filter()


def _check_criterion(criterion: str) -> None:
    known = [c.id for c in load_criteria()]
    if criterion not in known:
        raise InvalidVote([f"unknown criterion '{criterion}'; use one of {', '.join(known)}"])


def _why_empty(candidates: ArenaCandidates, f: HistoryFilter) -> str:
    who = candidates.candidate_contestants(f)
    offline_note = "" if f.include_offline else " Offline sketches are left out unless chosen."
    if not who:
        return (
            "No finished images match this selection yet. Generate some first (the same prompt "
            f"on two or more models).{offline_note}"
        )
    if len(who) == 1:
        return (
            f"Only one model ({who[0]}) has images in this selection; the arena needs the same "
            f"prompt run on at least two models.{offline_note}"
        )
    return (
        f"{len(who)} models have images, but no prompt has images from two different models. "
        "Run one prompt on two or more models (for example with Compare) to vote on it."
    )


def shared_intent(
    wb: Workbench, first: Shownable, second: Shownable
) -> tuple[tuple[str, str], ...]:
    """The slot values both sides were built from, when their texts differ; () when both
    models received the same text (then that text is shown)."""
    if first.prompt == second.prompt:
        return ()
    slots: dict[str, Any] = {}
    for row in (first, second):
        record = wb.log.get(row.id)
        for name, value in ((record.slots if record else None) or {}).items():
            if isinstance(value, str) and value.strip() and name != "aspect_ratio":
                slots.setdefault(name, value.strip())
    return tuple((name.replace("_", " "), value) for name, value in slots.items())


def _shown(wb: Workbench, row: Shownable) -> Shown:
    thumb = row.thumb_path
    if row.image_path is None:  # every caller checked; a row without one cannot be shown
        raise NoPairAvailable("One of these two images is no longer in the log.")
    return Shown(
        generation_id=row.id,
        image_path=str(wb.images.absolute(row.image_path)),
        thumb_path=str(wb.images.absolute(thumb)) if thumb else None,
        width=row.width,
        height=row.height,
    )


def _repeat(
    wb: Workbench, votes: VoteLog, f: HistoryFilter, criterion: str, rater: str,
    rng: random.Random, skip_recent: int,
) -> ArenaPair | None:
    candidates = votes.repeat_candidates(f, criterion, rater, skip_recent=skip_recent)
    if not candidates:
        return None
    vote_id, first_left, first_right = rng.choice(candidates)
    rows: dict[str, Generation] = {}
    for generation_id in (first_left, first_right):
        record = wb.log.get(generation_id)
        if record is None or not record.image_path:
            return None  # deleted between the two queries: draw a fresh pair instead
        rows[generation_id] = record
    swapped = rng.random() < 0.5
    left, right = (first_right, first_left) if swapped else (first_left, first_right)
    a, b = rows[left], rows[right]
    names = sorted((contestant(a.model, a.provider), contestant(b.model, b.provider)))
    pair_key = (names[0], names[1])
    return ArenaPair(
        criterion=criterion, prompt=a.prompt, category=a.category or b.category,
        left=_shown(wb, a), right=_shown(wb, b), swapped=swapped, is_repeat=True,
        repeat_of=vote_id, votes_so_far=wb.tallies.votes_per_pair(f, criterion).get(pair_key, 0),
        intent=shared_intent(wb, a, b),
    )


def pair_of(
    wb: Workbench, criterion: str, first_id: str, second_id: str, *,
    rng: random.Random | None = None,
) -> ArenaPair:
    """The pair of two given images (neighbours in a run's grid), sides shuffled and names
    hidden as in any draw. Raises `NoPairAvailable` when they cannot be judged as a pair."""
    _check_criterion(criterion)
    rows = [wb.log.get(first_id), wb.log.get(second_id)]
    a, b = rows
    if a is None or b is None or not a.image_path or not b.image_path:
        raise NoPairAvailable("One of these two images is no longer in the log.")
    if contestant(a.model, a.provider) == contestant(b.model, b.provider):
        raise NoPairAvailable("Both images come from the same model; a vote needs two models.")
    f = _default_filter(None)
    first, second = sorted(
        (contestant(a.model, a.provider), contestant(b.model, b.provider))
    )
    swapped = (rng or random.Random()).random() < 0.5
    left, right = (b, a) if swapped else (a, b)
    return ArenaPair(
        criterion=criterion, prompt=a.prompt, category=a.category or b.category,
        left=_shown(wb, left), right=_shown(wb, right), swapped=swapped, is_repeat=False,
        repeat_of=None,
        votes_so_far=wb.tallies.votes_per_pair(f, criterion).get((first, second), 0),
        intent=shared_intent(wb, a, b),
    )


def draw_pair(
    wb: Workbench, criterion: str, f: HistoryFilter | None = None, *, rater: str | None = None,
    rng: random.Random | None = None, repeat_rate: float = REPEAT_RATE,
    avoid: frozenset[str] | set[str] = frozenset(), skip_recent: int = SKIP_RECENT,
) -> ArenaPair:
    """The next pair to judge. Raises `NoPairAvailable` (with the reason) when there is none.

    `avoid` holds generation ids just shown (after a skip): another pair is preferred. Repeats
    (for consistency) come from `rater`'s own votes, by default the workbench's user."""
    _check_criterion(criterion)
    # one connection for the whole draw: it runs several small queries
    with wb.db.cursor():
        return _draw(wb, criterion, _default_filter(f), rater or wb.settings.user,
                     rng or random.Random(),
                     repeat_rate, avoid, skip_recent)


def _draw(
    wb: Workbench, criterion: str, f: HistoryFilter, rater: str, rng: random.Random,
    repeat_rate: float, avoid: frozenset[str] | set[str], skip_recent: int,
) -> ArenaPair:
    votes = wb.votes
    if repeat_rate > 0 and rng.random() < repeat_rate:
        pair = _repeat(wb, votes, f, criterion, rater, rng, skip_recent)
        if pair is not None:
            return pair
    counts = wb.tallies.votes_per_pair(f, criterion)
    candidates = wb.candidates
    options = [
        PairOption(a, b, n, counts.get((a, b), 0)) for a, b, n in candidates.candidate_pairs(f)
    ]
    if not options:
        raise NoPairAvailable(_why_empty(candidates, f))
    # (1 + votes)^-2: a pair without votes is drawn 4x as often as one with a single vote,
    # 121x as often as one with ten; every pair keeps a chance, so the draw stays varied.
    weights = [1.0 / (1 + o.votes) ** 2 for o in options]
    best: tuple[ArenaCandidate, ArenaCandidate, PairOption] | None = None
    for _ in range(8):
        option = rng.choices(options, weights)[0]
        prompt = rng.choice(candidates.shared_prompts(f, option.model_a, option.model_b))
        first = candidates.candidate_generations(f, prompt, option.model_a)
        second = candidates.candidate_generations(f, prompt, option.model_b)
        if not first or not second:
            continue  # a generation vanished between queries
        best = (rng.choice(first), rng.choice(second), option)
        if not {best[0].id, best[1].id} <= set(avoid):
            break
    if best is None:
        raise NoPairAvailable(_why_empty(candidates, f))
    a, b, option = best
    swapped = rng.random() < 0.5
    left, right = (b, a) if swapped else (a, b)
    return ArenaPair(
        criterion=criterion, prompt=a.prompt, category=a.category or b.category,
        left=_shown(wb, left), right=_shown(wb, right), swapped=swapped, is_repeat=False,
        repeat_of=None, votes_so_far=option.votes, intent=shared_intent(wb, a, b),
    )


def display_name(wb: Workbench, model: str, provider: str | None) -> str:
    try:
        name = wb.catalog.model(model).name
    except CatalogError:
        name = model
    return contestant(name, provider)


def record_vote(wb: Workbench, data: VoteInput | dict[str, Any]) -> Reveal:
    """Validate and store one vote; return the names behind the two images."""
    vote = parse_vote(data)
    with wb.db.cursor():  # one connection for the look-ups and the insert
        return _record(wb, vote)


def _record(wb: Workbench, vote: VoteInput) -> Reveal:
    if vote.left_generation_id == vote.right_generation_id:
        raise InvalidVote(["Both sides are the same image."])
    sides: dict[str, Generation] = {}
    problems: list[str] = []
    for side, generation_id in (("left", vote.left_generation_id),
                                ("right", vote.right_generation_id)):
        record = wb.log.get(generation_id)
        if record is None:
            problems.append(
                f"The {side} image is no longer in the log (it was deleted); draw another pair."
            )
        elif record.status != "succeeded" or not record.image_sha256:
            problems.append(f"The {side} image is not a finished generation.")
        else:
            sides[side] = record
    if problems:
        raise InvalidVote(problems)
    left, right = sides["left"], sides["right"]
    left_who = contestant(left.model, left.provider)
    right_who = contestant(right.model, right.provider)
    if left_who == right_who:
        problems.append("Both images come from the same model; the arena compares two models.")
    if same_prompt_key(left) != same_prompt_key(right):
        problems.append("The two images answer different prompts, so they cannot be compared.")
    votes = wb.votes
    first = None
    if vote.repeat_of is not None:
        first = votes.get(vote.repeat_of)
        same_pair = first is not None and {
            first.left_generation_id, first.right_generation_id
        } == {vote.left_generation_id, vote.right_generation_id}
        if first is None or not same_pair or first.criterion != vote.criterion:
            problems.append("The vote it repeats is not a vote on this pair and criterion.")
    if problems:
        raise InvalidVote(problems)
    vote_id = votes.add(
        NewVote(
            left_model=left.model, right_model=right.model, winner=vote.winner,
            criterion=vote.criterion, left_generation_id=left.id,
            right_generation_id=right.id, left_provider=left.provider,
            right_provider=right.provider,
            category=left.category or right.category,
            template_id=left.template_id or right.template_id,
            prompt=left.prompt, swapped=vote.swapped, rater=vote.rater or wb.settings.user,
            is_repeat=first is not None, repeat_of=vote.repeat_of,
        )
    )
    agrees = None
    if first is not None:
        # the same pair as this vote's (checked above), so both of its sides are known
        assert first.left_generation_id is not None and first.right_generation_id is not None
        agrees = outcome(first.winner, first.left_generation_id,
                         first.right_generation_id) == outcome(
            vote.winner, vote.left_generation_id, vote.right_generation_id)
    return Reveal(
        vote_id=vote_id, winner=vote.winner, criterion=vote.criterion,
        left_model=left.model, left_provider=left.provider,
        left_name=display_name(wb, left.model, left.provider),
        right_model=right.model, right_provider=right.provider,
        right_name=display_name(wb, right.model, right.provider),
        is_repeat=first is not None, agrees_with_first=agrees,
    )
