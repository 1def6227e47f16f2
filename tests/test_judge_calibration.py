"""Cohen's κ and its prompt-clustered bootstrap, checked on simulated votes where the expected κ
is known; the "calibrated" rule; and the calibration read from a log where people voted on
images the fake judge scored from their pixels."""

from __future__ import annotations

import numpy as np
import pytest

from harness.judge_data import PROMPT, add_scene, judged_workbench
from harness.judge_scenes import Disc, Scene
from workbench import config
from workbench.services.evidence.judge import calibration as cal
from workbench.services.evidence.judge import judging
from workbench.stats.kappa import agreement, cohen_kappa, confusion, kappa_of
from workbench.store.votes import NewVote

PI = np.array([0.45, 0.40, 0.15])  # people's shares of A, B, tie


def expected_kappa(pi: np.ndarray, flip: float) -> float:
    """κ between a person and a judge that copies them except, with probability `flip`, picks
    one of the two other labels at random: pₒ = 1 − flip; the judge's shares are
    qₖ = πₖ(1 − flip) + (1 − πₖ)·flip/2; pₑ = Σ πₖ qₖ."""
    q = pi * (1 - flip) + (1 - pi) * flip / 2
    observed, chance = 1 - flip, float((pi * q).sum())
    return (observed - chance) / (1 - chance)


def simulate(rng: np.random.Generator, flip: float, prompts: int = 60, per: int = 5):
    person = rng.choice(3, size=prompts * per, p=PI)
    other = (person + rng.integers(1, 3, size=person.size)) % 3
    judge = np.where(rng.random(person.size) < flip, other, person)
    return person, judge, np.repeat(np.arange(prompts), per)


def test_cohens_kappa_on_a_worked_two_label_table():
    # 20 + 15 of 50 alike (pₒ 0.7); marginals 25/25 and 30/20 give pₑ 0.5, so κ = 0.4.
    first = [0] * 20 + [0] * 5 + [1] * 10 + [1] * 15
    second = [0] * 20 + [1] * 5 + [0] * 10 + [1] * 15
    assert confusion(first, second, 2).tolist() == [[20, 5], [10, 15]]
    assert cohen_kappa(first, second, 2) == pytest.approx(0.4)
    assert cohen_kappa([1, 1, 1], [1, 1, 1]) is None  # one label only: undefined
    assert np.isnan(kappa_of(np.zeros((3, 3)))[0])


def test_the_clustered_interval_covers_the_known_kappa_in_most_repetitions():
    rng = np.random.default_rng(7)
    flip, repetitions, covered = 0.2, 120, 0
    truth = expected_kappa(PI, flip)
    for r in range(repetitions):
        person, judge, prompts = simulate(rng, flip)
        result = agreement(person.tolist(), judge.tolist(), prompts.tolist(), rounds=300, seed=r)
        assert result.n == 300 and result.clusters == 60
        low, high = result.interval
        covered += low <= truth <= high
    assert covered / repetitions >= 0.90


def test_the_interval_narrows_with_more_prompts_and_widens_when_prompts_cluster():
    rng = np.random.default_rng(3)
    person, judge, prompts = simulate(rng, 0.2, prompts=400)
    wide = agreement(*simulate(rng, 0.2, prompts=40), rounds=400).interval
    narrow = agreement(person.tolist(), judge.tolist(), prompts.tolist(), rounds=400).interval
    assert (narrow[1] - narrow[0]) < (wide[1] - wide[0])
    # The judge fails whole prompts: resampling prompts must see more spread than items would.
    person = rng.choice(3, size=400, p=PI)
    bad_prompt = np.repeat(rng.random(40) < 0.3, 10)
    judge = np.where(bad_prompt, (person + 1) % 3, person)
    clustered = agreement(person.tolist(), judge.tolist(), np.repeat(np.arange(40), 10).tolist())
    independent = agreement(person.tolist(), judge.tolist(), list(range(400)))
    width = lambda a: a.interval[1] - a.interval[0]  # noqa: E731
    assert width(clustered) > 1.5 * width(independent)


def _items(person, judge, prompts, rows=("all", "adherence")):
    return [cal.VoteItem(f"p{c}", rows, int(h), int(j), None) for h, j, c in
            zip(person, judge, prompts, strict=True)]


def test_calibrated_only_with_enough_pairs_and_kappa_near_peoples():
    rng = np.random.default_rng(11)
    person, judge, prompts = simulate(rng, 0.1, prompts=30, per=3)  # 90 pairs
    few = cal.calibrate(_items(person, judge, prompts), [], "m", rounds=50)
    assert few.status == "not yet calibrated" and "100" in few.reason
    assert all("(not yet calibrated)" in row["Judge vs votes"] for row in few.table())
    person, judge, prompts = simulate(rng, 0.1, prompts=60, per=3)  # 180 pairs
    alone = cal.calibrate(_items(person, judge, prompts), [], "m", rounds=50)
    assert alone.calibrated and "≥ 0.6" in alone.reason
    # People agree with each other far better than the judge with them: not calibrated.
    p1, p2, pc = simulate(rng, 0.0, prompts=20, per=3)
    people = [cal.PeoplePair(f"p{c}", ("all",), int(a), int(b)) for a, b, c in zip(p1, p2, pc,
                                                                                   strict=True)]
    noisy = simulate(rng, 0.45, prompts=60, per=3)
    far = cal.calibrate(_items(*noisy), people, "m", rounds=50)
    assert not far.calibrated and "from people's κ" in far.reason
    close = cal.calibrate(_items(person, judge, prompts),
                          [cal.PeoplePair(p.prompt, p.rows, p.first, p.first if i % 12 else
                                          (p.first + 1) % 3) for i, p in enumerate(people)],
                          "m", rounds=50)
    assert close.calibrated, close.reason


# -- from the log -------------------------------------------------------------------------------
GOOD = Scene((Disc("red", 50, 60), Disc("red", 60, 140), Disc("blue", 200, 100)), "OPEN")
BAD = Scene((Disc("red", 200, 60), Disc("blue", 50, 100)), "OPNE")


def test_calibration_reads_peoples_votes_beside_the_judges_scores(tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_JUDGE_MODEL", raising=False)
    monkeypatch.setattr(config, "SECRETS_FILE", tmp_path / "none.toml")
    with judged_workbench(tmp_path) as (wb, _fake):
        good = add_scene(wb, GOOD, model="flux-2-pro")
        bad = add_scene(wb, BAD, model="nano-banana-2")
        judging.execute(wb, judging.plan(wb, generation_ids=[good, bad]))
        for rater, winner in (("ann", "right"), ("bob", "right"), ("cy", "left")):
            wb.votes.add(NewVote(
                left_model="nano-banana-2", right_model="flux-2-pro", winner=winner,
                criterion="prompt_adherence", left_generation_id=bad,
                right_generation_id=good, category="complex", prompt=PROMPT, rater=rater))
        wb.ratings.add(good, "prompt_adherence", 5, rater="ann")
        wb.ratings.add(bad, "prompt_adherence", 2, rater="ann")
        result = cal.calibration(wb, rounds=50)
        rows = {r.key: r for r in result.rows}
        assert rows["complex"].judge_vs_votes.n == 3
        assert rows["complex"].judge_vs_votes.agreement == pytest.approx(2 / 3)
        assert rows["complex"].judge_vs_stars.agreement == 1.0
        assert rows["complex"].people.n == 1 and rows["minimal"].judge_vs_votes.n == 0
        assert result.status == "not yet calibrated"
        cats = dict(result.categories)
        assert cats["spatial"].agreement == pytest.approx(2 / 3)
        assert result.as_json()["rows"][0]["judge_vs_votes"]["n"] == 3


def test_a_rows_interval_from_the_shared_draws_covers_its_known_kappa():
    """Rows are subsets of all votes (Complex among all adherence votes) and share one set of
    resampled prompts: each row's interval must still cover its own expected κ."""
    rng = np.random.default_rng(5)
    repetitions, covered = 60, 0
    truth = expected_kappa(PI, 0.1)  # the complex prompts' flip rate
    for _ in range(repetitions):
        items = []
        for prompt in range(80):
            complex_prompt = prompt % 2 == 0  # half the prompts are complex ones
            flip = 0.1 if complex_prompt else 0.3
            rows = ("complex", "adherence", "all") if complex_prompt else ("adherence", "all")
            for _ in range(4):
                human = int(rng.choice(3, p=PI))
                judge = int((human + rng.integers(1, 3)) % 3) if rng.random() < flip else human
                items.append(cal.VoteItem(f"p{prompt}", rows, human, judge, None))
        result = cal.calibrate(items, [], "m", rounds=300)
        row = {x.key: x for x in result.rows}
        low, high = row["complex"].judge_vs_votes.interval
        covered += low <= truth <= high
        assert row["complex"].judge_vs_votes.n == 160 and row["all"].judge_vs_votes.n == 320
    assert covered / repetitions >= 0.90
