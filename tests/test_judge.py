"""The adherence judge against the loopback fake of `generateContent` (tests/providers/
fake_judge.py), which checks the documented request and answers from the pixels of the image
it was sent: questions from a prompt, answers and DSG scores, the cache, money (billed tokens,
reservations, budget, daily cap), failures (SAFETY, malformed JSON, 429, a retired model id),
pairwise judging in both orders, offline sketches and a missing key."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.fake_judge import FakeGeminiJudge
from harness.fakes import FakeGemini, Fault
from harness.judge_data import KEY, PROMPT, add_scene, judged_workbench
from harness.judge_scenes import Disc, Scene
from workbench import config
from workbench.config import load_settings
from workbench.errors import InvalidInput
from workbench.services.evidence.judge import judging, question_sets
from workbench.services.evidence.judge.answers import dsg
from workbench.services.evidence.judge.questions import parse_questions
from workbench.services.evidence.judge.settings import JudgeUnavailable, judge_model, prices
from workbench.services.workbench import open_workbench
from workbench.store.judge import JudgeStore

GOOD = Scene((Disc("red", 50, 60), Disc("red", 60, 140), Disc("blue", 200, 100)), "OPEN")
BAD = Scene((Disc("red", 200, 60), Disc("blue", 50, 100)), "OPNE")


@pytest.fixture(autouse=True)
def _judge_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("WORKBENCH_JUDGE_MODEL", raising=False)
    monkeypatch.delenv("WORKBENCH_JUDGE_PRICES", raising=False)
    monkeypatch.setattr(config, "SECRETS_FILE", tmp_path / "no-secrets.toml")


def _run(wb, ids, **kw):
    planned = judging.plan(wb, generation_ids=ids, pairs=kw.pop("pairs", False))
    return planned, judging.execute(wb, planned, **kw)


def _answers(wb, generation_id: str) -> dict[str, tuple[str, bool]]:
    by_gen = JudgeStore(wb.db).scores.scores_by_generation(
        [generation_id], judge_model(wb.settings)
    )
    score, _, questions = by_gen[generation_id]
    text = {q["id"]: q["question"] for q in questions}
    return {text[a["id"]]: (a["answer"], a["counted"]) for a in score.answers}


def test_a_scene_that_follows_its_prompt_scores_higher_from_its_own_pixels(tmp_path):
    with judged_workbench(tmp_path) as (wb, fake):
        good, bad = add_scene(wb, GOOD), add_scene(wb, BAD)
        _, report = _run(wb, [good, bad])
        assert fake.problems == []
        assert dict(report.scored)[good] == 1.0
        assert dict(report.scored)[bad] == pytest.approx(2 / 6)
        # Each answer sits on its own question (the fake answers in reverse id order).
        answers = _answers(wb, bad)
        assert answers["Is there a red circle?"] == ("yes", True)
        assert answers["Is the red circle on the left side?"] == ("no", False)
        assert answers["Are there exactly 2 red circles?"] == ("no", False)
        assert answers['Does the image show the text "OPEN"?'] == ("no", False)
        # The image itself went inline: the fake read the very bytes the store holds.
        stored = {wb.images.absolute(wb.log.get(g).image_path).read_bytes() for g in (good, bad)}
        assert set(fake.images_seen) == stored


def test_the_documented_request_questions_once_then_answers_with_the_image(tmp_path):
    with judged_workbench(tmp_path) as (wb, fake):
        gid = add_scene(wb, GOOD)
        _run(wb, [gid])
        first, second = fake.on("generate")
        q_body, a_body = first.json(), second.json()
        assert first.headers["x-goog-api-key"] == KEY
        assert first.path == f"/v1beta/models/{judge_model(wb.settings)}:generateContent"
        for body in (q_body, a_body):
            config_ = body["generationConfig"]
            assert config_["responseMimeType"] == "application/json"
            assert "responseSchema" in config_ and "responseJsonSchema" not in config_
            assert config_["temperature"] == 0 and config_["maxOutputTokens"] > 0
        assert [set(p) for p in q_body["contents"][0]["parts"]] == [{"text"}]
        assert PROMPT in q_body["contents"][0]["parts"][0]["text"]
        parts = a_body["contents"][0]["parts"]
        assert parts[0]["inlineData"]["mimeType"] == "image/png" and set(parts[1]) == {"text"}
        assert "answers" in a_body["generationConfig"]["responseSchema"]["properties"]
        # Stored once per prompt text and judge model; a second batch is all cache.
        qset = question_sets.current(wb, PROMPT)
        assert qset is not None and qset.version == 1 and len(qset.questions) == 6
        again, report = _run(wb, [gid, add_scene(wb, GOOD)])
        assert again.to_question == [] and again.calls == 0 and len(again.cached) == 2
        assert report.calls == 0 and len(fake.on("generate")) == 2


def test_a_child_of_a_no_parent_counts_no():
    questions = parse_questions([
        {"id": 1, "question": "Is there a dog?", "category": "entity", "parents": []},
        {"id": 2, "question": "Is the dog brown?", "category": "attribute", "parents": [1]},
        {"id": 3, "question": "Is the dog's collar red?", "category": "attribute",
         "parents": [2]},
        {"id": 4, "question": "Is it daytime?", "category": "style", "parents": []},
    ])
    said = {1: ("no", ""), 2: ("yes", ""), 3: ("yes", ""), 4: ("yes", "")}
    score, answers = dsg(questions, said)
    assert [a.counted for a in answers] == [False, False, False, True]
    assert score == 0.25


def test_question_sets_refuse_cycles_and_unknown_parents():
    with pytest.raises(InvalidInput, match="depends on itself"):
        parse_questions([
            {"id": 1, "question": "Is there a cat?", "category": "entity", "parents": [2]},
            {"id": 2, "question": "Is the cat grey?", "category": "attribute", "parents": [1]},
        ])
    with pytest.raises(InvalidInput, match="not other questions"):
        parse_questions([{"id": 1, "question": "Is it red?", "category": "attribute",
                          "parents": [7]}])


def test_an_edited_set_is_a_new_version_and_scores_stay_tied_to_theirs(tmp_path):
    with judged_workbench(tmp_path) as (wb, _fake):
        gid = add_scene(wb, BAD)
        _run(wb, [gid])
        v1 = question_sets.current(wb, PROMPT)
        edited = [q for q in v1.questions if q["category"] != "text"]
        v2 = question_sets.save_edit(wb, PROMPT, edited)
        assert (v2.version, v2.source, len(v2.questions)) == (2, "edited", 5)
        assert [v.version for v in question_sets.versions(wb, PROMPT)] == [1, 2]
        planned, report = _run(wb, [gid])
        assert planned.to_question == [] and len(planned.to_score) == 1
        assert dict(report.scored)[gid] == pytest.approx(2 / 5)
        with pytest.raises(InvalidInput, match="Nothing changed"):
            question_sets.save_edit(wb, PROMPT, edited)


# -- money ------------------------------------------------------------------------------------
def _ledger(wb):
    with wb.db.cursor() as cur:
        return cur.execute(
            "SELECT c.kind, c.status, c.cost_usd, c.input_tokens, c.output_tokens,"
            " c.thinking_tokens, c.reserved_usd, s.amount_usd, c.error_kind FROM judge_calls c"
            " JOIN spend_reservations s ON s.generation_id = c.id ORDER BY c.created_at"
        ).fetchall()


def test_each_call_is_billed_from_usage_metadata_and_settles_its_reservation(tmp_path):
    with judged_workbench(tmp_path) as (wb, fake):
        gid = add_scene(wb, GOOD)
        planned, report = _run(wb, [gid])
        price = prices(wb.settings, judge_model(wb.settings))
        rows = _ledger(wb)
        assert [r[0] for r in rows] == ["questions", "answers"]
        assert len(fake.on("generate")) == len(rows)
        for row in rows:
            _, status, billed, inp, out, thinking, reserved, settled, _ = row
            assert status == "done" and thinking == fake.thought_tokens
            # Thinking is billed at the output price (ai.google.dev pricing: "including
            # thinking tokens"), computed here by hand, not with the code under test.
            expected = (inp * price.input_per_million
                        + (out + thinking) * price.output_per_million) / 1e6
            assert billed == pytest.approx(expected) and inp > 0 and out > 0
            assert settled == pytest.approx(billed)  # the reservation became what was billed
            assert reserved > billed  # the bound held while the call ran
        assert report.spent_usd == pytest.approx(sum(r[2] for r in rows))
        assert planned.estimate_usd > 0 and planned.most_usd >= sum(r[6] for r in rows) - 1e-9


def test_a_batch_budget_stops_before_sending_what_it_cannot_afford(tmp_path):
    with judged_workbench(tmp_path) as (wb, fake):
        gid = add_scene(wb, GOOD)
        _, report = _run(wb, [gid], budget_usd=0.0001)
        assert report.stopped and "budget" in report.stopped
        assert fake.on("generate") == [] and _ledger(wb) == []


def test_the_shared_daily_cap_refuses_judge_calls_as_it_does_images(tmp_path):
    with judged_workbench(tmp_path, WORKBENCH_DAILY_BUDGET_USD="0.0001") as (wb, fake):
        gid = add_scene(wb, GOOD)
        _, report = _run(wb, [gid])
        assert report.stopped and "WORKBENCH_DAILY_BUDGET_USD" in report.stopped
        assert fake.on("generate") == []


def test_a_withheld_answer_is_billed_for_its_prompt_and_stores_no_score(tmp_path):
    with judged_workbench(tmp_path) as (wb, fake):
        gid = add_scene(wb, GOOD)
        question_sets.save_edit(wb, PROMPT, [
            {"id": 1, "question": "Is there a red circle?", "category": "entity",
             "parents": []}])
        fake.fault("generate", Fault(200, FakeGeminiJudge.safety_answer(prompt_tokens=400)))
        _, report = _run(wb, [gid])
        assert report.scored == [] and "SAFETY" in report.failed[0][1]
        (row,) = _ledger(wb)
        assert row[1] == "failed" and row[8] == "moderated"
        price = prices(wb.settings, judge_model(wb.settings))
        assert row[2] == pytest.approx(price.cost(400, 0, 0)) and row[7] == row[2]


def test_malformed_json_is_a_billed_failure_and_is_not_cached(tmp_path):
    with judged_workbench(tmp_path) as (wb, fake):
        gid = add_scene(wb, GOOD)
        _run(wb, [gid])  # questions and a first score
        other = add_scene(wb, BAD)
        fake.fault("generate", Fault(200, fake.malformed_answer()))
        _, report = _run(wb, [other])
        assert "not valid JSON" in report.failed[0][1]
        status, billed, settled = _ledger(wb)[-1][1], _ledger(wb)[-1][2], _ledger(wb)[-1][7]
        assert status == "failed" and billed > 0 and settled == billed
        _, retried = _run(wb, [other])  # a failed call is not a cached answer
        assert dict(retried.scored)[other] == pytest.approx(2 / 6)


def test_a_429_with_retry_info_is_waited_out_and_sent_once_more(tmp_path):
    with judged_workbench(tmp_path) as (wb, fake):
        gid = add_scene(wb, GOOD)
        fake.fault("generate", FakeGemini.documented_429(delay_s=0.01))
        _, report = _run(wb, [gid])
        assert dict(report.scored)[gid] == 1.0
        assert len(fake.on("generate")) == 3  # refused, then questions, then answers
        assert [r[1] for r in _ledger(wb)] == ["done", "done"]


def test_a_retired_model_id_stops_the_batch_naming_the_setting(tmp_path):
    with judged_workbench(
        tmp_path, WORKBENCH_JUDGE_MODEL="gemini-1.5-flash", WORKBENCH_JUDGE_PRICES="0.075,0.3"
    ) as (wb, _fake):
        gid = add_scene(wb, GOOD)
        _, report = _run(wb, [gid])
        assert report.stopped and "WORKBENCH_JUDGE_MODEL" in report.stopped
        assert "404" in report.stopped
        assert [(r[1], r[2]) for r in _ledger(wb)] == [("failed", 0.0)]


def test_an_unpriced_model_is_refused_before_anything_is_sent(tmp_path):
    with judged_workbench(tmp_path, WORKBENCH_JUDGE_MODEL="gemini-9-flash") as (wb, fake):
        gid = add_scene(wb, GOOD)
        with pytest.raises(JudgeUnavailable, match="WORKBENCH_JUDGE_PRICES"):
            judging.plan(wb, generation_ids=[gid])
        assert fake.requests == []


def test_a_call_left_pending_by_a_crash_is_never_sent_again(tmp_path):
    with judged_workbench(tmp_path) as (wb, fake):
        gid = add_scene(wb, GOOD)
        question_sets.save_edit(wb, PROMPT, [
            {"id": 1, "question": "Is there a red circle?", "category": "entity",
             "parents": []}])
        qset = question_sets.current(wb, PROMPT)
        sha = wb.log.get(gid).image_sha256
        from workbench.store.spending import Caps

        wb.spending.reserve("judge_crashed", "me", 0.01, Caps())  # what a real call does first
        model = judge_model(wb.settings)
        JudgeStore(wb.db).calls.begin_call("judge_crashed", "answers", f"a:{model}:{qset.id}:{sha}",
                                     model, 0.01, "me")
        _, report = _run(wb, [gid])
        assert fake.on("generate") == []
        assert "not sent again" in report.failed[0][1]
        # Released only when asked, and only once older than the HTTP deadline.
        assert judging.release_interrupted(wb) == 0
        assert judging.release_interrupted(wb, older_than_s=0) == 1
        _, again = _run(wb, [gid])
        assert dict(again.scored)[gid] == 1.0 and len(fake.on("generate")) == 1
        with wb.db.cursor() as cur:
            kept = cur.execute("SELECT amount_usd FROM spend_reservations"
                               " WHERE generation_id = 'judge_crashed'").fetchall()
        assert kept == [(0.01,)]  # its outcome is unknown: the most it could cost stays


def test_offline_sketches_are_never_judged(tmp_path):
    with judged_workbench(tmp_path) as (wb, fake):
        sketch = add_scene(wb, GOOD, provider="offline")
        planned = judging.plan(wb, generation_ids=[sketch])
        assert planned.to_score == [] and "offline sketch" in planned.skipped[0][1]
        report = judging.execute(wb, planned)
        assert report.calls == 0 and fake.requests == []


def test_without_a_gemini_key_the_judge_says_how_to_enable_it(tmp_path):
    wb = open_workbench(load_settings(env={"WORKBENCH_DATA_DIR": str(tmp_path / "d")},
                                      secrets_file=tmp_path / "none.toml"), idle_close_s=0)
    try:
        with pytest.raises(JudgeUnavailable, match="GEMINI_API_KEY"):
            judging.plan(wb, generation_ids=["gen_x"])
    finally:
        wb.close()


# -- pairwise -----------------------------------------------------------------------------------
def test_pairs_are_asked_in_both_orders_and_kept_apart_from_peoples_votes(tmp_path):
    with judged_workbench(tmp_path) as (wb, fake):
        good = add_scene(wb, GOOD, model="flux-2-pro")
        bad = add_scene(wb, BAD, model="nano-banana-2")
        planned, report = _run(wb, [good, bad], pairs=True)
        assert len(planned.pairs) == 1 and len(report.pairs) == 1
        (left, right, winner), = report.pairs
        assert {left: "left", right: "right"}[good] == winner
        pair_calls = [r.json() for r in fake.on("generate")
                      if "verdict" in r.json()["generationConfig"]["responseSchema"]["properties"]]
        assert len(pair_calls) == 2
        shown = [[p["inlineData"]["data"] for p in body["contents"][0]["parts"][:2]]
                 for body in pair_calls]
        assert shown[0] == shown[1][::-1]  # the same two images, in both orders
        (vote,) = JudgeStore(wb.db).votes.judge_votes()
        assert vote.rater == f"judge:{judge_model(wb.settings)}" and vote.winner == winner
        assert wb.votes.count(judging_filter()) == 0  # people's boards never see it
        again, _ = _run(wb, [good, bad], pairs=True)
        assert again.pairs == [] and again.cached_pairs == 1


def judging_filter():
    from workbench.domain.filters import HistoryFilter

    return HistoryFilter(include_offline=True)


def test_a_tie_when_the_two_orders_disagree(tmp_path):
    with judged_workbench(tmp_path) as (wb, fake):
        a = add_scene(wb, GOOD, model="flux-2-pro")
        b = add_scene(wb, BAD, model="nano-banana-2")
        question_sets.save_edit(wb, PROMPT, [
            {"id": 1, "question": "Is there a red circle?", "category": "entity",
             "parents": []}])
        answer = fake.json_answer({"verdict": "first", "reason": "position"}, 600)
        fake.fault("generate", Fault(200, answer), Fault(200, answer))
        planned = judging.plan(wb, generation_ids=[a, b], pairs=True)
        planned.to_score.clear()
        report = judging.execute(wb, planned)
        assert [w for _, _, w in report.pairs] == ["tie"]
        (vote,) = JudgeStore(wb.db).votes.judge_votes()
        assert vote.winner == "tie"


# -- where it helps -------------------------------------------------------------------------------
MID = Scene((Disc("red", 50, 60), Disc("red", 60, 140), Disc("blue", 110, 100)), "OPEN")


def test_best_of_n_category_failures_and_the_history_figure(tmp_path):
    from workbench.services.evidence.judge import insights

    with judged_workbench(tmp_path) as (wb, _fake):
        run = "run_bestofn"
        nb = [add_scene(wb, s, model="nano-banana-2", run_id=run) for s in (BAD, GOOD, MID)]
        fp = add_scene(wb, GOOD, model="flux-2-pro", run_id=run)
        judging.execute(wb, judging.plan(wb, run_id=run))
        groups = {g.model: g for g in insights.rank_variations(wb, run)}
        assert [gid for gid, _ in groups["nano-banana-2"].ranked] == [nb[1], nb[2], nb[0]]
        assert groups["nano-banana-2"].best == nb[1] and groups["flux-2-pro"].best == fp
        failures = {(f.model, f.category): f for f in insights.category_failures(wb, run_id=run)}
        spatial = failures[("nano-banana-2", "spatial")]
        # BAD misses both sides, MID the blue one, GOOD none: 3 of 6 spatial questions.
        assert (spatial.missed.hits, spatial.missed.n, spatial.images) == (3, 6, 3)
        assert failures[("flux-2-pro", "spatial")].missed.hits == 0
        assert "missed 50%" in spatial.text()
        figures = insights.adherence_by_generation(wb, [*nb, fp, "gen_never"])
        assert figures[nb[1]].score == 1.0 and figures[nb[0]].questions == 6
        assert "gen_never" not in figures
        rows = {(r.group, r.model): r for r in insights.adherence_by_model(wb)}
        complex_nb = rows[("complex", "nano-banana-2")]
        assert complex_nb.n == 3 and complex_nb.mean == pytest.approx((1 + 2 / 6 + 5 / 6) / 3)
        assert complex_nb.interval[0] < complex_nb.mean < complex_nb.interval[1]
        assert rows[("text", "flux-2-pro")].mean == 1.0 and rows[("text", "flux-2-pro")].n == 1
        assert ("minimal", "nano-banana-2") not in rows


# -- what is read back and what is sent -----------------------------------------------------------
def test_an_image_path_or_file_the_workbench_did_not_write_is_never_sent(tmp_path):
    with judged_workbench(tmp_path) as (wb, fake):
        moved, altered = add_scene(wb, GOOD), add_scene(wb, BAD)
        question_sets.save_edit(wb, PROMPT, [
            {"id": 1, "question": "Is there a red circle?", "category": "entity",
             "parents": []}])
        secret = tmp_path / "outside.png"
        secret.write_bytes(GOOD.png())
        with wb.db.cursor() as cur:
            cur.execute("UPDATE images SET path = ? WHERE sha256 = ?",
                        [str(secret), wb.log.get(moved).image_sha256])
        wb.images.absolute(wb.log.get(altered).image_path).write_bytes(GOOD.png())
        _, report = _run(wb, [moved, altered])
        why = dict(report.failed)
        assert "not one the workbench writes" in why[moved]
        assert "does not match its hash" in why[altered]
        assert fake.requests == [] and report.calls == 0


def test_a_request_over_gemini_s_inline_limit_is_refused_before_sending(tmp_path):
    import asyncio

    from workbench.providers.base import ProviderError
    from workbench.providers.gemini_judge import GeminiJudgeClient, InlineImage
    from workbench.providers.http import HttpPolicy

    with FakeGeminiJudge(key=KEY) as fake:
        client = GeminiJudgeClient(key=KEY, base_url=fake.url, policy=HttpPolicy())

        async def ask() -> None:
            try:
                await client.ask("gemini-3.8-flash", images=[InlineImage(b"x" * 16_000_000,
                                                                          "image/png")],
                                 text="?", schema={"type": "OBJECT"}, max_output_tokens=10)
            finally:
                await client.aclose()

        with pytest.raises(ProviderError, match="under 20 MB"):
            asyncio.run(ask())
        assert fake.requests == []


def test_a_wrong_key_is_a_clear_failure_that_never_shows_the_key(tmp_path):
    with judged_workbench(tmp_path) as (wb, fake):
        fake.key = "the-right-key-0000"
        gid = add_scene(wb, GOOD)
        _, report = _run(wb, [gid])
        assert report.stopped and "key" in report.stopped.lower()
        assert KEY not in report.stopped and KEY not in repr(report)
        with wb.db.cursor() as cur:
            dumped = repr(cur.execute("SELECT * FROM judge_calls").fetchall())
        assert KEY not in dumped and [r[1] for r in _ledger(wb)] == ["failed"]


def test_a_prompt_whose_questions_failed_is_not_asked_again_in_the_same_batch(tmp_path):
    with judged_workbench(tmp_path) as (wb, fake):
        ids = [add_scene(wb, GOOD), add_scene(wb, BAD), add_scene(wb, MID)]
        fake.fault("generate", Fault(200, fake.malformed_answer()))
        _, report = _run(wb, ids)
        assert len(fake.on("generate")) == 1 and len(report.failed) == 3
        assert all("not valid JSON" in why for _, why in report.failed)
