"""The Leaderboard's data: Bradley–Terry tables per criterion and category, stars, measured
columns, the verdict table, chart data, consistency, caching, and no NaN on display."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, datetime

import pandas as pd
import pytest

from tests.arena_data import add_generation, delete_generation
from workbench.domain.criteria import SCALE_EXPLAINED
from workbench.services.evidence import leaderboard as lb
from workbench.services.workbench import Workbench
from workbench.stats.bradley_terry import BT_SCALE_EXPLAINED
from workbench.store.votes import OFFLINE_TAG, NewVote

NB, FP, FM = "nano-banana-2", "flux-2-pro", "flux-2-max"
PROVIDER = {NB: "gemini", FP: "bfl", FM: "bfl"}


@pytest.fixture(autouse=True)
def _one_connection(wb: Workbench) -> Iterator[None]:
    """Keep the database open for the whole test (the fixture closes it after each
    statement otherwise, and reopening costs ~50 ms)."""
    lb.FITS.clear()
    with wb.db.cursor():
        yield


def votes(wb: Workbench, left: str, right: str, winner: str, n: int, **fields: object) -> None:
    wb.votes.add_many(
        NewVote(left_model=left, right_model=right, winner=winner,
                criterion=fields.get("criterion", "overall"),  # type: ignore[arg-type]
                left_provider=fields.get("left_provider", PROVIDER.get(left)),  # type: ignore[arg-type]
                right_provider=fields.get("right_provider", PROVIDER.get(right)),  # type: ignore[arg-type]
                category=fields.get("category"),  # type: ignore[arg-type]
                template_id=fields.get("template_id"),  # type: ignore[arg-type]
                created_at=fields.get("created_at"))  # type: ignore[arg-type]
        for _ in range(n)
    )


def three_models(wb: Workbench, criterion: str = "overall", **fields: object) -> None:
    votes(wb, NB, FP, "left", 14, criterion=criterion, **fields)
    votes(wb, NB, FP, "right", 6, criterion=criterion, **fields)
    votes(wb, FP, FM, "left", 15, criterion=criterion, **fields)
    votes(wb, FM, FP, "left", 5, criterion=criterion, **fields)
    votes(wb, NB, FM, "left", 12, criterion=criterion, **fields)
    votes(wb, NB, FM, "tie", 4, criterion=criterion, **fields)


def no_nan_in(frame: pd.DataFrame) -> bool:
    return not any(isinstance(v, float) and math.isnan(v) for v in frame.to_numpy().ravel())


def test_bradley_terry_table_orders_models_with_intervals_and_ranks(wb: Workbench) -> None:
    three_models(wb)
    board = lb.build_leaderboard(wb)
    frame = board.bt_frame("overall")
    assert list(frame["model"]) == [NB, FP, FM]
    assert list(frame["name"]) == ["Nano Banana 2", "FLUX.2 Pro", "FLUX.2 Max"]
    assert list(frame["votes"]) == [36, 40, 36]
    assert (frame["lower"] <= frame["score"]).all() and (frame["score"] <= frame["upper"]).all()
    assert frame["rank_ub"].iloc[0] == 1 and frame["rank_ub"].iloc[2] >= 2
    assert frame["label"].iloc[0] in ("Excellent", "Very Good")
    assert frame["score"].mean() == pytest.approx(1000, abs=2)  # mean r = 0, rounded scores


def test_models_below_the_vote_threshold_show_no_score(wb: Workbench) -> None:
    three_models(wb)
    votes(wb, "flux-2-flex", NB, "right", 3, right_provider="gemini", left_provider="bfl")
    frame = lb.build_leaderboard(wb, min_votes=10).bt_frame("overall")
    flex = frame[frame["model"] == "flux-2-flex"].iloc[0]
    assert flex["label"] == "not enough votes" and flex["votes"] == 3
    assert pd.isna(flex["score"]) and pd.isna(flex["rank_ub"])
    assert no_nan_in(frame.drop(columns=["score", "lower", "upper", "rank_ub", "win_vs_field"]))
    assert str(frame["score"].dtype) == "Int64"  # missing is <NA>, never a float NaN


def test_no_votes_gives_messages_and_no_nan(wb: Workbench) -> None:
    add_generation(wb, NB, "a", latency_ms=2000)
    board = lb.build_leaderboard(wb)
    assert board.result("overall").message.startswith("No votes")
    assert board.bt_frame("overall").empty
    overview = board.overview_frame()
    assert list(overview["Model"]) == ["Nano Banana 2"] and no_nan_in(overview)
    table = board.verdict([NB])
    assert table.rows[0][1][0].label == lb.NOT_ENOUGH_DATA
    assert no_nan_in(table.frame())
    assert board.win_rate_frame("overall").empty and board.vote_count_frame("overall").empty
    assert board.score_vs("overall").empty


def test_a_single_model_or_all_ties_never_give_nan(wb: Workbench) -> None:
    votes(wb, NB, FP, "tie", 12)
    votes(wb, FP, NB, "both_bad", 12)
    board = lb.build_leaderboard(wb)
    frame = board.bt_frame("overall")
    assert set(frame["score"]) == {1000} and set(frame["lower"]) == {1000}
    assert "tie" in board.result("overall").message
    assert no_nan_in(board.overview_frame())
    only = lb.build_leaderboard(wb, lb.leaderboard_filter(models=[NB]))
    assert only.result("overall").message.startswith("No votes")


def test_star_ratings_have_mean_n_interval_and_label(wb: Workbench) -> None:
    ids = [add_generation(wb, NB, f"p{i}") for i in range(4)]
    for i, stars in zip(ids, (5, 4, 5, 4), strict=True):
        wb.ratings.add(i, "skin_warmth", stars)
    board = lb.build_leaderboard(wb)
    cell = board.stars[(NB, "skin_warmth")]
    assert cell.n == 4 and cell.mean == pytest.approx(4.5)
    assert cell.low < 4.5 < cell.high
    frame = board.stars_frame()
    assert frame.iloc[0]["label"] == "Excellent"
    assert "4.50" in board.overview_frame().iloc[0]["Skin warmth (stars)"]


def test_measured_columns_come_from_the_log(wb: Workbench) -> None:
    for ms in (1000, 2000, 3000, 4000):
        add_generation(wb, FP, "x", provider="bfl", latency_ms=ms, cost_usd=0.05)
    add_generation(wb, FP, "x", provider="bfl", status="failed", latency_ms=None, cost_usd=None)
    add_generation(wb, FP, "x", provider="bfl", status="moderated", latency_ms=None,
                   cost_usd=None)
    m = lb.build_leaderboard(wb).measured[FP]
    assert m.attempts == 6 and m.succeeded == 4
    assert m.latency_median_s == pytest.approx(2.5)
    assert m.latency_p95_s == pytest.approx(3.85)
    assert m.cost_per_image_usd == pytest.approx(0.05)
    assert m.failure_rate == pytest.approx(1 / 6) and m.moderation_rate == pytest.approx(1 / 6)


def test_offline_sketches_are_left_out_unless_chosen_and_never_merged(wb: Workbench) -> None:
    three_models(wb)
    votes(wb, NB, FP, "right", 30, left_provider="offline", right_provider="offline")
    add_generation(wb, NB, "x", provider="offline", latency_ms=10, cost_usd=0.0)
    add_generation(wb, NB, "x", latency_ms=5000, cost_usd=0.04)
    real = lb.build_leaderboard(wb)
    assert not any(m.endswith(OFFLINE_TAG) for m in real.models)
    assert real.measured[NB].latency_median_s == pytest.approx(5.0)
    both = lb.build_leaderboard(wb, lb.leaderboard_filter(include_offline=True))
    sketch = NB + OFFLINE_TAG
    assert sketch in both.models and both.names[sketch] == "Nano Banana 2" + OFFLINE_TAG
    assert both.measured[sketch].latency_median_s == pytest.approx(0.01)
    assert both.measured[NB].latency_median_s == pytest.approx(5.0)
    # the sketches' 30 votes do not touch the real model's record
    assert both.result("overall").rating(NB).votes == 36


def test_filters_by_category_template_provider_and_date(wb: Workbench) -> None:
    three_models(wb, category="portrait", template_id="nb-photo")
    votes(wb, FM, NB, "left", 20, category="landscape", created_at=datetime(2024, 3, 1))
    portrait = lb.build_leaderboard(wb, lb.leaderboard_filter(categories=["portrait"]))
    assert portrait.result("overall").total_votes == 56
    assert lb.build_leaderboard(
        wb, lb.leaderboard_filter(templates=["nb-photo"])
    ).result("overall").total_votes == 56
    bfl = lb.build_leaderboard(wb, lb.leaderboard_filter(providers=["bfl"]))
    assert {r.model for r in bfl.result("overall").ratings} == {FP, FM}
    assert bfl.result("overall").total_votes == 20
    march = lb.build_leaderboard(
        wb, lb.leaderboard_filter(date_from=date(2024, 3, 1), date_to=date(2024, 3, 31))
    )
    assert march.result("overall").total_votes == 20


def test_category_boards_hide_small_categories(wb: Workbench) -> None:
    three_models(wb, category="portrait")
    votes(wb, FM, NB, "left", 3, category="texture")
    votes(wb, FM, NB, "left", 2)
    boards = {b.category: b for b in lb.category_boards(wb, "overall")}
    assert list(boards) == ["portrait", "texture", lb.NO_CATEGORY]
    assert boards["portrait"].shown and not boards["texture"].shown
    assert boards["texture"].result.total_votes == 3


def test_fits_are_cached_on_the_vote_data(wb: Workbench) -> None:
    three_models(wb)
    three_models(wb, criterion="skin_warmth")
    votes(wb, FM, NB, "left", 1, criterion="skin_warmth")
    lb.build_leaderboard(wb)
    assert (lb.FITS.hits, lb.FITS.misses) == (0, 2)
    lb.build_leaderboard(wb)  # unchanged votes: no refit
    assert (lb.FITS.hits, lb.FITS.misses) == (2, 2)
    votes(wb, NB, FP, "left", 1)
    board = lb.build_leaderboard(wb)  # one criterion changed: one refit
    assert (lb.FITS.hits, lb.FITS.misses) == (3, 3)
    assert board.result("overall").total_votes == 57
    assert board.result("skin_warmth").total_votes == 57
    lb.build_leaderboard(wb, min_votes=5)  # other fit settings: a new entry
    assert lb.FITS.misses == 5


def test_verdict_table_in_the_seed_format(wb: Workbench) -> None:
    three_models(wb, criterion="skin_warmth")
    ids = [add_generation(wb, FP, f"p{i}", provider="bfl", latency_ms=8000) for i in range(3)]
    for i in ids:
        wb.ratings.add(i, "facial_accuracy", 5)
    add_generation(wb, NB, "q", latency_ms=3000, cost_usd=0.039)
    board = lb.build_leaderboard(wb)
    table = board.verdict([NB, FP], ["skin_warmth", "facial_accuracy", "text_in_image"])
    frame = table.frame()
    assert list(frame.columns) == ["Criterion", "Nano Banana 2", "FLUX.2 Pro"]
    assert list(frame["Criterion"]) == [
        "Skin warmth", "Facial accuracy", "Text in image", "Generation speed (median)",
        "Cost per image",
    ]
    warmth_nb, warmth_fp = table.rows[0][1]
    assert warmth_fp.source == "votes" and warmth_fp.evidence == 40
    assert warmth_nb.source == "votes" and warmth_nb.evidence == 36
    assert warmth_nb.label in ("Excellent", "Very Good", "Good", "Fair")
    assert frame.iloc[0, 1] == f"{warmth_nb.label} (36 votes)"
    facial_fp = table.rows[1][1][1]
    assert (facial_fp.label, facial_fp.source, facial_fp.evidence) == ("Excellent", "stars", 3)
    assert table.rows[1][1][0].text.startswith(lb.NOT_ENOUGH_DATA)
    assert frame.iloc[3, 1] == "3.0 s (1 images)" and frame.iloc[3, 2] == "8.0 s (3 images)"
    assert frame.iloc[4, 1] == "$0.039 (1 images)"
    assert table.markdown().splitlines()[0] == "| Criterion | Nano Banana 2 | FLUX.2 Pro |"
    assert BT_SCALE_EXPLAINED in table.explanation and SCALE_EXPLAINED in table.explanation


def test_voted_labels_follow_the_stated_win_probability_scale(wb: Workbench) -> None:
    votes(wb, NB, FP, "left", 40)
    votes(wb, NB, FP, "right", 10)
    board = lb.build_leaderboard(wb)
    nb, fp = board.result("overall").rating(NB), board.result("overall").rating(FP)
    # two models: the field is the other one, so the chance is the fitted 80/20 split
    assert nb.field_win_probability == pytest.approx(0.8, abs=0.01)
    assert (nb.label, fp.label) == ("Excellent", "Fair")


def test_pareto_frontier_of_score_against_cost_and_latency(wb: Workbench) -> None:
    assert lb.pareto_front([(1.0, 10.0), (2.0, 12.0), (2.0, 9.0), (3.0, 12.0)]) == [
        True, True, False, False]
    three_models(wb)
    add_generation(wb, NB, "x", latency_ms=9000, cost_usd=0.02)
    add_generation(wb, FP, "x", provider="bfl", latency_ms=4000, cost_usd=0.05)
    add_generation(wb, FM, "x", provider="bfl", latency_ms=6000, cost_usd=0.08)
    board = lb.build_leaderboard(wb)
    cost = board.score_vs("overall", "cost")
    assert list(cost["model"]) == [NB, FP, FM]
    assert list(cost["on_frontier"]) == [True, False, False]  # NB is best and cheapest
    latency = board.score_vs("overall", "latency")
    assert dict(zip(latency["model"], latency["on_frontier"], strict=True)) == {
        FP: True, FM: False, NB: True}


def test_win_rate_and_vote_count_matrices(wb: Workbench) -> None:
    three_models(wb)
    board = lb.build_leaderboard(wb)
    rates = board.win_rate_frame("overall")
    row = rates[(rates["model_a"] == "Nano Banana 2") & (rates["model_b"] == "FLUX.2 Max")]
    assert row.iloc[0]["win_rate"] == pytest.approx((12 + 2) / 16)
    counts = board.vote_count_frame("overall")
    assert len(counts) == 6 and counts["votes"].sum() == 2 * 56


def test_consistency_reports_position_bias_and_repeat_agreement(wb: Workbench) -> None:
    log = wb.votes
    base = {"left_model": NB, "right_model": FP, "criterion": "overall",
            "left_provider": "gemini", "right_provider": "bfl"}
    first = log.add(NewVote(winner="left", left_generation_id="g1", right_generation_id="g2",
                            **base))
    log.add(NewVote(winner="right", left_generation_id="g2", right_generation_id="g1",
                    is_repeat=True, repeat_of=first, **base))
    second = log.add(NewVote(winner="left", left_generation_id="g3", right_generation_id="g4",
                             **base))
    log.add(NewVote(winner="left", left_generation_id="g4", right_generation_id="g3",
                    is_repeat=True, repeat_of=second, **base))
    result = lb.consistency(wb)
    assert (result.position.hits, result.position.n) == (3, 4)
    assert (result.agreement.hits, result.agreement.n) == (1, 2)
    assert "75%" in result.lines()[0] and "50%" in result.lines()[1]


def test_votes_for_deleted_generations_still_count(wb: Workbench) -> None:
    a = add_generation(wb, NB, "lighthouse")
    b = add_generation(wb, FP, "lighthouse", provider="bfl")
    wb.votes.add_many(
        NewVote(left_model=NB, right_model=FP, winner="left", criterion="overall",
                left_provider="gemini", right_provider="bfl", left_generation_id=a,
                right_generation_id=b)
        for _ in range(12)
    )
    delete_generation(wb, a)
    delete_generation(wb, b)
    board = lb.build_leaderboard(wb)
    assert board.result("overall").total_votes == 12
    assert no_nan_in(board.overview_frame())
    assert lb.consistency(wb).position.n == 12


def test_numeric_overview_keeps_missing_values_as_missing(wb: Workbench) -> None:
    three_models(wb)
    add_generation(wb, NB, "x", latency_ms=1500, cost_usd=None)
    frame = lb.build_leaderboard(wb).overview_numeric()
    nb = frame[frame["model"] == NB].iloc[0]
    assert nb["overall_votes"] == 36 and nb["overall_rank_ub"] == 1
    assert nb["latency_median_s"] == pytest.approx(1.5)
    assert pd.isna(nb["cost_per_image_usd"]) and str(frame["cost_per_image_usd"].dtype) == "Float64"
