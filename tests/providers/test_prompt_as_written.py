"""The prompt sent is the prompt written, and the seed is sent where the API takes one: FLUX.2
prompt upsampling is off by default in each provider's documented field, a model option turns
it on and the choice is logged; a rewritten prompt the provider returns is stored; an offer
that cannot turn it off is said so; Nano Banana takes a best-effort seed on Gemini; BFL's
policy block on poll is a moderation outcome."""

from __future__ import annotations

import pytest

from workbench.domain.catalog import load_catalog, offer_notes, rewrites_always
from workbench.services.runs import generation

# (provider, model, documented field, its "keep my prompt" value), each from the catalog's
# cited source: BFL OpenAPI Flux2Inputs.disable_pup and Flux2FlexInputs.prompt_upsampling;
# replicate.com black-forest-labs/flux-2-flex/api prompt_upsampling; fal enable_prompt_expansion.
REWRITE_FIELDS = [
    ("bfl", "flux-2-pro", "disable_pup", True),
    ("bfl", "flux-2-max", "disable_pup", True),
    ("bfl", "flux-2-flex", "prompt_upsampling", False),
    ("replicate", "flux-2-flex", "prompt_upsampling", False),
    ("fal", "flux-2-flex", "enable_prompt_expansion", False),
]


def _body(h) -> dict:  # type: ignore[no-untyped-def]
    body = h.fake.on("submit")[-1].json()
    return body["input"] if h.provider == "replicate" else body


@pytest.mark.parametrize(("provider", "model", "field", "off"), REWRITE_FIELDS)
def test_flux2_is_sent_without_prompt_upsampling_and_the_option_turns_it_on(
    make_harness, provider, model, field, off
) -> None:
    h = make_harness(provider)
    outcome, row = h.generate(model)
    assert outcome.status == "succeeded", outcome.error
    assert _body(h)[field] is off
    assert row.params[field] is off  # the choice is in the logged params

    outcome, row = h.generate(model, options={"prompt_upsampling": True})
    assert outcome.status == "succeeded", outcome.error
    assert _body(h)[field] is (not off)
    assert row.params[field] is (not off)


@pytest.mark.parametrize(("provider", "model"), [("bfl", "flux-2-pro"), ("fal", "flux-2-flex")])
def test_a_rewritten_prompt_the_provider_returns_is_stored_beside_the_one_sent(
    make_harness, provider, model
) -> None:
    # BFL: result.prompt (blackforest responses.py); fal: the result's `prompt`
    h = make_harness(provider)
    h.fake.result_prompt = "A lighthouse on a cliff at dusk, dramatic clouds, golden rim light"
    _, row = h.generate(model, options={"prompt_upsampling": True})
    assert row.prompt.startswith("A lighthouse on a cliff at dusk, 35mm")
    assert row.prompt_used == h.fake.result_prompt

    h.fake.result_prompt = row.prompt  # no rewrite: nothing more to store
    _, again = h.generate(model)
    assert again.prompt_used is None


def test_fal_flux2_pro_cannot_turn_the_rewrite_off_and_the_plan_says_so(make_harness) -> None:
    h = make_harness("fal")
    model = load_catalog().model("flux-2-pro")
    offer = model.offer("fal")
    assert rewrites_always(offer)
    planned = generation.plan(h.wb, generation.parse_request(
        {"model": "flux-2-pro", "provider": "fal", "prompt": "a kite"}))
    assert any("no way to turn it off" in note for note in planned.notes)
    outcome, _ = h.generate("flux-2-pro")
    assert outcome.status == "succeeded", outcome.error
    assert not {"enable_prompt_expansion", "prompt_upsampling"} & set(_body(h))


def test_asking_a_rewrite_of_an_offer_without_one_sends_nothing(make_harness) -> None:
    h = make_harness("replicate")  # Replicate's FLUX.2 [dev] documents no prompt rewriting
    outcome, row = h.generate("flux-2-dev", options={"prompt_upsampling": True})
    assert (row.status, row.error_kind) == ("not_sent", "bad_request")
    assert "prompt_upsampling" in (outcome.error or "")
    assert h.fake.paid_submits == 0


def test_every_flux2_offer_that_documents_a_rewrite_names_its_source() -> None:
    for model in load_catalog().models:
        for offer in model.offers:
            if model.id in ("flux-2-pro", "flux-2-max", "flux-2-flex") and offer.provider != (
                "offline"
            ):
                assert offer.prompt_rewrite is not None, f"{model.id}/{offer.provider}"
                assert offer.prompt_rewrite.source


def test_nano_banana_on_gemini_sends_the_seed_and_records_it(make_harness) -> None:
    h = make_harness("gemini")
    seeds = []
    for _ in range(2):
        outcome, row = h.generate("nano-banana-2", seed=1234)
        assert outcome.status == "succeeded", outcome.error
        assert h.fake.on("submit")[-1].json()["generationConfig"]["seed"] == 1234
        seeds.append((row.seed, row.seed_returned, outcome.seed))
    assert seeds == [(1234, 1234, 1234)] * 2
    _, unseeded = h.generate("nano-banana-2")
    assert "seed" not in h.fake.on("submit")[-1].json()["generationConfig"]
    assert unseeded.seed_returned is None


def test_the_gemini_offers_take_a_best_effort_seed() -> None:
    for model_id in ("nano-banana", "nano-banana-2", "nano-banana-pro"):
        model = load_catalog().model(model_id)
        offer = model.offer("gemini")
        assert offer.accepts_seed and offer.seed_best_effort
        assert any("best-effort" in n for n in offer_notes(model, offer, {}))


def test_bfls_policy_block_on_poll_is_moderated(make_harness) -> None:
    # black-forest-labs/skills references/error-handling.md:
    # {"status": "Error", "error": "content_policy_violation"}
    h = make_harness("bfl")
    h.fake.final_status, h.fake.error = "Error", "content_policy_violation"
    _, row = h.generate()
    assert (row.status, row.error_kind) == ("moderated", "moderated")
    assert (row.cost_usd, row.cost_kind) == (pytest.approx(0.03), "known")
