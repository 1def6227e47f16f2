"""The hand-off from a draft to the production model, on the wire: a Nano Banana 2 draft refined
on FLUX.2 Pro (and on Nano Banana Pro for Gemini) goes to each provider in the field it documents
(the fakes decode and check it), the new generation records its parent and the reference's
sha256, and a reference a provider cannot take is refused before anything is sent."""

from __future__ import annotations

import hashlib
import io
import tomllib
from typing import Any

import pytest
from PIL import Image

from harness.fakes import png_bytes
from workbench.domain.catalog import CATALOG_FILE, megapixels_sent, parse_catalog
from workbench.services.runs import generation, handoff
from workbench.services.runs.generation import InvalidRequest

REFINED = "A woman reading on a sun-filled balcony, soft window light from the left, 85mm f/1.4"


def _draft(h: Any, **fields: Any) -> tuple[Any, bytes]:
    """A Nano Banana 2 draft made by the offline renderer (no key), and its stored bytes."""
    outcome, row = h.generate("nano-banana-2", provider="offline", **fields)
    assert outcome.status == "succeeded", outcome.error
    data = h.wb.images.absolute(row.image_path).read_bytes()
    return outcome, data


def _wire_images(provider: str, body: dict[str, Any]) -> list[str]:
    """The reference values as sent, in each provider's documented field."""
    if provider == "bfl":  # Flux2Inputs: input_image, input_image_2, ... (base64)
        return [body[k] for k in sorted(body) if k.startswith("input_image")]
    if provider == "replicate":  # FLUX.2 input schema: input_images, a list of URIs
        return list(body["input"]["input_images"])
    if provider == "fal":  # the /edit endpoint's image_urls
        return list(body["image_urls"])
    parts = body["contents"][0]["parts"]  # Gemini: inlineData parts before the text
    return [p["inlineData"]["data"] for p in parts if "inlineData" in p]


@pytest.mark.parametrize(
    ("provider", "target"),
    [("bfl", "flux-2-pro"), ("replicate", "flux-2-pro"), ("fal", "flux-2-pro"),
     ("gemini", "nano-banana-pro")],
)
def test_a_refined_draft_goes_in_the_providers_documented_field_and_records_its_parent(
    make_harness, provider: str, target: str
) -> None:
    h = make_harness(provider)
    draft, stored = _draft(h, prompt="A woman reading on a balcony, late afternoon")
    outcome, row = h.generate(target, prompt=REFINED, parent_id=draft.id, send_reference=True)
    assert outcome.status == "succeeded", outcome.error
    (call,) = h.fake.on("submit")
    assert h.fake.references == [stored]  # decoded by the fake: the draft's bytes, unchanged
    sent = _wire_images(provider, call.json())
    assert len(sent) == 1
    if provider in ("replicate", "fal"):
        assert sent[0].startswith("data:image/png;base64,")
    if provider == "fal":
        assert call.path == "/fal-ai/flux-2-pro/edit"
    if provider == "gemini":
        parts = call.json()["contents"][0]["parts"]
        assert parts[0]["inlineData"]["mimeType"] == "image/png"
        assert parts[-1] == {"text": REFINED}
    assert row.parent_id == draft.id
    (recorded,) = row.params["reference_images"]
    assert recorded["sha256"] == hashlib.sha256(stored).hexdigest()
    assert "data" not in recorded and "base64" not in str(row.params)
    assert [n.id for n in h.wb.lineage.descendants(draft.id)] == [outcome.id]


def test_without_send_reference_only_the_parent_is_recorded(make_harness) -> None:
    h = make_harness("bfl")
    draft, _ = _draft(h)
    _, row = h.generate("flux-2-pro", prompt=REFINED, parent_id=draft.id)
    body = h.fake.on("submit")[0].json()
    assert not [k for k in body if k.startswith("input_image")]
    assert row.parent_id == draft.id and "reference_images" not in row.params


def test_fal_flux2_flex_sends_references_to_its_edit_endpoint(make_harness) -> None:
    # fal.ai/models/fal-ai/flux-2-flex/edit: multi-reference editing with image_urls
    h = make_harness("fal")
    draft, stored = _draft(h)
    outcome, row = h.generate("flux-2-flex", prompt=REFINED, parent_id=draft.id,
                              send_reference=True)
    assert outcome.status == "succeeded", outcome.error
    (call,) = h.fake.on("submit")
    assert call.path == "/fal-ai/flux-2-flex/edit"
    assert h.fake.references == [stored]
    assert row.params["app"] == "fal-ai/flux-2-flex/edit"


def test_an_offer_without_reference_images_says_so_before_sending(make_harness) -> None:
    h = make_harness("fal")
    with CATALOG_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    flex = next(m for m in data["models"] if m["id"] == "flux-2-flex")
    next(o for o in flex["offers"] if o["provider"] == "fal").pop("reference")
    h.wb.catalog = parse_catalog(data)
    draft, _ = _draft(h)
    with pytest.raises(InvalidRequest) as refused:
        h.generate("flux-2-flex", prompt=REFINED, parent_id=draft.id, send_reference=True)
    assert "takes no reference image" in str(refused.value)
    assert "Black Forest Labs API" in str(refused.value)  # who does take one
    assert h.fake.on("submit") == [] and h.fake.paid_submits == 0


def test_an_unreadable_draft_image_is_refused_and_nothing_is_sent(make_harness) -> None:
    h = make_harness("bfl")
    _, row = h.generate("nano-banana-2", provider="offline")
    h.wb.images.absolute(row.image_path).write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(InvalidRequest) as refused:
        h.generate("flux-2-pro", prompt=REFINED, parent_id=row.id, send_reference=True)
    assert "not a readable image" in str(refused.value) and "Nothing was sent" in str(
        refused.value
    )
    assert h.fake.on("submit") == []


def test_a_format_the_provider_does_not_list_is_converted_before_sending(make_harness) -> None:
    h = make_harness("replicate")
    buffer = io.BytesIO()
    Image.open(io.BytesIO(png_bytes(300, 200))).convert("P").save(buffer, format="GIF")
    h.fake.image = buffer.getvalue()  # the draft came back as a GIF
    draft, _ = h.generate("nano-banana-2", size="1K")
    outcome, row = h.generate("flux-2-pro", prompt=REFINED, parent_id=draft.id,
                              send_reference=True)
    assert outcome.status == "succeeded", outcome.error
    sent = h.fake.on("submit")[-1].json()["input"]["input_images"][0]
    assert sent.startswith("data:image/png;base64,")
    with Image.open(io.BytesIO(h.fake.references[-1])) as received:
        assert received.format == "PNG" and received.size == (300, 200)
    assert row.params["reference_images"][0]["converted"] == "converted from GIF to PNG"


def test_a_draft_over_the_data_uri_limit_is_shrunk_to_fit(make_harness) -> None:
    h = make_harness("replicate")
    noisy = Image.effect_noise((1400, 1000), 90).convert("RGB")  # does not compress
    buffer = io.BytesIO()
    noisy.save(buffer, format="PNG")
    assert len(buffer.getvalue()) > 1_000_000
    h.fake.image = buffer.getvalue()
    draft, _ = h.generate("nano-banana-2", size="1K")
    outcome, row = h.generate("flux-2-pro", prompt=REFINED, parent_id=draft.id,
                              send_reference=True)
    assert outcome.status == "succeeded", outcome.error
    recorded = row.params["reference_images"][0]
    assert recorded["bytes"] <= 1_000_000 and recorded["mime"] == "image/jpeg"
    assert len(h.fake.references[-1]) == recorded["bytes"]


def test_refine_load_opens_flux_with_shared_slots_and_the_production_slots_to_fill(
    make_harness,
) -> None:
    h = make_harness("bfl")
    slots = {"subject": "A woman", "action": "reading", "environment": "a park",
             "time_of_day": "late afternoon", "mood": ""}
    draft, _ = _draft(h, template_id="nano-banana-scene", slots=slots,
                      prompt="A woman reading in a park, late afternoon, photorealistic",
                      aspect_ratio="16:9")
    load = handoff.refine_load(h.wb, draft.id, "flux-2-pro")
    assert (load["model"], load["template_id"]) == ("flux-2-pro", "flux-photographic")
    assert load["slots"] == {
        "subject": "A woman reading", "environment": "in a park", "aspect_ratio": "16:9",
    }
    assert load["aspect_ratio"] == "16:9"
    refine = load["refine"]
    assert refine["parent_id"] == draft.id and refine["parent_model"] == "Nano Banana 2"
    assert refine["to_fill"] == ["lighting", "camera", "materials"]
    assert refine["left_behind"] == {"Time of day": "late afternoon"}


@pytest.mark.parametrize("provider", ["bfl", "replicate", "fal"])
def test_the_estimate_counts_the_reference_images_input_megapixels(
    make_harness, provider: str
) -> None:
    h = make_harness(provider)
    draft, stored = _draft(h)
    base = {"model": "flux-2-pro", "provider": provider, "prompt": REFINED, "size": "1MP"}
    without = generation.plan(h.wb, generation.parse_request({**base, "parent_id": draft.id}))
    with_ref = generation.plan(
        h.wb, generation.parse_request({**base, "parent_id": draft.id, "send_reference": True})
    )
    offer = with_ref.image_request.offer
    with Image.open(io.BytesIO(stored)) as image:
        input_mp = megapixels_sent(offer, image.width, image.height)
    assert 0.2 < input_mp < 1  # the offline sketch: 768 px on the long side
    assert with_ref.estimated_cost_usd == pytest.approx(
        without.estimated_cost_usd + input_mp * 0.015, abs=1e-6
    )
    assert any("input megapixels" in note for note in with_ref.warnings)


def test_an_image_made_from_a_reference_is_never_reused_for_one_without(make_harness) -> None:
    # "reuse an identical earlier request" must not hand back the text-only image
    h = make_harness("bfl")
    draft, _ = _draft(h)
    base = {"model": "flux-2-pro", "provider": "bfl", "prompt": REFINED, "seed": 7,
            "parent_id": draft.id}
    plain = generation.plan(h.wb, generation.parse_request(base))
    with_ref = generation.plan(h.wb, generation.parse_request({**base, "send_reference": True}))
    assert plain.request_hash and with_ref.request_hash
    assert plain.request_hash != with_ref.request_hash
