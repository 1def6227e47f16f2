"""Chooses the concrete provider adapter for a provider name: the only place that does.

Adapters are imported lazily, so starting the app does not import every HTTP client.
"""

from __future__ import annotations

from workbench.catalog import OFFLINE
from workbench.config import Settings
from workbench.providers.base import Provider, ProviderError


def build_provider(name: str, settings: Settings) -> Provider:
    if name == OFFLINE:
        from workbench.providers.offline import OfflineProvider

        return OfflineProvider()
    raise ProviderError(
        "config",
        f"The {name} client is not part of this build yet; use the offline sketch renderer.",
    )
