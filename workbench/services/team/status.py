"""The Status page's facts: where data lives (the images too: the data directory or a bucket's
URL without credentials, how many images and their total size), which database backend holds
the log (in team mode the server's URL without its password) and how big it is, which
migrations ran, the sessions connected (team mode: each process names itself
`workbench <command>`), which provider keys are present (by variable name, never the value)."""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.config import KEY_VARIABLES
from workbench.domain.catalog import OFFLINE, PROVIDER_LABELS
from workbench.services.workbench import Workbench
from workbench.store.images import ImageStoreError
from workbench.store.records import DatabaseSession

# The image count walks every file or lists the whole bucket: at most once a minute per process.
INVENTORY_MAX_AGE_S = 60.0


@dataclass(frozen=True)
class ProviderKey:
    provider: str
    label: str
    present: bool
    source: str | None
    variables: tuple[str, ...]
    base_url: str


@dataclass(frozen=True)
class Status:
    data_dir: str
    backend: str
    db_path: str
    db_bytes: int
    images_bytes: int
    migrations: list[str]
    generations: dict[str, int]
    keys: list[ProviderKey]
    team_mode: bool = False
    images_location: str = ""  # a path, or s3://bucket/prefix at its endpoint (no secret)
    images_count: int = 0
    images_problem: str | None = None  # why the store could not be listed
    images_spooled: int = 0  # waiting in this machine's upload spool
    # application_name, user_name, client, backend_start, state of each connected session
    sessions: list[DatabaseSession] = field(default_factory=list)


def provider_keys(wb: Workbench) -> list[ProviderKey]:
    s = wb.settings
    return [
        ProviderKey(
            provider=name,
            label=PROVIDER_LABELS[name],
            present=s.has_key(name),
            source=s.key_sources.get(name),
            variables=variables,
            base_url=s.base_url(name),
        )
        for name, variables in KEY_VARIABLES.items()
    ]


def status(wb: Workbench) -> Status:
    problem = None
    try:
        count, size = wb.images.inventory(INVENTORY_MAX_AGE_S)
    except ImageStoreError as exc:
        count, size, problem = 0, 0, str(exc)
    return Status(
        data_dir=str(wb.settings.data_dir),
        backend=wb.db.backend,
        db_path=wb.db.location,  # in team mode the server's URL, never with the password
        db_bytes=wb.db.size_bytes(),
        images_bytes=size,
        images_location=wb.images.location,
        images_count=count,
        images_problem=problem,
        images_spooled=len(wb.images.spool.keys()),
        migrations=wb.db.migrations_applied,
        generations=wb.log.status_counts(),
        keys=provider_keys(wb),
        team_mode=wb.settings.team_mode,
        sessions=wb.db.sessions(),
    )


def default_provider(wb: Workbench, model_id: str) -> str:
    """The provider a model runs on unless the user chooses: the first hosted one with a key,
    else the offline sketch renderer."""
    model = wb.catalog.model(model_id)
    keyed = [p for p in model.providers if p != OFFLINE and wb.settings.has_key(p)]
    return keyed[0] if keyed else OFFLINE
