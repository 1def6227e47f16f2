"""Gemini specifics: the request shape, thought parts, fallback ids, blocks and token cost."""

from __future__ import annotations

import base64

import pytest

from harness.fakes import Fault, png_bytes


def test_request_carries_prompt_ratio_size_and_key_header(make_harness) -> None:
    h = make_harness("gemini")
    outcome, row = h.generate("nano-banana-2", aspect_ratio="21:9", size="2K")
    assert outcome.status == "succeeded", outcome.error
    (call,) = h.fake.on("submit")
    assert call.path == "/v1beta/models/gemini-3.1-flash-image:generateContent"
    body = call.json()
    assert body["contents"][0]["parts"][0]["text"].startswith("A lighthouse")
    assert body["generationConfig"]["imageConfig"] == {"aspectRatio": "21:9", "imageSize": "2K"}
    assert "IMAGE" in body["generationConfig"]["responseModalities"]
    assert call.query == {}  # the key travels in a header, never in the URL
    assert row.params["generationConfig"]["imageConfig"]["imageSize"] == "2K"
    assert row.provider_model_id == "gemini-3.1-flash-image"


def test_the_original_nano_banana_gets_no_image_size(make_harness) -> None:
    h = make_harness("gemini")
    outcome, _ = h.generate("nano-banana", aspect_ratio="4:5")
    assert outcome.status == "succeeded", outcome.error
    config = h.fake.on("submit")[0].json()["generationConfig"]
    assert config["imageConfig"] == {"aspectRatio": "4:5"}


def test_thought_images_are_skipped_and_the_last_image_is_taken(make_harness) -> None:
    h = make_harness("gemini")
    final, draft, earlier = png_bytes(40, 30, (1, 2, 3)), png_bytes(16, 16), png_bytes(20, 20)
    answer = h.fake.image_answer(final, "resp-77")
    parts = answer["candidates"][0]["content"]["parts"]
    parts.insert(0, {"inlineData": {"mimeType": "image/png",
                                    "data": base64.b64encode(earlier).decode()}})
    parts.append({"inlineData": {"mimeType": "image/png",
                                 "data": base64.b64encode(draft).decode()}, "thought": True})
    h.fake.answer = answer
    outcome, row = h.generate()
    assert outcome.status == "succeeded", outcome.error
    assert h.wb.images.absolute(row.image_path).read_bytes() == final
    assert row.provider_request_id == "resp-77"


def test_a_stable_id_that_answers_404_falls_back_to_the_preview_id(make_harness) -> None:
    h = make_harness("gemini")
    h.fake.known_models = {"gemini-3-pro-image-preview"}
    outcome, row = h.generate("nano-banana-pro")
    assert outcome.status == "succeeded", outcome.error
    paths = [r.path for r in h.fake.on("submit")]
    assert paths == ["/v1beta/models/gemini-3-pro-image:generateContent",
                     "/v1beta/models/gemini-3-pro-image-preview:generateContent"]
    assert row.provider_model_id == "gemini-3-pro-image-preview"
    assert h.fake.paid_submits == 1


def test_no_known_id_is_a_configuration_failure_naming_the_ids(make_harness) -> None:
    h = make_harness("gemini")
    h.fake.known_models = set()
    _, row = h.generate("nano-banana-pro")
    assert (row.status, row.error_kind) == ("failed", "config")
    assert "gemini-3-pro-image, gemini-3-pro-image-preview" in row.error_message
    assert "catalog.toml" in row.error_message


def test_a_blocked_prompt_is_moderated_with_the_reason(make_harness) -> None:
    h = make_harness("gemini")
    h.fake.answer = {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT",
                                        "blockReasonMessage": "Prompt was blocked."},
                     "usageMetadata": {"promptTokenCount": 12, "totalTokenCount": 12}}
    outcome, row = h.generate()
    assert (row.status, row.error_kind) == ("moderated", "moderated")
    assert outcome.status == "moderated"
    assert "PROHIBITED_CONTENT" in row.error_message
    assert "Prompt was blocked." in row.error_message


@pytest.mark.parametrize(
    ("reason", "status", "kind"),
    [("IMAGE_SAFETY", "moderated", "moderated"), ("SAFETY", "moderated", "moderated"),
     ("NO_IMAGE", "failed", "no_image"), ("IMAGE_OTHER", "failed", "no_image")],
)
def test_a_finish_reason_without_image_becomes_the_right_status(
    make_harness, reason, status, kind
) -> None:
    h = make_harness("gemini")
    h.fake.answer = {"candidates": [{
        "content": {"role": "model", "parts": [{"text": "I can't draw that scene."}]},
        "finishReason": reason}]}
    _, row = h.generate()
    assert (row.status, row.error_kind) == (status, kind)
    assert reason in row.error_message
    assert "I can't draw that scene." in row.error_message


def test_an_answer_without_candidates_is_no_image(make_harness) -> None:
    h = make_harness("gemini")
    h.fake.answer = {"usageMetadata": {"promptTokenCount": 3}}
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", "no_image")


def test_invalid_base64_is_malformed(make_harness) -> None:
    h = make_harness("gemini")
    h.fake.answer = {"candidates": [{"content": {"parts": [
        {"inlineData": {"mimeType": "image/png", "data": "***not base64***"}}]},
        "finishReason": "STOP"}]}
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", "malformed")


@pytest.mark.parametrize(
    ("model", "size", "tokens", "cost"),
    # 12 input, 200 thinking + 5 text, N image tokens, at the offer's three token prices
    [("nano-banana-2", "4K", 2520, (12 * 0.5 + 205 * 3.0 + 2520 * 60.0) / 1e6),
     ("nano-banana", "1K", 1290, (12 * 0.3 + 205 * 2.5 + 1290 * 30.0) / 1e6),
     ("nano-banana-pro", "1K", 1120, (12 * 2.0 + 205 * 12.0 + 1120 * 120.0) / 1e6)],
)
def test_cost_counts_every_billed_token(make_harness, model, size, tokens, cost) -> None:
    h = make_harness("gemini")
    h.fake.image_tokens = tokens
    _, row = h.generate(model, size=size)
    assert row.status == "succeeded"
    # the dollar prices per token are second-hand, so the cost is shown as an estimate
    assert (row.cost_usd, row.cost_kind) == (pytest.approx(cost, abs=1e-6), "estimated")


def test_a_wrong_key_400_api_key_invalid_is_an_auth_failure(make_harness) -> None:
    h = make_harness("gemini", key="sk-wrong-key-000", fake_key="sk-right-key-111")
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", "auth")
    assert "key is not valid" in row.error_message and "GEMINI_API_KEY" in row.error_message
    assert len(h.fake.on("submit")) == 1


def test_a_429_waits_what_retry_info_asks_without_a_header(make_harness) -> None:
    h = make_harness("gemini", retry_after_max_s=60, deadline_s=120)
    h.fake.fault("submit", h.fake.documented_429(48.8))
    outcome, row = h.generate()
    assert outcome.status == "succeeded", outcome.error
    assert h.sleeps.waits == [48.0]  # RetryInfo.retryDelay "48s"
    assert (row.retries, row.retry_wait_s) == (1, 48.0)
    assert outcome.retry_note == "Retried once, waited 48 s in all."


def test_the_wait_in_the_message_text_is_read_when_retry_info_is_absent(make_harness) -> None:
    h = make_harness("gemini")
    body = h.fake.documented_429(7.5).body
    body["error"]["details"] = []
    h.fake.fault("submit", Fault(429, body))
    outcome, _ = h.generate()
    assert outcome.status == "succeeded", outcome.error
    assert h.sleeps.waits == [7.5]


def test_a_wait_past_the_deadline_is_not_waited(make_harness) -> None:
    h = make_harness("gemini", deadline_s=5.0)
    h.fake.fault("submit", h.fake.documented_429(9.0))
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("failed", "rate_limited")
    assert "would pass the overall deadline" in row.error_message
    assert h.sleeps.waits == [] and len(h.fake.on("submit")) == 1


def test_a_daily_quota_fails_at_once_and_says_so(make_harness) -> None:
    h = make_harness("gemini")
    h.fake.fault("submit", h.fake.documented_429(30.0, per_day=True))
    _, row = h.generate("nano-banana-pro")
    assert (row.status, row.error_kind) == ("failed", "quota_exhausted")
    assert "Daily quota reached for Nano Banana Pro on Google Gemini API" in row.error_message
    assert len(h.fake.on("submit")) == 1 and h.sleeps.waits == []


def test_without_token_counts_the_catalog_estimate_is_recorded(make_harness) -> None:
    h = make_harness("gemini")
    answer = h.fake.image_answer(png_bytes())
    del answer["usageMetadata"]
    h.fake.answer = answer
    _, row = h.generate("nano-banana-2", size="2K")
    assert (row.cost_usd, row.cost_kind) == (pytest.approx(0.101), "estimated")


def test_google_error_bodies_give_their_message(make_harness) -> None:
    h = make_harness("gemini")
    h.fake.fault("submit", Fault(400, {"error": {
        "code": 400, "message": "Unsupported aspect ratio for this model.",
        "status": "INVALID_ARGUMENT"}}))
    _, row = h.generate()
    assert row.error_kind == "bad_request"
    assert "Unsupported aspect ratio for this model. (INVALID_ARGUMENT)" in row.error_message
