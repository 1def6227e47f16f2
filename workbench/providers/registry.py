"""Builds the adapter for a provider name: the only place that picks a concrete adapter.

Providers are data: each `[[providers]]` entry of the catalog (`catalog.ProviderSpec`) names its
adapter as `module:Class`, imported here only when that provider is built, so a process that
never generates never imports httpx or an adapter. The settings' key and base-URL variables,
the provider labels, the runner's default concurrency and the Status page read the same
entries (docs/extending.md). Building an adapter makes no network call; a hosted provider
without a key raises `ProviderError(kind="config")` naming the variable to set, and
`Workbench.open_provider` turns that into an attempt logged as failed.
"""

from __future__ import annotations

import importlib

from workbench import config
from workbench.domain.catalog import ProviderSpec, provider_specs
from workbench.providers.base import Provider, ProviderError
from workbench.providers.http import HttpPolicy, Sleep, key_help


def descriptors() -> dict[str, ProviderSpec]:
    return provider_specs()


def descriptor(name: str) -> ProviderSpec:
    found = provider_specs().get(name)
    if found is None:
        known = ", ".join(provider_specs())
        raise ProviderError("config", f"Unknown provider '{name}'. Known providers: {known}.")
    return found


def provider_label(name: str) -> str:
    found = provider_specs().get(name)
    return found.label if found else name


def default_concurrency() -> dict[str, int]:
    return {name: spec.default_concurrency for name, spec in provider_specs().items()}


def missing_key_message(name: str) -> str:
    return f"No key for {provider_label(name)}: {key_help(name)}, then try again."


def adapter_class(spec: ProviderSpec) -> type:
    """The class the spec names, imported now."""
    module_name, _, class_name = spec.adapter.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ProviderError(
            "config",
            f"The adapter of provider '{spec.name}' ({spec.adapter}) cannot be loaded: {exc}. "
            "Check `adapter` in its catalog entry (workbench/domain/data/catalog.toml).",
        ) from None
    if not isinstance(found, type):
        raise ProviderError("config", f"{spec.adapter} is not a class.")
    return found


def build_provider(
    name: str,
    settings: config.Settings,
    *,
    policy: HttpPolicy | None = None,
    sleep: Sleep | None = None,
) -> Provider:
    spec = descriptor(name)
    adapter = adapter_class(spec)
    if not spec.hosted:
        provider: Provider = adapter()
        return provider
    key = settings.key(name)
    if not key:
        raise ProviderError("config", missing_key_message(name))
    hosted: Provider = adapter(
        key=key,
        base_url=settings.base_url(name),
        policy=policy or HttpPolicy.from_env(),
        sleep=sleep,
        api_hosts=spec.api_hosts,
    )
    return hosted
