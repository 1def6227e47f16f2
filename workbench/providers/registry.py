"""Discovers the provider adapters and builds one for a provider name: the only place that picks
a concrete adapter.

Every module of this package that declares a `DESCRIPTOR` (see `base.ProviderDescriptor`) is a
provider: adding one is one new module plus its offers in the catalog (docs/extending.md).
Discovery feeds the tables the rest of the workbench reads: the settings' key and base-URL
variables (`workbench.config`), the provider labels (`workbench.domain.catalog`), the runner's
default concurrency and the Status page. Building an adapter makes no network call; a hosted
provider without a key raises `ProviderError(kind="config")` naming the variable to set, and
`Workbench.open_provider` turns that into an attempt logged as failed.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable

from workbench import config
from workbench.domain import catalog as catalog_module
from workbench.domain.catalog import Catalog
from workbench.providers.base import Provider, ProviderDescriptor, ProviderError
from workbench.providers.http import HttpPolicy, Sleep, key_help

_NOT_ADAPTERS = frozenset(
    {"answers", "base", "downloads", "failures", "http", "jobs", "registry", "retries", "trust"}
)
_DESCRIPTORS: dict[str, ProviderDescriptor] = {}


def discover(paths: Iterable[str] | None = None, package: str = __package__ or "") -> None:
    """Import every adapter module of `package` (under `paths`, by default the package's own
    folder) and register its DESCRIPTOR; later registrations of a name replace earlier ones."""
    import workbench.providers as providers_package

    found = []
    for info in pkgutil.iter_modules(list(paths or providers_package.__path__)):
        if info.name in _NOT_ADAPTERS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        descriptor = getattr(module, "DESCRIPTOR", None)
        if isinstance(descriptor, ProviderDescriptor):
            found.append(descriptor)
    for descriptor in sorted(found, key=lambda d: (d.position, d.name)):
        register(descriptor)


def register(descriptor: ProviderDescriptor) -> None:
    """Make a provider known, and feed the settings and label tables derived from it."""
    _DESCRIPTORS[descriptor.name] = descriptor
    catalog_module.PROVIDER_LABELS[descriptor.name] = descriptor.label
    if descriptor.hosted:
        config.KEY_VARIABLES[descriptor.name] = descriptor.key_variables
        if descriptor.base_url_variable and descriptor.default_base_url:
            config.BASE_URL_VARIABLES[descriptor.name] = descriptor.base_url_variable
            config.DEFAULT_BASE_URLS[descriptor.name] = descriptor.default_base_url


def forget(name: str) -> None:
    """Undo `register` (for tests that add a throwaway provider)."""
    _DESCRIPTORS.pop(name, None)
    for table in (
        catalog_module.PROVIDER_LABELS,
        config.KEY_VARIABLES,
        config.BASE_URL_VARIABLES,
        config.DEFAULT_BASE_URLS,
    ):
        table.pop(name, None)


def descriptors() -> dict[str, ProviderDescriptor]:
    return dict(_DESCRIPTORS)


def descriptor(name: str) -> ProviderDescriptor:
    found = _DESCRIPTORS.get(name)
    if found is None:
        known = ", ".join(_DESCRIPTORS)
        raise ProviderError("config", f"Unknown provider '{name}'. Known providers: {known}.")
    return found


def provider_label(name: str) -> str:
    found = _DESCRIPTORS.get(name)
    return found.label if found else name


def default_concurrency() -> dict[str, int]:
    return {name: d.default_concurrency for name, d in _DESCRIPTORS.items()}


def check_catalog(catalog: Catalog) -> list[str]:
    """Problems with the catalog's offers that only the registry can see: providers nobody
    implements, and confirmed prices that do not cite the provider's own pages."""
    problems = []
    for model in catalog.models:
        for offer in model.offers:
            known = _DESCRIPTORS.get(offer.provider)
            if known is None:
                problems.append(f"{model.id}: no adapter serves provider '{offer.provider}'")
            elif offer.price_confirmed and not offer.price_url.startswith(known.first_party):
                problems.append(
                    f"{model.id}/{offer.provider}: a confirmed price must cite "
                    f"{known.label}'s own pages, not {offer.price_url}"
                )
    return problems


def missing_key_message(name: str) -> str:
    return f"No key for {provider_label(name)}: {key_help(name)}, then try again."


def build_provider(
    name: str,
    settings: config.Settings,
    *,
    policy: HttpPolicy | None = None,
    sleep: Sleep | None = None,
) -> Provider:
    found = descriptor(name)
    if not found.hosted:
        provider: Provider = found.adapter()
        return provider
    key = settings.key(name)
    if not key:
        raise ProviderError("config", missing_key_message(name))
    hosted: Provider = found.adapter(
        key=key,
        base_url=settings.base_url(name),
        policy=policy or HttpPolicy.from_env(),
        sleep=sleep,
        api_hosts=found.api_hosts,
    )
    return hosted


discover()
