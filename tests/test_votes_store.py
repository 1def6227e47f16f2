"""The votes table: append-only rows, aggregates in SQL, filters, and votes that outlive their
generations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pytest

from tests.arena_data import add_generation, delete_generation
from workbench.domain.filters import HistoryFilter
from workbench.services.workbench import Workbench
from workbench.store.votes import OFFLINE_TAG, NewVote, contestant, fingerprint


@pytest.fixture
def wb(backend_wb: Workbench) -> Workbench:
    """Every test here runs on the DuckDB file and on PostgreSQL."""
    return backend_wb


ALL = HistoryFilter()  # include_offline defaults to True in HistoryFilter
REAL = HistoryFilter(include_offline=False)



@pytest.fixture(autouse=True)
def _one_connection(wb: Workbench) -> Iterator[None]:
    """Keep the database open for the whole test (the fixture's idle close is 0 s, which
    would reopen the file for every statement)."""
    with wb.db.cursor():
        yield


def vote(left: str = "nano-banana-2", right: str = "flux-2-pro", winner: str = "left",
         **fields: object) -> NewVote:
    return NewVote(left_model=left, right_model=right, winner=winner,
                   criterion=fields.pop("criterion", "overall"),  # type: ignore[arg-type]
                   left_provider=fields.pop("left_provider", "gemini"),  # type: ignore[arg-type]
                   right_provider=fields.pop("right_provider", "bfl"),  # type: ignore[arg-type]
                   **fields)  # type: ignore[arg-type]


def test_migration_creates_the_votes_table(wb: Workbench) -> None:
    assert "0003_votes" in wb.db.migrations_applied
    assert wb.votes.count(ALL) == 0


def test_votes_are_appended_with_increasing_ids_and_a_fingerprint(wb: Workbench) -> None:
    log = wb.votes
    first = log.add(vote(prompt="a red fox"))
    second = log.add(vote(winner="tie", prompt="a red fox"))
    assert second > first
    row = log.get(first)
    assert row.winner == "left" and row.source == "arena" and row.rater == "me"
    assert row.fingerprint == fingerprint(
        "nano-banana-2", "flux-2-pro", "left", "overall", "me",
        row.created_at.isoformat(timespec="microseconds"), "a red fox",
    )
    assert log.get(999_999) is None


def test_an_unknown_winner_is_refused_before_the_database(wb: Workbench) -> None:
    with pytest.raises(ValueError, match="unknown winner"):
        vote(winner="model_a")


def test_the_database_refuses_a_winner_outside_the_four(wb: Workbench) -> None:
    with wb.db.cursor() as cur, pytest.raises(wb.db.conflicts):
        cur.execute(
            "INSERT INTO votes (id, created_at, left_model, right_model, criterion, winner,"
            " fingerprint) VALUES (nextval('votes_id_seq'), now(), 'a', 'b', 'overall',"
            " 'draw', 'x')"
        )


def test_add_many_inserts_all_or_nothing(wb: Workbench) -> None:
    log = wb.votes
    assert log.add_many([vote(), vote(winner="right")]) == 2
    broken = NewVote(  # a NULL criterion only the database catches, after the first row
        left_model="a", right_model="b", winner="left", criterion=None,  # type: ignore[arg-type]
        fingerprint="f",
    )
    with pytest.raises(wb.db.conflicts):
        log.add_many([vote(), broken])
    assert log.count(ALL) == 2


def test_pair_counts_are_aggregated_per_criterion_and_side(wb: Workbench) -> None:
    log = wb.votes
    log.add_many([vote(), vote(), vote(winner="right"), vote(criterion="skin_warmth")])
    rows = wb.tallies.pair_counts(ALL)
    assert ("overall", "nano-banana-2", "flux-2-pro", "left", 2) in rows
    assert ("overall", "nano-banana-2", "flux-2-pro", "right", 1) in rows
    assert ("skin_warmth", "nano-banana-2", "flux-2-pro", "left", 1) in rows
    assert wb.tallies.votes_per_pair(ALL, "overall") == {("flux-2-pro", "nano-banana-2"): 3}


def test_offline_sketches_compete_under_their_own_name_and_are_left_out_by_default(
    wb: Workbench,
) -> None:
    log = wb.votes
    log.add(vote(left_provider="offline"))
    log.add(vote())
    rows = wb.tallies.pair_counts(ALL, "overall")
    assert {r[1] for r in rows} == {"nano-banana-2", "nano-banana-2" + OFFLINE_TAG}
    assert contestant("flux-2-pro", "offline") == "flux-2-pro" + OFFLINE_TAG
    assert log.count(REAL) == 1


def test_filters_by_category_provider_models_text_and_date(wb: Workbench) -> None:
    log = wb.votes
    log.add_many(
        [
            vote(category="portrait", prompt="A portrait of a sailor"),
            vote(category="landscape", prompt="Misty hills"),
            vote(left="flux-2-max", left_provider="bfl", category="portrait", prompt="x"),
            vote(created_at=datetime(2024, 1, 5, 12), prompt="old"),
        ]
    )
    assert log.count(HistoryFilter(categories=("portrait",))) == 2
    assert log.count(HistoryFilter(providers=("bfl",))) == 1  # both sides must match
    assert log.count(HistoryFilter(models=("nano-banana-2", "flux-2-pro"))) == 3
    assert log.count(HistoryFilter(text="SAILOR")) == 1
    assert log.count(HistoryFilter(text="%")) == 0  # LIKE wildcards are text, not patterns
    assert log.count(HistoryFilter(date_from=date(2024, 1, 1), date_to=date(2024, 1, 31))) == 1
    assert log.choices()["categories"] == ["landscape", "portrait"]


def test_votes_outlive_their_generations(wb: Workbench) -> None:
    left = add_generation(wb, "nano-banana-2", "a lighthouse")
    right = add_generation(wb, "flux-2-pro", "a lighthouse", provider="bfl")
    log = wb.votes
    log.add(vote(left_generation_id=left, right_generation_id=right, prompt="a lighthouse"))
    delete_generation(wb, left)
    delete_generation(wb, right)
    assert log.count(REAL) == 1
    assert wb.tallies.pair_counts(REAL, "overall")[0][4] == 1
    assert len(log.frame(REAL)) == 1
    assert log.repeat_candidates(REAL, "overall", "me", skip_recent=0) == []


def test_existing_fingerprints_finds_only_stored_votes(wb: Workbench) -> None:
    log = wb.votes
    stored = log.get(log.add(vote())).fingerprint
    assert log.existing_fingerprints([stored, "f" * 64]) == {stored}
    assert log.existing_fingerprints([]) == set()


def test_winners_count_only_arena_votes(wb: Workbench) -> None:
    log = wb.votes
    log.add_many([vote(), vote(), vote(winner="right"), vote(source="import")])
    assert wb.tallies.winners(ALL) == {"left": 2, "right": 1}


def test_repeat_candidates_skip_recent_and_already_repeated_votes(wb: Workbench) -> None:
    log = wb.votes
    pairs = []
    for i in range(4):
        left = add_generation(wb, "nano-banana-2", f"prompt {i}")
        right = add_generation(wb, "flux-2-pro", f"prompt {i}", provider="bfl")
        pairs.append(log.add(vote(left_generation_id=left, right_generation_id=right,
                                  prompt=f"prompt {i}")))
    assert [c[0] for c in log.repeat_candidates(REAL, "overall", "me", skip_recent=2)] == pairs[:2]
    first = log.get(pairs[0])
    log.add(vote(left_generation_id=first.right_generation_id,
                 right_generation_id=first.left_generation_id, is_repeat=True,
                 repeat_of=pairs[0], prompt="prompt 0"))
    remaining = [c[0] for c in log.repeat_candidates(REAL, "overall", "me", skip_recent=0)]
    assert remaining == pairs[1:]
    assert log.repeat_candidates(REAL, "overall", "someone else", skip_recent=0) == []
    assert wb.tallies.repeats(REAL) == [
        ("left", first.left_generation_id, first.right_generation_id, "left",
         first.right_generation_id, first.left_generation_id)
    ]


def test_candidate_pairs_need_the_same_prompt_from_two_models(wb: Workbench) -> None:
    add_generation(wb, "nano-banana-2", "shared")
    add_generation(wb, "flux-2-pro", "shared", provider="bfl")
    add_generation(wb, "flux-2-max", "shared", provider="bfl", status="failed")
    add_generation(wb, "flux-2-max", "only one", provider="bfl")
    add_generation(wb, "nano-banana", "shared", provider="offline")
    assert wb.candidates.candidate_pairs(REAL) == [("flux-2-pro", "nano-banana-2", 1)]
    with_sketches = wb.candidates.candidate_pairs(ALL)
    assert ("flux-2-pro", "nano-banana" + OFFLINE_TAG, 1) in with_sketches
    assert wb.candidates.shared_prompts(REAL, "flux-2-pro", "nano-banana-2") == ["shared"]
    rows = wb.candidates.candidate_generations(REAL, "shared", "flux-2-pro")
    assert len(rows) == 1 and rows[0].image_path.startswith("images/")
