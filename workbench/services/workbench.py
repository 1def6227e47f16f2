"""The opened workbench: settings, catalog, templates, the database and image store, and how
to get a provider. `open_workbench` is the one place that wires concrete adapters together."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from workbench.config import Settings, load_settings
from workbench.domain.catalog import Catalog, load_catalog
from workbench.domain.plural import count
from workbench.domain.templates import TemplateLibrary, load_templates
from workbench.providers.base import Provider, ProviderError, UnavailableProvider
from workbench.providers.registry import build_provider
from workbench.store.annotations import AnnotationLog
from workbench.store.arena_candidates import ArenaCandidates
from workbench.store.attempt_queue import AttemptQueue
from workbench.store.attempts import AttemptLog
from workbench.store.attribution import Attribution
from workbench.store.backend import open_database
from workbench.store.db import Backend, StoreError
from workbench.store.generations import GenerationLog
from workbench.store.images import ImageStore, open_image_store
from workbench.store.judge_evidence import JudgeEvidence
from workbench.store.lineage import LineageLog
from workbench.store.performance import PerformanceLog
from workbench.store.prompt_library import PromptLibrary
from workbench.store.ratings import RatingLog
from workbench.store.runs import RunLog
from workbench.store.sent_attempts import SentAttempts
from workbench.store.spending import SpendLedger
from workbench.store.tradeoffs import TradeoffLog
from workbench.store.vote_tallies import VoteTallies
from workbench.store.votes import VoteLog

__all__ = ["ProviderFactory", "StoreError", "Workbench", "open_workbench"]

ProviderFactory = Callable[[str, Settings], Provider]


@dataclass
class Workbench:
    settings: Settings
    catalog: Catalog
    templates: TemplateLibrary
    db: Backend  # the embedded file, or the team's PostgreSQL server
    images: ImageStore
    provider_factory: ProviderFactory = field(default=build_provider)
    # Called with a generation id after its image is stored (the app and the command line
    # attach the metrics worker here); a hook must not block or raise.
    # a hook's return value is ignored (the metrics worker's submit returns whether it queued)
    on_success: list[Callable[[str], object]] = field(default_factory=list)
    # Called before the database closes (background workers stop and finish their job here).
    on_close: list[Callable[[], None]] = field(default_factory=list)
    # Background workers kept on this workbench, by name, each started on first use by the
    # service that owns it (the measurer: `evidence.measurements.worker_for`). Typed `object`
    # so that this module, which every service imports, imports none of them.
    background: dict[str, object] = field(default_factory=dict, repr=False)
    # Provider clients kept open between single generations on the process's shared event
    # loop (`runs.shared_loop`), by provider name; used and changed on that loop only.
    loop_providers: dict[str, Provider] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.attempts = AttemptLog(
            self.db, data_dir=self.settings.data_dir, reconnect_s=self.settings.reconnect_s
        )
        self.queue = AttemptQueue(self.db)
        self.sent = SentAttempts(self.db)
        self.log = GenerationLog(self.db)
        self.ratings = RatingLog(self.db)
        self.performance = PerformanceLog(self.db)
        self.runs = RunLog(self.db)
        self.votes = VoteLog(self.db)
        self.tallies = VoteTallies(self.db)
        self.candidates = ArenaCandidates(self.db)
        self.spending = SpendLedger(self.db)
        self.tradeoffs = TradeoffLog(self.db)
        self.judge_evidence = JudgeEvidence(self.db)
        self.library = PromptLibrary(self.db)
        self.lineage = LineageLog(self.db)
        self.attribution = Attribution(self.db)
        self.annotations = AnnotationLog(self.db)

    def succeeded(self, generation_id: str) -> None:
        for hook in self.on_success:
            try:
                hook(generation_id)
            except Exception:  # a measurement hook must never fail a generation
                logging.getLogger(__name__).exception("success hook failed")

    def open_provider(self, name: str) -> Provider:
        """A fresh provider for one event loop (HTTP clients must not cross loops)."""
        try:
            return self.provider_factory(name, self.settings)
        except ProviderError as exc:
            return UnavailableProvider(name, exc)

    def close(self) -> None:
        while self.on_close:
            self.on_close.pop()()
        self.images.thumbs.wait_all()  # thumbnails still being made (off the generation path)
        self.db.close()


def open_workbench(
    settings: Settings | None = None,
    *,
    provider_factory: ProviderFactory = build_provider,
    idle_close_s: float = 2.0,
) -> Workbench:
    settings = settings or load_settings()
    # The image store first (WORKBENCH_IMAGES_URL): a bucket that cannot be used stops the
    # start with one line; images an earlier process spooled are uploaded now.
    images = open_image_store(settings.data_dir, data_umask=settings.data_umask)
    db = open_database(settings, idle_close_s=idle_close_s)
    wb = Workbench(
        settings=settings,
        catalog=load_catalog(),
        templates=load_templates(),
        db=db,
        images=images,
        provider_factory=provider_factory,
    )
    # Outcomes an earlier process kept while the team server was away are written now.
    replayed = wb.attempts.replay_journal()
    if replayed:
        logging.getLogger(__name__).warning(
            "wrote %s kept while the database was unreachable", count(replayed, "outcome")
        )
    return wb
