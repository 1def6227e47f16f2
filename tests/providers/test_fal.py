"""fal specifics: queue URLs as given, COMPLETED-with-error, NSFW flags, inputs per app."""

from __future__ import annotations

import pytest

from harness.fakes import Fault


def test_queue_flow_uses_the_returned_urls(make_harness) -> None:
    h = make_harness("fal")
    outcome, row = h.generate("flux-2-pro", seed=11, size="1MP", aspect_ratio="1:1")
    assert outcome.status == "succeeded", outcome.error
    (submit,) = h.fake.on("submit")
    assert submit.path == "/fal-ai/flux-2-pro"
    assert submit.headers["authorization"] == f"Key {h.fake.key}"
    body = submit.json()
    assert body["image_size"] == {"width": 1024, "height": 1024} and body["seed"] == 11
    assert [p.path for p in h.fake.on("poll")] == [
        "/queue-x/fal-ai/flux-2-pro/requests/job-0001-7f3a/status"] * 3
    assert [r.path for r in h.fake.on("result")] == [
        "/queue-x/fal-ai/flux-2-pro/requests/job-0001-7f3a"]
    assert row.provider_request_id == "job-0001-7f3a"
    assert row.queue_ms is not None


def test_completed_with_an_infrastructure_error_is_a_server_failure(make_harness) -> None:
    h = make_harness("fal")
    h.fake.completed_error = ("Runner disconnected", "runner_disconnected")
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", "server")
    assert "Runner disconnected" in row.error_message
    assert "runner_disconnected" in row.error_message
    assert not h.fake.on("result"), "a failed run's result must not be fetched"


def test_a_content_policy_422_on_the_result_is_moderated(make_harness) -> None:
    h = make_harness("fal")
    h.fake.blocked = True
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("moderated", "moderated")
    assert "content policy" in row.error_message and "flagged" in row.error_message
    assert len(h.fake.on("result")) == 1 and h.fake.paid_submits == 1


def test_another_422_stays_a_bad_request(make_harness) -> None:
    h = make_harness("fal")
    h.fake.fault("result", Fault(422, {"detail": [
        {"loc": ["body", "image_size"], "msg": "too large", "type": "value_error"}]}))
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", "bad_request")


def test_nsfw_flag_is_moderated(make_harness) -> None:
    h = make_harness("fal")
    h.fake.nsfw = True
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("moderated", "moderated")
    assert not h.fake.on("image")


def test_result_errors_keep_fals_detail(make_harness) -> None:
    h = make_harness("fal")
    h.fake.fault("result", Fault(422, {"detail": [{"loc": ["body", "prompt"],
                                                   "msg": "Prompt too long", "type": "x"}]}))
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", "bad_request")
    assert "prompt: Prompt too long" in row.error_message


def test_nano_banana_2_at_512_is_sent_as_half_k(make_harness) -> None:
    h = make_harness("fal")
    outcome, _ = h.generate("nano-banana-2", size="512", aspect_ratio="8:1")
    assert outcome.status == "succeeded", outcome.error
    body = h.fake.on("submit")[0].json()
    assert h.fake.on("submit")[0].path == "/fal-ai/nano-banana-2"
    assert (body["resolution"], body["aspect_ratio"], body["num_images"]) == ("0.5K", "8:1", 1)


def test_flux_2_dev_uses_the_flux_2_app_at_a_quoted_per_mp_estimate(make_harness) -> None:
    h = make_harness("fal")
    _, row = h.generate("flux-2-dev", size="1MP", aspect_ratio="1:1")
    assert h.fake.on("submit")[0].path == "/fal-ai/flux-2"
    assert (row.status, row.cost_kind) == ("succeeded", "estimated")
    assert row.cost_usd == pytest.approx(0.012)


def test_ultra_uses_aspect_ratio_and_raw(make_harness) -> None:
    h = make_harness("fal")
    _, row = h.generate("flux-1.1-pro-ultra", aspect_ratio="21:9", options={"raw": False})
    body = h.fake.on("submit")[0].json()
    assert h.fake.on("submit")[0].path == "/fal-ai/flux-pro/v1.1-ultra"
    assert (body["aspect_ratio"], body["raw"]) == ("21:9", False)
    assert "image_size" not in body
    assert row.status == "succeeded"


def test_an_ingress_503_is_retried_once_fal_did_not_queue(make_harness) -> None:
    h = make_harness("fal")
    h.fake.fault("submit", h.fake.documented_ingress_503())
    outcome, _ = h.generate()
    assert outcome.status == "succeeded", outcome.error
    assert len(h.fake.on("submit")) == 2 and h.fake.paid_submits == 1
    assert outcome.retries == 1


def test_a_gateway_error_without_the_nginx_page_is_not_resent(make_harness) -> None:
    """No request-id header alone does not prove fal never queued it: fal_client also wants
    the ingress's nginx page before it sends again."""
    h = make_harness("fal")
    h.fake.fault("submit", Fault(502, {"detail": "upstream error"}))
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", "server")
    assert len(h.fake.on("submit")) == 1


def test_the_submit_asks_fal_to_stop_at_the_deadline(make_harness) -> None:
    h = make_harness("fal", deadline_s=75)
    h.generate()
    assert h.fake.on("submit")[0].headers["x-fal-request-timeout"] == "75"
