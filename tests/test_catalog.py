"""The model catalog data file and its rules."""

import pytest
from pydantic import ValidationError

from workbench.domain.catalog import (
    OFFLINE,
    CatalogError,
    UnknownModel,
    dimensions,
    estimate_cost,
    load_catalog,
    parse_catalog,
    providers_for,
    ratios_for,
    sizes_for,
    wire_size,
)

EXPECTED_IDS = {
    "nano-banana",
    "nano-banana-2",
    "nano-banana-pro",
    "flux-2-pro",
    "flux-2-max",
    "flux-2-flex",
    "flux-2-dev",
    "flux-1.1-pro-ultra",
}


def test_every_model_of_the_seed_is_in_the_catalog() -> None:
    catalog = load_catalog()
    assert set(catalog.ids) == EXPECTED_IDS
    assert {m.family for m in catalog.models} == {"nano-banana", "flux"}


def test_every_model_is_served_offline_for_free_and_by_a_hosted_provider() -> None:
    for model in load_catalog().models:
        assert OFFLINE in model.providers
        assert model.offer(OFFLINE).price.estimate(model.default_size, 1.0) == 0.0
        assert set(model.providers) - {OFFLINE}, model.id


def test_provider_model_ids_follow_the_wire_reference() -> None:
    catalog = load_catalog()
    assert catalog.model("nano-banana-2").offer("gemini").model_id == "gemini-3.1-flash-image"
    assert (
        "gemini-3.1-flash-image-preview"
        in catalog.model("nano-banana-2").offer("gemini").fallback_ids
    )
    assert catalog.model("flux-1.1-pro-ultra").offer("bfl").model_id == "flux-pro-1.1-ultra"
    assert "bfl" not in catalog.model("flux-2-dev").providers  # BFL's API does not serve dev
    assert catalog.model("flux-2-dev").offer("replicate").model_id == "black-forest-labs/flux-2-dev"


def test_unknown_model_names_the_known_ones() -> None:
    with pytest.raises(UnknownModel, match="nano-banana-2"):
        load_catalog().model("dall-e")


def test_a_provider_that_does_not_serve_a_model_is_refused() -> None:
    with pytest.raises(CatalogError, match="not served"):
        load_catalog().model("flux-2-dev").offer("gemini")


@pytest.mark.parametrize(
    ("ratio", "size"), [("16:9", "1MP"), ("9:21", "4MP"), ("1:1", "0.5MP"), ("21:9", "2K")]
)
def test_dimensions_are_multiples_of_16_within_the_pixel_budget(ratio: str, size: str) -> None:
    width, height = dimensions(ratio, size)
    assert width % 16 == 0 and height % 16 == 0
    budget = {"1MP": 1, "4MP": 4, "0.5MP": 0.5, "2K": 4}[size] * 1024 * 1024
    assert width * height <= budget
    assert width * height > budget * 0.9
    w, h = (int(x) for x in ratio.split(":"))
    assert abs(width / height - w / h) < 0.05


def test_megapixel_price_counts_extra_megapixels_in_the_providers_unit() -> None:
    flux = load_catalog().model("flux-2-pro")
    # BFL counts decimal megapixels: 1024 x 1024 is 1.048576 MP there
    assert estimate_cost(flux, "bfl", "1:1", "1MP") == pytest.approx(0.030729)  # 6 places
    assert estimate_cost(flux, "bfl", "1:1", "4MP") == pytest.approx(
        0.03 + (4 * 1.048576 - 1) * 0.015, abs=1e-6
    )
    # Replicate's per-MP estimate uses 1024^2 pixels per MP
    assert estimate_cost(flux, "replicate", "1:1", "4MP") == pytest.approx(0.03 + 3 * 0.015)


def test_per_size_and_unknown_prices() -> None:
    catalog = load_catalog()
    assert estimate_cost(catalog.model("nano-banana-2"), "gemini", "1:1", "2K") == 0.101
    assert estimate_cost(catalog.model("flux-2-dev"), "replicate", "1:1", "1MP") is None
    assert estimate_cost(catalog.model("flux-2-dev"), "fal", "1:1", "1MP") == pytest.approx(0.012)


def test_every_offer_has_a_price_or_a_visible_unknown_with_a_reason() -> None:
    for model in load_catalog().models:
        for offer in model.offers:
            assert offer.price_source.strip(), (model.id, offer.provider)
            if offer.price_confidence == "unknown":
                assert "unknown" in offer.price_source.lower(), (model.id, offer.provider)
            else:
                size = model.default_size
                cost = estimate_cost(model, offer.provider, model.default_aspect_ratio, size)
                assert cost is not None, (model.id, offer.provider)


def test_a_confirmed_price_must_name_its_first_party_page() -> None:
    offer = {"provider": "bfl", "model_id": "x", "price": {"kind": "flat", "usd": 0.1},
             "price_source": "a blog", "price_confirmed": True}
    with pytest.raises(ValidationError, match="first-party"):
        parse_catalog({"models": [_model(offers=[offer])]})


def test_the_quoted_prices_of_the_audit() -> None:
    catalog = load_catalog()
    dev = catalog.model("flux-2-dev").offer("fal")
    assert (dev.price_confidence, dev.price.estimate("1MP", 2.0)) == ("estimated", 0.024)
    pro = catalog.model("nano-banana-pro").offer("fal")
    assert pro.price_confidence == "known" and pro.price_url.startswith("https://fal.ai/")
    assert (pro.price.estimate("1K", 1), pro.price.estimate("4K", 16)) == (0.15, 0.30)


def test_replicate_flux2_lacks_21_9_but_reaches_it_by_a_custom_size() -> None:
    pro = load_catalog().model("flux-2-pro")
    assert "21:9" in ratios_for(pro, "replicate")
    sent = wire_size(pro, "replicate", "21:9", "4MP")
    assert sent.custom and (sent.width, sent.height) == (2048, 864)
    assert sent.width % 32 == 0 and sent.height % 32 == 0
    assert not wire_size(pro, "replicate", "16:9", "1MP").custom
    assert not wire_size(pro, "bfl", "21:9", "1MP").custom


def test_ratios_for_offers_only_what_the_provider_can_make() -> None:
    nb2 = load_catalog().model("nano-banana-2")
    assert "512" not in sizes_for(nb2, "replicate")
    assert "512" in sizes_for(nb2, "fal")
    assert providers_for(nb2, "1:1", "512") == ("gemini", "fal", "offline")


def _model(**overrides: object) -> dict:
    base = {
        "id": "m",
        "name": "M",
        "family": "flux",
        "vendor": "V",
        "default_template": "t",
        "aspect_ratios": ["1:1"],
        "default_aspect_ratio": "1:1",
        "sizes": ["1MP"],
        "default_size": "1MP",
        "offers": [],
    }
    return {**base, **overrides}


@pytest.mark.parametrize(
    "bad",
    [
        {"models": [_model(), _model()]},
        {"models": [_model(default_aspect_ratio="16:9")]},
        {"models": [_model(aspect_ratios=["wide"], default_aspect_ratio="wide")]},
        {"models": [_model(colour="blue")]},
        {
            "models": [
                _model(
                    offers=[
                        {"provider": "openai", "model_id": "x", "price": {"kind": "flat", "usd": 1}}
                    ]
                )
            ]
        },
        {
            "models": [
                _model(
                    offers=[
                        {"provider": "bfl", "model_id": "x", "price": {"kind": "flat", "usd": -1}}
                    ]
                )
            ]
        },
        {
            "models": [
                _model(
                    sizes=["1K", "2K"],
                    default_size="1K",
                    offers=[
                        {
                            "provider": "gemini",
                            "model_id": "x",
                            "price": {"kind": "per_size", "usd": {"1K": 0.1}},
                        }
                    ],
                )
            ]
        },
    ],
)
def test_invalid_catalog_data_is_rejected(bad: dict) -> None:
    with pytest.raises((ValidationError, ValueError)):
        parse_catalog(bad)
