"""The model catalog: models, families, the providers that serve them, their ids and prices.

Loaded from `workbench/domain/data/catalog.toml` and validated by pydantic, so adding a model or a
provider offer is a data change. Every model is also served by the `offline` sketch renderer
(cost 0, labelled "no model"), which needs no key. Pure domain code: no I/O beyond reading the
data file, no streamlit, httpx or duckdb.
"""

from __future__ import annotations

import math
import tomllib
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workbench.errors import InvalidInput

CATALOG_FILE = Path(__file__).parent / "data" / "catalog.toml"
OFFLINE = "offline"
PROVIDERS: tuple[str, ...] = ("gemini", "bfl", "replicate", "fal", OFFLINE)
PROVIDER_LABELS: dict[str, str] = {
    "gemini": "Google Gemini API",
    "bfl": "Black Forest Labs API",
    "replicate": "Replicate",
    "fal": "fal.ai",
    OFFLINE: "Offline sketch (no model)",
}
Family = Literal["nano-banana", "flux"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FlatPrice(_Strict):
    kind: Literal["flat"]
    usd: float = Field(ge=0)

    def estimate(self, size: str, megapixels: float) -> float | None:
        return self.usd


class PerSizePrice(_Strict):
    kind: Literal["per_size"]
    usd: dict[str, float]

    def estimate(self, size: str, megapixels: float) -> float | None:
        return self.usd.get(size)


class MegapixelPrice(_Strict):
    kind: Literal["megapixel"]
    first_mp_usd: float = Field(ge=0)
    extra_mp_usd: float = Field(ge=0)
    round_up: bool = False

    def estimate(self, size: str, megapixels: float) -> float | None:
        mp = math.ceil(megapixels - 1e-9) if self.round_up else megapixels
        return round(self.first_mp_usd + max(mp - 1.0, 0.0) * self.extra_mp_usd, 6)


class UnknownPrice(_Strict):
    kind: Literal["unknown"]

    def estimate(self, size: str, megapixels: float) -> float | None:
        return None


Price = Annotated[
    FlatPrice | PerSizePrice | MegapixelPrice | UnknownPrice, Field(discriminator="kind")
]


class Offer(_Strict):
    """One provider serving one model."""

    provider: Literal["gemini", "bfl", "replicate", "fal", "offline"]
    model_id: str = Field(min_length=1)
    fallback_ids: tuple[str, ...] = ()
    accepts_seed: bool = True
    price: Price
    price_source: str = ""
    price_confirmed: bool = True
    # Token-billed providers (Gemini) report the image tokens charged; cost = tokens x this.
    image_token_usd_per_million: float | None = Field(default=None, ge=0)


class ModelSpec(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    name: str
    family: Family
    vendor: str
    summary: str = ""
    default_template: str
    aspect_ratios: tuple[str, ...] = Field(min_length=1)
    default_aspect_ratio: str
    sizes: tuple[str, ...] = Field(min_length=1)
    default_size: str
    offers: tuple[Offer, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> ModelSpec:
        for ratio in self.aspect_ratios:
            parse_ratio(ratio)
        if self.default_aspect_ratio not in self.aspect_ratios:
            raise ValueError(f"{self.id}: default aspect ratio not among its aspect ratios")
        if self.default_size not in self.sizes:
            raise ValueError(f"{self.id}: default size not among its sizes")
        providers = [o.provider for o in self.offers]
        if len(providers) != len(set(providers)):
            raise ValueError(f"{self.id}: a provider is listed twice")
        for offer in self.offers:
            if isinstance(offer.price, PerSizePrice) and set(self.sizes) - set(offer.price.usd):
                raise ValueError(f"{self.id}/{offer.provider}: a size has no price")
        return self

    def offer(self, provider: str) -> Offer:
        for offer in self.offers:
            if offer.provider == provider:
                return offer
        raise UnknownProvider(f"{self.name} is not served by provider '{provider}'")

    @property
    def providers(self) -> tuple[str, ...]:
        return tuple(o.provider for o in self.offers)


class Catalog(_Strict):
    models: tuple[ModelSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Catalog:
        ids = [m.id for m in self.models]
        if len(ids) != len(set(ids)):
            raise ValueError("duplicate model id in catalog")
        return self

    def model(self, model_id: str) -> ModelSpec:
        for model in self.models:
            if model.id == model_id:
                return model
        known = ", ".join(m.id for m in self.models)
        raise UnknownModel(f"Unknown model '{model_id}'. Known models: {known}")

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.models)


class CatalogError(InvalidInput):
    """A model, provider or parameter the catalog does not know."""


class UnknownModel(CatalogError):
    pass


class UnknownProvider(CatalogError):
    pass


def _with_offline(model: dict[str, Any]) -> dict[str, Any]:
    offers = list(model.get("offers", []))
    if not any(o.get("provider") == OFFLINE for o in offers):
        offers.append(
            {
                "provider": OFFLINE,
                "model_id": "sketch",
                "price": {"kind": "flat", "usd": 0.0},
                "price_source": "local renderer, no model",
            }
        )
    return {**model, "offers": offers}


def parse_catalog(data: dict[str, Any]) -> Catalog:
    models = [_with_offline(m) for m in data.get("models", [])]
    return Catalog.model_validate({"models": models})


@cache
def load_catalog(path: Path = CATALOG_FILE) -> Catalog:
    with path.open("rb") as fh:
        return parse_catalog(tomllib.load(fh))


def parse_ratio(ratio: str) -> tuple[int, int]:
    parts = ratio.split(":")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise CatalogError(f"'{ratio}' is not an aspect ratio like 16:9")
    return int(parts[0]), int(parts[1])


MEGAPIXEL = 1024 * 1024  # providers price "1 MP" at 1024 x 1024


def megapixels_of(size: str) -> float:
    """Megapixels (of 1024 x 1024) of a size tier: '1MP' -> 1.0, '2K' -> 4.0, '512' -> 0.25."""
    if size.endswith("MP"):
        try:
            return float(size[:-2])
        except ValueError:
            raise CatalogError(f"Unknown size '{size}'") from None
    side = {"512": 512, "1K": 1024, "2K": 2048, "4K": 4096}.get(size)
    if side is None:
        raise CatalogError(f"Unknown size '{size}'")
    return side * side / MEGAPIXEL


def dimensions(ratio: str, size: str, multiple: int = 16) -> tuple[int, int]:
    """Width and height for an aspect ratio at a size tier, in multiples of `multiple`,
    never above the tier's pixel budget."""
    w_ratio, h_ratio = parse_ratio(ratio)
    budget = megapixels_of(size) * MEGAPIXEL
    scale = math.sqrt(budget / (w_ratio * h_ratio))
    width = max(multiple, int(w_ratio * scale) // multiple * multiple)
    height = max(multiple, int(h_ratio * scale) // multiple * multiple)
    return width, height


def estimate_cost(model: ModelSpec, provider: str, aspect_ratio: str, size: str) -> float | None:
    """Catalog price for one image, or None when no source gives one."""
    offer = model.offer(provider)
    width, height = dimensions(aspect_ratio, size)
    return offer.price.estimate(size, width * height / MEGAPIXEL)
