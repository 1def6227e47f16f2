"""The Arena page: two images of one prompt by two different models, names hidden and sides
shuffled by the arena service; the user votes (buttons or keys), then sees who made which.

The page keeps the pair it is showing in the session (so a rerun never swaps it under the
user's eyes) and draws a new one after a vote, a skip, or a change of criterion or filter.
Votes record the session's user (the sidebar's "Working as", or the signing-in proxy's name);
the page ends with that user's own consistency on repeated pairs.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from workbench.domain.criteria import load_criteria
from workbench.domain.suites import CATEGORIES
from workbench.services import history as history_service
from workbench.services.evidence import arena as arena_service
from workbench.services.evidence import leaderboard as lb_service
from workbench.services.evidence import ratings as rating_service
from workbench.services.evidence.arena import ArenaPair, InvalidVote, NoPairAvailable, Reveal
from workbench.services.workbench import Workbench
from workbench.ui.navigation import ARENA_PAIR_KEY
from workbench.ui.shared import page, workbench
from workbench.ui.text import count, plain

PAIR_KEY = "arena_pair"
REVEAL_KEY = "arena_reveal"
DRAWN_FOR_KEY = "arena_drawn_for"
AVOID_KEY = "arena_avoid"
ERROR_KEY = "arena_error"
COUNT_KEY = "arena_votes_this_session"
AVOID_LIMIT = 40  # generation ids remembered after skips (a pair is two of them)
ALL = ""

# (winner, button key, label, keyboard shortcut); keys C and R are Streamlit's own
VOTES: tuple[tuple[str, str, str, str], ...] = (
    ("left", "a_left", "Left is better", "Left"),
    ("right", "a_right", "Right is better", "Right"),
    ("tie", "a_tie", "Tie", "T"),
    ("both_bad", "a_both_bad", "Both are bad", "B"),
)
SKIP_SHORTCUT = "S"
NEXT_SHORTCUT = "N"
UNDO_SHORTCUT = "U"
UNDONE_KEY = "arena_undone"
NOTHING_TO_COMPARE = (
    "Run the same prompt on two or more models first, on the **Compare** page (one intent on "
    "several models) or the **Matrix** page (prompts × models), then come back to vote."
)


def _category_options(wb: Workbench) -> list[str]:
    logged = history_service.choices(wb)["categories"]
    return [ALL, *CATEGORIES, *(c for c in logged if c not in CATEGORIES)]


def _category_label(category: str) -> str:
    if category == ALL:
        return "All categories"
    known = CATEGORIES.get(category)
    return known.label if known else category


def _forget_pair() -> None:
    st.session_state.pop(PAIR_KEY, None)
    st.session_state.pop(REVEAL_KEY, None)
    st.session_state.pop(ERROR_KEY, None)


def _vote(wb: Workbench, winner: str) -> None:
    pair: ArenaPair | None = st.session_state.get(PAIR_KEY)
    if pair is None or st.session_state.get(REVEAL_KEY) is not None:
        return  # a stale click (keyboard repeat) after the vote was already taken
    try:
        reveal = arena_service.record_vote(wb, pair.vote(winner, rater=wb.settings.user))
    except InvalidVote as exc:
        st.session_state[ERROR_KEY] = exc.problems
        return
    st.session_state[REVEAL_KEY] = reveal
    st.session_state[COUNT_KEY] = st.session_state.get(COUNT_KEY, 0) + 1


def _skip() -> None:
    pair: ArenaPair | None = st.session_state.get(PAIR_KEY)
    if pair is not None:
        avoid = [
            *st.session_state.get(AVOID_KEY, []),
            pair.left.generation_id,
            pair.right.generation_id,
        ]
        st.session_state[AVOID_KEY] = avoid[-AVOID_LIMIT:]
    _forget_pair()


def _controls(wb: Workbench) -> tuple[str, tuple[str, ...], bool]:
    criteria = {c.id: c for c in load_criteria()}
    cols = st.columns([2, 2, 1], vertical_alignment="bottom")
    criterion = cols[0].selectbox(
        "Judge on",
        list(criteria),
        key="a_criterion",
        format_func=lambda c: criteria[c].label,
        help="Vote on one criterion at a time; Overall is your general preference.",
    )
    category = cols[1].selectbox(
        "Category",
        _category_options(wb),
        key="a_category",
        format_func=_category_label,
        help="Only prompts of this category (from suites or runs that set one).",
    )
    include_offline = cols[2].toggle(
        "Include offline sketches",
        value=False,
        key="a_offline",
        help="Sketches are drawn locally, not by the model; they compete under their own name.",
    )
    st.caption(
        f"{criteria[criterion].help} Voting as {plain(wb.settings.user)} (change it in the "
        "sidebar where allowed)."
    )
    return criterion, ((category,) if category else ()), include_offline


def _draw(
    wb: Workbench, criterion: str, categories: tuple[str, ...], include_offline: bool
) -> ArenaPair | None:
    wanted = (criterion, categories, include_offline)
    if st.session_state.get(DRAWN_FOR_KEY) != wanted:
        _forget_pair()
        st.session_state[DRAWN_FOR_KEY] = wanted
    if requested := st.session_state.pop(ARENA_PAIR_KEY, None):  # "vote on this pair"
        _forget_pair()
        try:
            st.session_state[PAIR_KEY] = arena_service.pair_of(wb, criterion, *requested)
        except NoPairAvailable as exc:
            st.warning(plain(str(exc)))
    pair: ArenaPair | None = st.session_state.get(PAIR_KEY)
    if pair is not None:
        return pair
    f = arena_service.arena_filter(categories=categories, include_offline=include_offline)
    try:
        pair = arena_service.draw_pair(
            wb,
            criterion,
            f,
            rater=wb.settings.user,
            avoid=frozenset(st.session_state.get(AVOID_KEY, [])),
        )
    except NoPairAvailable as exc:
        st.info(f"{exc} {NOTHING_TO_COMPARE}", icon=":material/info:")
        return None
    st.session_state[PAIR_KEY] = pair
    return pair


def _side(column: Any, title: str, shown: Any, name: str | None) -> None:
    with column:
        st.markdown(f"**{title}**" + (f" · {name}" if name else ""))
        st.image(shown.image_path, caption=name, width="stretch")


def _buttons(wb: Workbench) -> None:
    cols = st.columns(len(VOTES) + 1)
    for col, (winner, key, label, shortcut) in zip(cols, VOTES, strict=False):
        col.button(
            label,
            key=key,
            shortcut=shortcut,
            on_click=_vote,
            args=(wb, winner),
            type="primary" if winner in ("left", "right") else "secondary",
            width="stretch",
        )
    cols[-1].button(
        "Skip",
        key="a_skip",
        shortcut=SKIP_SHORTCUT,
        on_click=_skip,
        width="stretch",
        help="Show another pair; this one is not counted.",
    )
    st.caption(
        "Keys: ← left · → right · T tie · B both bad · S skip. Names stay hidden until you vote; "
        "which side each model lands on is random."
    )


def _undo_last(wb: Workbench) -> None:
    """Undo the vote just cast: it stops counting, and the same pair waits for a new vote."""
    reveal: Reveal | None = st.session_state.get(REVEAL_KEY)
    if reveal is None:
        return
    if rating_service.undo_vote(wb, reveal.vote_id):
        st.session_state.pop(REVEAL_KEY, None)
        st.session_state[COUNT_KEY] = max(0, st.session_state.get(COUNT_KEY, 0) - 1)
        st.session_state[UNDONE_KEY] = True


def _revealed(wb: Workbench, reveal: Reveal) -> None:
    st.success(reveal.text(), icon=":material/visibility:")
    next_col, undo_col = st.columns([1, 1])
    next_col.button(
        "Next pair",
        key="a_next",
        shortcut=NEXT_SHORTCUT,
        type="primary",
        on_click=_forget_pair,
        help="Key: N",
    )
    undo_col.button(
        "Undo this vote",
        key="a_undo",
        shortcut=UNDO_SHORTCUT,
        on_click=_undo_last,
        args=(wb,),
        help="Key: U. The vote stops counting; vote again on the same pair.",
    )


@page
def render() -> None:
    wb = workbench()
    st.title("Arena")
    st.caption(
        "Blind pairwise votes: the same prompt by two different models, names hidden until you "
        "vote. The votes feed the Leaderboard's Bradley–Terry scores."
    )
    if st.session_state.pop(UNDONE_KEY, False):
        st.toast("Vote undone; vote again on the same pair.")
    criterion, categories, include_offline = _controls(wb)
    pair = _draw(wb, criterion, categories, include_offline)
    if pair is None:
        return
    reveal: Reveal | None = st.session_state.get(REVEAL_KEY)
    if pair.intent:
        st.markdown("**Intent** (both models were given these; each worded them in its own "
                    "template, hidden here because the wording would give the model away)")
        st.code("\n".join(f"{name}: {value}" for name, value in pair.intent), language=None,
                wrap_lines=True)
    else:
        st.markdown("**Prompt** (both models received this text)")
        st.code(pair.prompt, language=None, wrap_lines=True)
    facts = [
        f"Category: {_category_label(pair.category)}" if pair.category else None,
        f"{count(pair.votes_so_far, 'earlier vote')} on this criterion for these two models",
    ]
    st.caption(plain(" · ".join(f for f in facts if f)))
    # the choice sits above the images so buttons and the reveal stay in view
    if problems := st.session_state.get(ERROR_KEY):
        for problem in problems:
            st.error(plain(problem), icon=":material/error:")
        st.button("Next pair", key="a_next", shortcut=NEXT_SHORTCUT, on_click=_forget_pair)
    elif reveal is not None:
        _revealed(wb, reveal)
    else:
        _buttons(wb)
    left_col, right_col = st.columns(2, gap="medium")
    _side(left_col, "Left", pair.left, reveal.left_name if reveal else None)
    _side(right_col, "Right", pair.right, reveal.right_name if reveal else None)
    if votes := st.session_state.get(COUNT_KEY):
        st.caption(f"{count(votes, 'vote')} this session.")
    _own_consistency(wb, categories, include_offline)


def _own_consistency(wb: Workbench, categories: tuple[str, ...], include_offline: bool) -> None:
    """This user's consistency over every criterion of the selection: position bias and how
    often a repeated pair got the same outcome as its first showing."""
    f = arena_service.arena_filter(
        categories=categories, include_offline=include_offline, raters=(wb.settings.user,)
    )
    mine = lb_service.consistency(wb, f)
    st.caption(
        plain(f"Your consistency ({wb.settings.user}, all criteria): ")
        + " ".join(plain(line) for line in mine.lines())
    )
