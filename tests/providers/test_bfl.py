"""Black Forest Labs specifics: request body per model, cost in credits, statuses."""

from __future__ import annotations

import pytest

from harness.fakes import Fault


def test_flux2_sends_width_and_height_in_multiples_of_16(make_harness) -> None:
    h = make_harness("bfl")
    outcome, row = h.generate("flux-2-max", aspect_ratio="16:9", size="2MP", seed=99)
    assert outcome.status == "succeeded", outcome.error
    (call,) = h.fake.on("submit")
    assert call.path == "/v1/flux-2-max"
    body = call.json()
    assert body["width"] % 16 == 0 and body["height"] % 16 == 0
    assert body["width"] * body["height"] <= 2 * 1024 * 1024
    assert 1.7 < body["width"] / body["height"] < 1.8
    assert body["seed"] == 99 and body["prompt"].startswith("A lighthouse")
    assert "aspect_ratio" not in body
    assert call.headers["x-key"] == h.fake.key
    assert row.params["width"] == body["width"] and "prompt" not in row.params


def test_ultra_takes_an_aspect_ratio_and_raw_instead_of_pixels(make_harness) -> None:
    h = make_harness("bfl")
    outcome, _ = h.generate("flux-1.1-pro-ultra", aspect_ratio="9:21", options={"raw": True})
    assert outcome.status == "succeeded", outcome.error
    body = h.fake.on("submit")[0].json()
    assert h.fake.on("submit")[0].path == "/v1/flux-pro-1.1-ultra"
    assert (body["aspect_ratio"], body["raw"]) == ("9:21", True)
    assert "width" not in body and "height" not in body


def test_flex_passes_steps_guidance_and_upsampling(make_harness) -> None:
    h = make_harness("bfl")
    options = {"steps": 28, "guidance": 3.5, "prompt_upsampling": False}
    outcome, row = h.generate("flux-2-flex", options=options)
    assert outcome.status == "succeeded", outcome.error
    body = h.fake.on("submit")[0].json()
    assert {k: body[k] for k in options} == options
    assert row.params["steps"] == 28


def test_without_a_reported_cost_the_catalog_estimate_is_used(make_harness) -> None:
    h = make_harness("bfl")
    h.fake.cost_credits = None
    _, row = h.generate("flux-2-pro", size="1MP")
    assert row.status == "succeeded"
    assert row.cost_kind == "estimated"
    assert row.cost_usd == pytest.approx(0.03, abs=0.002)


def test_the_reported_cost_in_credits_wins(make_harness) -> None:
    h = make_harness("bfl")
    h.fake.cost_credits = 4.5
    _, row = h.generate("flux-2-pro", size="2MP")
    assert (row.cost_usd, row.cost_kind) == (pytest.approx(0.045), "known")


@pytest.mark.parametrize(
    ("status", "what"),
    [("Request Moderated", "the prompt"), ("Content Moderated", "the generated image")],
)
def test_moderation_statuses_become_moderated(make_harness, status, what) -> None:
    h = make_harness("bfl")
    h.fake.final_status = status
    h.fake.details = {"Moderation Reasons": ["Derivative Works Filter"]}
    outcome, row = h.generate()
    assert (outcome.status, row.error_kind) == ("moderated", "moderated")
    assert what in row.error_message and status in row.error_message
    assert "Derivative Works Filter" in row.error_message


def test_moderated_rows_keep_the_task_id_and_reported_cost(make_harness) -> None:
    h = make_harness("bfl")
    h.fake.final_status = "Content Moderated"
    _, row = h.generate()
    assert row.provider_request_id == "job-0001-7f3a"
    assert (row.cost_usd, row.cost_kind) == (pytest.approx(0.03), "known")


@pytest.mark.parametrize(("status", "kind"), [("Error", "server"), ("Task not found", "not_found")])
def test_error_statuses_fail(make_harness, status, kind) -> None:
    h = make_harness("bfl")
    h.fake.final_status = status
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", kind)
    assert status in row.error_message


def test_pending_polls_continue_until_ready(make_harness) -> None:
    h = make_harness("bfl")
    h.fake.pending_polls = 4
    outcome, _ = h.generate()
    assert outcome.status == "succeeded", outcome.error
    assert len(h.fake.on("poll")) == 5
    assert all(p.query["sig"] == ["q1w2"] for p in h.fake.on("poll"))


def test_a_submit_answer_without_polling_url_is_not_guessed(make_harness) -> None:
    h = make_harness("bfl")
    h.fake.fault("submit", Fault(200, {"id": "abc", "cost": 3.0}))
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", "malformed")
    assert "polling_url" in row.error_message
    assert not h.fake.on("poll") and not h.fake.on("unknown")
    assert row.provider_request_id == "abc"


def test_an_error_status_keeps_the_tasks_error_text(make_harness) -> None:
    h = make_harness("bfl")
    h.fake.final_status = "Error"
    h.fake.error = "Generation failed: internal model error"
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", "server")
    assert "internal model error" in row.error_message
