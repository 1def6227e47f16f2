"""Gemini specifics: the request shape, thought parts, fallback ids, blocks and token cost."""

from __future__ import annotations

import base64

import pytest

from tests.providers.fakes import Fault, png_bytes


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
    assert row["params"]["generationConfig"]["imageConfig"]["imageSize"] == "2K"
    assert row["provider_model_id"] == "gemini-3.1-flash-image"


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
    assert h.wb.images.absolute(row["image_path"]).read_bytes() == final
    assert row["provider_request_id"] == "resp-77"


def test_a_stable_id_that_answers_404_falls_back_to_the_preview_id(make_harness) -> None:
    h = make_harness("gemini")
    h.fake.known_models = {"gemini-3-pro-image-preview"}
    outcome, row = h.generate("nano-banana-pro")
    assert outcome.status == "succeeded", outcome.error
    paths = [r.path for r in h.fake.on("submit")]
    assert paths == ["/v1beta/models/gemini-3-pro-image:generateContent",
                     "/v1beta/models/gemini-3-pro-image-preview:generateContent"]
    assert row["provider_model_id"] == "gemini-3-pro-image-preview"
    assert h.fake.paid_submits == 1


def test_no_known_id_is_a_configuration_failure_naming_the_ids(make_harness) -> None:
    h = make_harness("gemini")
    h.fake.known_models = set()
    _, row = h.generate("nano-banana-pro")
    assert (row["status"], row["error_kind"]) == ("failed", "config")
    assert "gemini-3-pro-image, gemini-3-pro-image-preview" in row["error_message"]
    assert "catalog.toml" in row["error_message"]


def test_a_blocked_prompt_is_moderated_with_the_reason(make_harness) -> None:
    h = make_harness("gemini")
    h.fake.answer = {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT",
                                        "blockReasonMessage": "Prompt was blocked."},
                     "usageMetadata": {"promptTokenCount": 12, "totalTokenCount": 12}}
    outcome, row = h.generate()
    assert (row["status"], row["error_kind"]) == ("moderated", "moderated")
    assert outcome.status == "moderated"
    assert "PROHIBITED_CONTENT" in row["error_message"]
    assert "Prompt was blocked." in row["error_message"]


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
    assert (row["status"], row["error_kind"]) == (status, kind)
    assert reason in row["error_message"]
    assert "I can't draw that scene." in row["error_message"]


def test_an_answer_without_candidates_is_no_image(make_harness) -> None:
    h = make_harness("gemini")
    h.fake.answer = {"usageMetadata": {"promptTokenCount": 3}}
    _, row = h.generate()
    assert (row["status"], row["error_kind"]) == ("failed", "no_image")


def test_invalid_base64_is_malformed(make_harness) -> None:
    h = make_harness("gemini")
    h.fake.answer = {"candidates": [{"content": {"parts": [
        {"inlineData": {"mimeType": "image/png", "data": "***not base64***"}}]},
        "finishReason": "STOP"}]}
    _, row = h.generate()
    assert (row["status"], row["error_kind"]) == ("failed", "malformed")


@pytest.mark.parametrize(
    ("model", "size", "tokens", "cost", "kind"),
    [("nano-banana-2", "4K", 2520, 0.1512, "known"),  # 2520 x $60/1M
     ("nano-banana", "1K", 1290, 0.0387, "known"),  # 1290 x $30/1M
     ("nano-banana-pro", "1K", 1120, 0.134, "estimated")],  # catalog price not confirmed
)
def test_cost_comes_from_image_tokens_where_the_price_is_confirmed(
    make_harness, model, size, tokens, cost, kind
) -> None:
    h = make_harness("gemini")
    h.fake.image_tokens = tokens
    _, row = h.generate(model, size=size)
    assert row["status"] == "succeeded"
    assert (row["cost_usd"], row["cost_kind"]) == (pytest.approx(cost), kind)


def test_without_token_counts_the_catalog_estimate_is_recorded(make_harness) -> None:
    h = make_harness("gemini")
    answer = h.fake.image_answer(png_bytes())
    del answer["usageMetadata"]
    h.fake.answer = answer
    _, row = h.generate("nano-banana-2", size="2K")
    assert (row["cost_usd"], row["cost_kind"]) == (pytest.approx(0.101), "estimated")


def test_google_error_bodies_give_their_message(make_harness) -> None:
    h = make_harness("gemini")
    h.fake.fault("submit", Fault(400, {"error": {
        "code": 400, "message": "Unsupported aspect ratio for this model.",
        "status": "INVALID_ARGUMENT"}}))
    _, row = h.generate()
    assert row["error_kind"] == "bad_request"
    assert "Unsupported aspect ratio for this model. (INVALID_ARGUMENT)" in row["error_message"]
