"""The opened workbench: settings, catalog, templates, the database and image store, and how
to get a provider. `open_workbench` is the one place that wires concrete adapters together."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from workbench.catalog import Catalog, load_catalog
from workbench.config import Settings, load_settings
from workbench.providers.base import Provider, ProviderError, UnavailableProvider
from workbench.providers.registry import build_provider
from workbench.store.db import Database
from workbench.store.generations import GenerationLog
from workbench.store.images import ImageStore
from workbench.store.measures import MeasureLog
from workbench.store.ratings import RatingLog
from workbench.store.runs import RunLog
from workbench.templates import TemplateLibrary, load_templates

ProviderFactory = Callable[[str, Settings], Provider]


@dataclass
class Workbench:
    settings: Settings
    catalog: Catalog
    templates: TemplateLibrary
    db: Database
    images: ImageStore
    provider_factory: ProviderFactory = field(default=build_provider)

    def __post_init__(self) -> None:
        self.log = GenerationLog(self.db)
        self.ratings = RatingLog(self.db)
        self.measures = MeasureLog(self.db)
        self.runs = RunLog(self.db)

    def open_provider(self, name: str) -> Provider:
        """A fresh provider for one event loop (HTTP clients must not cross loops)."""
        try:
            return self.provider_factory(name, self.settings)
        except ProviderError as exc:
            return UnavailableProvider(name, exc)

    def close(self) -> None:
        self.db.close()


def open_workbench(
    settings: Settings | None = None,
    *,
    provider_factory: ProviderFactory = build_provider,
    idle_close_s: float = 2.0,
) -> Workbench:
    settings = settings or load_settings()
    db = Database(
        settings.db_path, lock_timeout_s=settings.lock_timeout_s, idle_close_s=idle_close_s
    )
    return Workbench(
        settings=settings,
        catalog=load_catalog(),
        templates=load_templates(),
        db=db,
        images=ImageStore(settings.data_dir),
        provider_factory=provider_factory,
    )
