"""The model catalog: the providers, the models, the offers of one provider for one model, their
ids and prices.

Loaded from `workbench/domain/data/catalog.toml` and validated by pydantic, so adding a model, an
offer or a provider's description is a data change (a provider also needs its adapter module,
named in its `adapter`; docs/extending.md). Every model is also served by the `offline` sketch
renderer (cost 0, labelled "no model"), which needs no key. The provider tables the settings and
pages read (`PROVIDER_LABELS` here, the key and base-URL variables in `workbench.config`) are
views of the `[[providers]]` entries, read on first use. Pure domain code: no I/O beyond reading
the data file, no streamlit, httpx or duckdb.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workbench.errors import InvalidInput

CATALOG_FILE = Path(__file__).parent / "data" / "catalog.toml"
OFFLINE = "offline"
_V = TypeVar("_V")
Family = Literal["nano-banana", "flux"]
# How a model's request looks on the wire, whoever serves it; adapters branch on this, never on
# a model id, so a new model of an existing shape is one catalog entry (docs/extending.md).
Shape = Literal["nano-banana", "flux-2", "flux-2-dev", "flux-ultra"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderSpec(_Strict):
    """A provider as the rest of the workbench knows it (one `[[providers]]` entry): its settings,
    where its key may go, its runner default, and the adapter that speaks its API, imported
    only when the provider is built (`providers.registry`)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")  # as the offers and the log name it
    label: str = Field(min_length=1)  # for people
    adapter: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")  # "module:Class"
    key_variables: tuple[str, ...] = ()  # environment / secrets.toml names, preferred first
    base_url_variable: str | None = None
    default_base_url: str | None = None
    api_hosts: tuple[str, ...] = ()  # hosts whose URLs may carry the key; `*` is one label
    default_concurrency: int = Field(default=4, ge=1)
    first_party: tuple[str, ...] = ()  # pages a confirmed price may cite
    position: int = 50  # where it is listed (pickers, the Status page): lower comes first

    @property
    def hosted(self) -> bool:
        return bool(self.key_variables)


@cache
def _provider_specs(path: Path) -> dict[str, ProviderSpec]:
    with path.open("rb") as fh:
        entries = tomllib.load(fh).get("providers", [])
    specs = sorted(
        (ProviderSpec.model_validate(entry) for entry in entries),
        key=lambda spec: (spec.position, spec.name),
    )
    return {spec.name: spec for spec in specs}


def provider_specs() -> dict[str, ProviderSpec]:
    """Every provider of the catalog file, in listing order."""
    return dict(_provider_specs(CATALOG_FILE))


class ProviderView(Mapping[str, _V]):
    """A read-only table of one field of every provider (name -> value), read from the catalog
    on first use; providers whose field is empty are left out."""

    def __init__(self, pick: Callable[[ProviderSpec], _V | None]) -> None:
        self._pick = pick

    def _table(self) -> dict[str, _V]:
        picked = ((name, self._pick(spec)) for name, spec in provider_specs().items())
        return {name: value for name, value in picked if value is not None}

    def __getitem__(self, name: str) -> _V:
        return self._table()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


PROVIDER_LABELS: ProviderView[str] = ProviderView(lambda spec: spec.label)


class FlatPrice(_Strict):
    kind: Literal["flat"]
    usd: float = Field(ge=0)

    def estimate(self, size: str, megapixels: float, input_mp: float = 0.0) -> float | None:
        return self.usd


class PerSizePrice(_Strict):
    kind: Literal["per_size"]
    usd: dict[str, float]

    def estimate(self, size: str, megapixels: float, input_mp: float = 0.0) -> float | None:
        return self.usd.get(size)


class MegapixelPrice(_Strict):
    kind: Literal["megapixel"]
    first_mp_usd: float = Field(ge=0)
    extra_mp_usd: float = Field(ge=0)
    round_up: bool = False
    # Dollars per megapixel of reference images sent with the request, where the provider
    # bills them (BFL FLUX.2: "input MP" at the extra-MP rate); None: input is not billed.
    input_mp_usd: float | None = Field(default=None, ge=0)

    def _mp(self, megapixels: float) -> float:
        return math.ceil(megapixels - 1e-9) if self.round_up else megapixels

    def estimate(self, size: str, megapixels: float, input_mp: float = 0.0) -> float | None:
        cost = self.first_mp_usd + max(self._mp(megapixels) - 1.0, 0.0) * self.extra_mp_usd
        return round(cost + self.input_cost(input_mp), 6)

    def input_cost(self, input_mp: float) -> float:
        if self.input_mp_usd is None or input_mp <= 0:
            return 0.0
        return self._mp(input_mp) * self.input_mp_usd


class UnknownPrice(_Strict):
    kind: Literal["unknown"]

    def estimate(self, size: str, megapixels: float, input_mp: float = 0.0) -> float | None:
        return None


Price = Annotated[
    FlatPrice | PerSizePrice | MegapixelPrice | UnknownPrice, Field(discriminator="kind")
]


class TokenPrices(_Strict):
    """Dollars per million billed tokens, by price class (token-billed providers: Gemini)."""

    input: float = Field(ge=0)
    text_output: float = Field(ge=0)  # answer text and thinking
    image_output: float = Field(ge=0)


class TokenLimits(_Strict):
    """The most tokens one request can bill, as the provider documents them (token-billed
    offers: Gemini). With `TokenPrices` they give the most one image can cost, which is what
    the workbench reserves against the daily caps and a run's budget before sending."""

    image_output: int = Field(gt=0)  # image tokens of the one image asked for, at most
    output: int = Field(gt=0)  # every output token of a request (image, text, thinking)
    input: int = Field(gt=0)  # every input token of a request (text and reference images)
    source: str = Field(min_length=1)  # where each figure is documented


class CustomSize(_Strict):
    """Explicit width x height a provider takes for ratios its own list lacks."""

    min_side: int = Field(gt=0)
    max_side: int = Field(gt=0)
    multiple: int = Field(default=16, gt=0)


PriceConfidence = Literal["known", "estimated", "unknown"]
IMAGE_FORMATS = ("image/jpeg", "image/png", "image/webp")


class ReferenceInput(_Strict):
    """How one provider takes reference images for one model (docs/providers.md, "Reference
    images"). An offer without it takes none, and says so before anything is sent."""

    max_images: int = Field(ge=1)
    formats: tuple[str, ...] = IMAGE_FORMATS  # MIME types it documents; others are converted
    max_mp: float | None = Field(default=None, gt=0)  # larger images are downscaled to this
    max_bytes: int | None = Field(default=None, gt=0)  # per image as sent; shrunk to fit
    model_id: str = ""  # the endpoint that takes references when not the offer's (fal's /edit)
    source: str = Field(min_length=1)  # where the field, count and limits are documented


class PromptRewrite(_Strict):
    """How one provider's prompt rewriting ("upsampling", "expansion", "enhancement") is
    controlled for one model: the workbench sends `field` = `off` unless the user lets the
    provider rewrite the prompt (the model option `prompt_upsampling`). An empty `field` means
    the provider documents a rewrite and no way to turn it off; the Build page says so."""

    field: str = ""  # the input that turns the rewrite on or off; "" = it cannot be turned off
    off: bool = False  # the value of `field` that keeps the prompt as written
    default_on: bool = True  # the provider rewrites when the field is not sent
    source: str = Field(min_length=1)  # where the field and its default are documented


class Offer(_Strict):
    """One provider serving one model: its id there, what it accepts and what it costs."""

    provider: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    model_id: str = Field(min_length=1)
    fallback_ids: tuple[str, ...] = ()
    accepts_seed: bool = True
    # The provider takes a seed but documents determinism as best effort (Gemini's
    # `GenerateContentConfig.seed`): the same seed may still give another image.
    seed_best_effort: bool = False
    price: Price
    price_source: str = ""
    price_url: str = ""  # the page the price was read on (first-party when confirmed)
    price_confirmed: bool = False
    token_usd_per_million: TokenPrices | None = None
    # What the provider accepts; empty = everything the model lists.
    aspect_ratios: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    custom_size: CustomSize | None = None  # other ratios of the model go as width x height
    megapixel_unit: Literal["binary", "decimal"] = "binary"  # 1 MP = 1024^2 or 10^6 pixels
    pixel_multiple: int = Field(default=16, gt=0)  # width/height step when sent as pixels
    reference: ReferenceInput | None = None  # None: this offer takes no reference image
    prompt_rewrite: PromptRewrite | None = None  # None: the provider documents no rewrite
    # The most megapixels (10^6 pixels) one image of this offer may have, where the provider
    # documents it; None: the model's largest size tier with headroom (providers.jobs).
    max_output_mp: float | None = Field(default=None, gt=0)
    # Dollars per second of run time where the provider bills time (Replicate: "you pay for the
    # time the prediction ran"): prices a job stopped after it started; None: not published.
    usd_per_second: float | None = Field(default=None, ge=0)
    most_tokens: TokenLimits | None = None  # token-billed offers: the documented maxima

    @model_validator(mode="after")
    def _sourced(self) -> Offer:
        if self.price_confirmed and not self.price_url.startswith("https://"):
            raise ValueError(
                f"{self.provider}/{self.model_id}: a confirmed price must name its first-party "
                "page in price_url"
            )
        if not self.price_source.strip():
            raise ValueError(f"{self.provider}/{self.model_id}: price_source must say where the "
                             "price comes from (or why it is unknown)")
        return self

    @property
    def price_confidence(self) -> PriceConfidence:
        if isinstance(self.price, UnknownPrice):
            return "unknown"
        return "known" if self.price_confirmed else "estimated"


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
    shape: Shape | None = None  # default: "nano-banana" or "flux-2" from the family
    options: str = ""  # the option set it takes (model_options.OPTION_SETS), "" for none
    typical_seconds: float = Field(default=15.0, gt=0)  # until the log has measurements
    offers: tuple[Offer, ...] = ()

    @property
    def wire_shape(self) -> Shape:
        if self.shape is not None:
            return self.shape
        return "nano-banana" if self.family == "nano-banana" else "flux-2"

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
            sizes = offer.sizes or self.sizes
            if isinstance(offer.price, PerSizePrice) and set(sizes) - set(offer.price.usd):
                raise ValueError(f"{self.id}/{offer.provider}: a size has no price")
            if set(offer.aspect_ratios) - set(self.aspect_ratios):
                raise ValueError(f"{self.id}/{offer.provider}: a ratio the model does not list")
            if set(offer.sizes) - set(self.sizes):
                raise ValueError(f"{self.id}/{offer.provider}: a size the model does not list")
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
    providers: tuple[ProviderSpec, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> Catalog:
        ids = [m.id for m in self.models]
        if len(ids) != len(set(ids)):
            raise ValueError("duplicate model id in catalog")
        names = [p.name for p in self.providers]
        if len(names) != len(set(names)):
            raise ValueError("duplicate provider name in catalog")
        return self

    @model_validator(mode="after")
    def _served(self) -> Catalog:
        """Every offer names a provider of the catalog, and a confirmed price cites that
        provider's own pages."""
        known = {p.name: p for p in self.providers}
        for model in self.models:
            for offer in model.offers:
                provider = known.get(offer.provider)
                if provider is None:
                    raise ValueError(f"{model.id}: no provider '{offer.provider}' in the catalog")
                if offer.price_confirmed and not offer.price_url.startswith(
                    provider.first_party
                ):
                    raise ValueError(
                        f"{model.id}/{offer.provider}: a confirmed price must cite "
                        f"{provider.label}'s own pages, not {offer.price_url}"
                    )
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
                "price_url": "https://localhost/offline",
                "price_confirmed": True,
                "reference": {
                    "max_images": 14,
                    "max_mp": 4.0,
                    "source": "local renderer: checks and records the reference, draws none of it",
                },
            }
        )
    return {**model, "offers": offers}


def parse_catalog(data: dict[str, Any]) -> Catalog:
    """A catalog from TOML data; without a `providers` table, the catalog file's providers."""
    models = [_with_offline(m) for m in data.get("models", [])]
    providers = data.get("providers")
    if providers is None:
        providers = list(provider_specs().values())
    return Catalog.model_validate({"models": models, "providers": providers})


def load_catalog(path: Path | None = None) -> Catalog:
    return _load_catalog(path or CATALOG_FILE)


@cache
def _load_catalog(path: Path) -> Catalog:
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


@dataclass(frozen=True)
class WireSize:
    """How an aspect ratio at a size tier goes to one provider."""

    width: int
    height: int
    custom: bool  # sent as explicit width x height because the provider's ratio list lacks it


def accepts_ratio(offer: Offer, ratio: str) -> bool:
    return not offer.aspect_ratios or ratio in offer.aspect_ratios


def ratios_for(model: ModelSpec, provider: str) -> tuple[str, ...]:
    """The model's aspect ratios this provider can make: its own list, plus every other ratio
    of the model when it takes an explicit width x height."""
    offer = model.offer(provider)
    if offer.custom_size is not None:
        return model.aspect_ratios
    return tuple(r for r in model.aspect_ratios if accepts_ratio(offer, r))


def sizes_for(model: ModelSpec, provider: str) -> tuple[str, ...]:
    offer = model.offer(provider)
    return tuple(s for s in model.sizes if not offer.sizes or s in offer.sizes)


def providers_for(model: ModelSpec, ratio: str, size: str) -> tuple[str, ...]:
    return tuple(
        p for p in model.providers if ratio in ratios_for(model, p) and size in sizes_for(model, p)
    )


def wire_size(model: ModelSpec, provider: str, ratio: str, size: str) -> WireSize:
    """Width and height as sent: the tier's pixel budget at the ratio, in the provider's pixel
    step; a custom size is kept within the provider's side limits, ratio preserved."""
    offer = model.offer(provider)
    custom = not accepts_ratio(offer, ratio) and offer.custom_size is not None
    multiple = offer.custom_size.multiple if custom and offer.custom_size else offer.pixel_multiple
    width, height = dimensions(ratio, size, multiple)
    if custom and offer.custom_size is not None:
        limits = offer.custom_size
        shrink = min(1.0, limits.max_side / max(width, height))
        width = _snap(width * shrink, multiple, limits.min_side, limits.max_side)
        height = _snap(height * shrink, multiple, limits.min_side, limits.max_side)
    return WireSize(width, height, custom)


def _snap(value: float, multiple: int, low: int, high: int) -> int:
    snapped = round(value / multiple) * multiple
    return max(low, min(high // multiple * multiple, snapped))


def megapixels_sent(offer: Offer, width: int, height: int) -> float:
    """Megapixels in the provider's own unit (BFL counts 10^6 pixels, most count 1024^2)."""
    return width * height / (1_000_000 if offer.megapixel_unit == "decimal" else MEGAPIXEL)


def estimate_cost(
    model: ModelSpec, provider: str, aspect_ratio: str, size: str, input_mp: float = 0.0
) -> float | None:
    """Catalog price for one image at the size actually sent, plus the reference images'
    `input_mp` (in the offer's megapixel unit) where the provider bills input; None when no
    source gives a price."""
    offer = model.offer(provider)
    sent = wire_size(model, provider, aspect_ratio, size)
    return offer.price.estimate(size, megapixels_sent(offer, sent.width, sent.height), input_mp)


def bills_input(offer: Offer) -> bool:
    """Whether the offer's price counts the megapixels of reference images."""
    return isinstance(offer.price, MegapixelPrice) and offer.price.input_mp_usd is not None


REWRITE_OPTION = "prompt_upsampling"  # the model option that lets the provider rewrite


def rewrite_params(offer: Offer, allowed: bool | None) -> dict[str, bool]:
    """The input that keeps the prompt as written (or, with `allowed`, lets the provider
    rewrite it) for this offer; {} when the provider documents no rewrite or no way to turn it
    off. Raises CatalogError when a rewrite is asked of an offer that documents none."""
    spec = offer.prompt_rewrite
    if spec is None:
        if allowed:
            raise CatalogError(
                f"{offer.provider} documents no prompt rewriting for {offer.model_id}; "
                f"leave '{REWRITE_OPTION}' off for it."
            )
        return {}
    if not spec.field:
        return {}
    return {spec.field: (not spec.off) if allowed else spec.off}


def rewrites_always(offer: Offer) -> bool:
    """Whether the provider rewrites every prompt for this offer with no way to turn it off."""
    return offer.prompt_rewrite is not None and not offer.prompt_rewrite.field


def offer_notes(model: ModelSpec, offer: Offer, options: dict[str, Any]) -> tuple[str, ...]:
    """What a person should know about how this offer treats the prompt and the seed, for the
    Build page and the run's notes: a rewrite that cannot be turned off, one the user allowed,
    and a seed that is only best effort."""
    label = PROVIDER_LABELS.get(offer.provider, offer.provider)
    notes = []
    if rewrites_always(offer):
        notes.append(
            f"{label} may rewrite the prompt for {model.name} (prompt upsampling) and offers no "
            "way to turn it off: the image may not come from the prompt as written."
        )
    elif options.get(REWRITE_OPTION) and offer.prompt_rewrite is not None:
        notes.append(
            f"{label} may rewrite the prompt for {model.name} (you allowed prompt upsampling)."
        )
    if offer.accepts_seed and offer.seed_best_effort:
        notes.append(
            f"{label} takes a seed for {model.name} on a best-effort basis: the same seed may "
            "still give a different image."
        )
    return tuple(notes)
