"""Chooses the concrete provider adapter for a provider name: the only place that does.

Adapters are imported lazily, so starting the app does not import every HTTP client, and
building one makes no network call. A hosted provider without a key raises
`ProviderError(kind="config")` naming the environment variable or secrets.toml entry to set;
`Workbench.open_provider` turns that into an attempt logged as failed.
"""

from __future__ import annotations

import importlib

from workbench.config import KEY_VARIABLES, Settings
from workbench.domain.catalog import OFFLINE, PROVIDER_LABELS
from workbench.providers.base import Provider, ProviderError
from workbench.providers.http import HttpPolicy, Sleep, key_help

# provider name -> "module:class", imported on first use
ADAPTERS: dict[str, str] = {
    "gemini": "workbench.providers.gemini:GeminiProvider",
    "bfl": "workbench.providers.bfl:BflProvider",
    "replicate": "workbench.providers.replicate:ReplicateProvider",
    "fal": "workbench.providers.fal:FalProvider",
}


def provider_label(name: str) -> str:
    return PROVIDER_LABELS.get(name, name)


def missing_key_message(name: str) -> str:
    label = provider_label(name)
    return f"No key for {label}: {key_help(name)}, then try again."


def build_provider(
    name: str,
    settings: Settings,
    *,
    policy: HttpPolicy | None = None,
    sleep: Sleep | None = None,
) -> Provider:
    if name == OFFLINE:
        from workbench.providers.offline import OfflineProvider

        return OfflineProvider()
    target = ADAPTERS.get(name)
    if target is None or name not in KEY_VARIABLES:
        known = ", ".join([*ADAPTERS, OFFLINE])
        raise ProviderError("config", f"Unknown provider '{name}'. Known providers: {known}.")
    key = settings.key(name)
    if not key:
        raise ProviderError("config", missing_key_message(name))
    module_name, class_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(
        key=key,
        base_url=settings.base_url(name),
        policy=policy or HttpPolicy.from_env(),
        sleep=sleep,
    )
