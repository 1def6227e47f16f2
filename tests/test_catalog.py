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


def test_megapixel_price_counts_extra_megapixels() -> None:
    flux = load_catalog().model("flux-2-pro")
    assert estimate_cost(flux, "bfl", "1:1", "1MP") == pytest.approx(0.03)
    assert estimate_cost(flux, "bfl", "1:1", "4MP") == pytest.approx(0.03 + 3 * 0.015)


def test_per_size_and_unknown_prices() -> None:
    catalog = load_catalog()
    assert estimate_cost(catalog.model("nano-banana-2"), "gemini", "1:1", "2K") == 0.101
    assert estimate_cost(catalog.model("flux-2-dev"), "fal", "1:1", "1MP") is None


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
