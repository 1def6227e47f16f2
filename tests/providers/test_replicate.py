"""Replicate specifics: Prefer: wait with a fallback to polling, inputs per model, failures."""

from __future__ import annotations

import pytest

from harness.fakes import Fault
from workbench.services.runs import generation


def test_sync_mode_answer_needs_no_poll(make_harness) -> None:
    h = make_harness("replicate", replicate_wait_s=60)
    outcome, row = h.generate("flux-2-pro", seed=5)
    assert outcome.status == "succeeded", outcome.error
    (call,) = h.fake.on("submit")
    assert call.path == "/v1/models/black-forest-labs/flux-2-pro/predictions"
    assert call.headers["prefer"] == "wait=60"
    assert call.headers["authorization"] == f"Bearer {h.fake.key}"
    body = call.json()
    assert body["input"]["resolution"] == "1 MP" and body["input"]["seed"] == 5
    assert body["input"]["aspect_ratio"] == "16:9"
    assert not h.fake.on("poll")
    assert row.provider_request_id == "job-0001-7f3a"
    assert row.queue_ms == pytest.approx(250.0)


def test_an_unfinished_sync_answer_falls_back_to_polling_urls_get(make_harness) -> None:
    h = make_harness("replicate")
    h.fake.finish_in_submit = False
    h.fake.pending_polls = 2
    outcome, _ = h.generate()
    assert outcome.status == "succeeded", outcome.error
    polls = h.fake.on("poll")
    assert len(polls) == 3
    assert {p.path for p in polls} == {"/poll-here/predictions/job-0001-7f3a"}
    assert h.fake.paid_submits == 1


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [("NSFW content detected. Try running it again, or try a different prompt.",
      "moderated", "moderated"),
     ("E005: The input or output was flagged as sensitive.", "moderated", "moderated"),
     ("CUDA out of memory", "failed", "server")],
)
def test_a_failed_prediction_is_moderated_or_failed_by_its_error(
    make_harness, error, status, kind
) -> None:
    h = make_harness("replicate")
    h.fake.final_status = "failed"
    h.fake.error = error
    _, row = h.generate()
    assert (row.status, row.error_kind) == (status, kind)
    assert error[:20] in row.error_message


def test_a_canceled_prediction_fails(make_harness) -> None:
    h = make_harness("replicate")
    h.fake.finish_in_submit = False
    h.fake.final_status = "canceled"
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", "server")
    assert "canceled" in row.error_message


def test_flux_2_dev_is_served_and_its_cost_is_unknown(make_harness) -> None:
    h = make_harness("replicate")
    outcome, row = h.generate("flux-2-dev", size="0.5MP", aspect_ratio="1:1")
    assert outcome.status == "succeeded", outcome.error
    call = h.fake.on("submit")[0]
    assert call.path == "/v1/models/black-forest-labs/flux-2-dev/predictions"
    assert call.json()["input"]["aspect_ratio"] == "custom"
    assert call.json()["input"]["width"] == 704  # 0.5 MP square in multiples of 32
    assert (row.cost_usd, row.cost_kind) == (None, "unknown")


def test_flux_2_dev_refuses_a_size_replicate_cannot_make(make_harness) -> None:
    h = make_harness("replicate")
    _, row = h.generate("flux-2-dev", size="2MP", aspect_ratio="16:9")
    assert (row.status, row.error_kind) == ("not_sent", "bad_request")
    assert "1440" in row.error_message
    assert not h.fake.on("submit")


def test_nano_banana_2_at_512_is_refused_before_sending(make_harness) -> None:
    h = make_harness("replicate")
    with pytest.raises(generation.InvalidRequest) as refused:
        h.generate("nano-banana-2", size="512")
    assert "Replicate does not offer size 512" in str(refused.value)
    assert "Google Gemini API, fal.ai" in str(refused.value)  # who can
    assert not h.fake.requests


def test_flux2_pro_at_21_9_goes_out_as_custom_width_and_height(make_harness) -> None:
    h = make_harness("replicate")
    outcome, row = h.generate("flux-2-pro", aspect_ratio="21:9", size="4MP")
    assert outcome.status == "succeeded", outcome.error
    sent = h.fake.on("submit")[0].json()["input"]
    assert (sent["aspect_ratio"], sent["width"], sent["height"]) == ("custom", 2048, 864)
    assert "resolution" not in sent
    assert row.params["aspect_ratio"] == "custom"
    # the estimate is priced at the size sent: 2048 x 864 = 1.6875 MP of 1024^2
    assert row.cost_usd == pytest.approx(0.03 + 0.6875 * 0.015, abs=1e-6)
    planned = generation.plan(h.wb, generation.parse_request(
        {"model": "flux-2-pro", "provider": "replicate", "prompt": "a kite",
         "aspect_ratio": "21:9", "size": "4MP"}))
    assert any("custom size of 2048×864" in w for w in planned.warnings)  # the page says so


def test_a_ratio_outside_replicates_enum_is_its_documented_422(make_harness) -> None:
    """What the fake answers when a client sends 21:9 as is: invalid_fields, kept readable."""
    h = make_harness("replicate")
    h.fake.fault("submit", Fault(422, h.fake.documented_422("aspect_ratio", ("1:1",)).body))
    _, row = h.generate("flux-2-pro")
    assert (row.status, row.error_kind) == ("failed", "bad_request")
    assert 'input.aspect_ratio: aspect_ratio must be one of the following: "1:1"' in (
        row.error_message
    )


def test_the_create_asks_replicate_to_cancel_after_the_deadline(make_harness) -> None:
    h = make_harness("replicate", deadline_s=90)
    h.generate("flux-2-pro")
    assert h.fake.on("submit")[0].headers["cancel-after"] == "90s"


def test_nano_banana_pro_sends_resolution_and_no_seed(make_harness) -> None:
    h = make_harness("replicate")
    outcome, _ = h.generate("nano-banana-pro", size="4K", aspect_ratio="3:2")
    assert outcome.status == "succeeded", outcome.error
    payload = h.fake.on("submit")[0].json()["input"]
    assert payload == {"prompt": payload["prompt"], "aspect_ratio": "3:2",
                       "resolution": "4K", "output_format": "png"}


def test_a_throttle_body_is_shown(make_harness) -> None:
    h = make_harness("replicate")
    h.fake.fault("submit", Fault(429, {"detail": "Request was throttled. Expected available "
                                       "in 1 second."}, repeat=True))
    _, row = h.generate()
    assert row.error_kind == "rate_limited"
    assert "Request was throttled" in row.error_message
