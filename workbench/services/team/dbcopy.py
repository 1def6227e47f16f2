"""Moving a history between databases: `workbench db copy --to TARGET` / `--from SOURCE`.

A side is either a data directory (its embedded DuckDB file and its images) or a team database
URL (`postgresql://…`, whose images live in this process's image store unless told otherwise:
another data directory or an `s3://bucket/prefix`). The rows go through `store.transfer`
(idempotent: copying twice doubles nothing); the images follow through the image stores when
the two sides keep them in different places (`store.images.copying`: each reference checked,
each image's bytes checked against its sha256 before it is written; a reference the workbench
would not write is refused and makes the copy fail). The report says, per table, the row counts
and checksums on both sides, and the image counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.config import DatabaseUrl, Settings, parse_database_url
from workbench.errors import ConfigError, InvalidInput
from workbench.store import transfer
from workbench.store.db import Backend, Database
from workbench.store.images import ImageStore, images_url, open_image_store, store_at
from workbench.store.images.copying import ImageCopy, copy_images

if TYPE_CHECKING:
    from workbench.store.postgres import PgDatabase

DB_FILE = "workbench.duckdb"


class BadTarget(InvalidInput):
    """A copy source or target that is neither a data directory nor a database URL."""


@dataclass(frozen=True)
class Place:
    """One side of a copy: how to open its database, and where its images live."""

    label: str  # shown to the user: a path, or a URL without its password
    images: Callable[[], ImageStore]  # where its images live (opened only when copying them)
    images_identity: str  # two places with the same one keep their images in one place
    open: Callable[[], Backend]
    exists: Callable[[], bool]  # whether there is a history to copy from
    identity: str  # two places with the same identity are the same history


@dataclass
class CopyReport:
    source: str
    target: str
    tables: list[transfer.TableReport] = field(default_factory=list)
    images: ImageCopy = field(default_factory=ImageCopy)

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tables) and self.images.ok

    def lines(self) -> list[str]:
        out = [f"Copied {self.source} -> {self.target}", ""]
        header = (
            f"{'table':<20}{'source rows':>12}{'target rows':>12}{'copied':>9}"
            f"  {'source checksum':<18}{'target checksum':<18}result"
        )
        out.append(header)
        for t in self.tables:
            result = "ok" if t.ok else f"MISMATCH ({t.missing} source rows not on the target)"
            out.append(
                f"{t.table:<20}{t.source_rows:>12,}{t.target_rows:>12,}{t.copied:>9,}"
                f"  {t.source_checksum:<18}{t.target_checksum:<18}{result}"
            )
        out.append("")
        out.append(self.images.line())
        out.extend(self.images.problems())
        out.append("All rows and checksums match." if self.ok else
                   "The copy does NOT match its source: see the lines above.")
        return out


def directory_place(data_dir: Path, *, lock_timeout_s: float = 10.0) -> Place:
    data_dir = data_dir.expanduser()
    if data_dir.exists() and not data_dir.is_dir():
        raise BadTarget(f"{data_dir} is a file; give a data directory or a postgresql:// URL.")
    return Place(
        label=str(data_dir),
        images=lambda: ImageStore(data_dir),
        images_identity=str(data_dir.resolve()),
        open=lambda: Database(
            data_dir / DB_FILE, lock_timeout_s=lock_timeout_s, idle_close_s=0
        ),
        exists=lambda: (data_dir / DB_FILE).is_file(),
        identity=str((data_dir / DB_FILE).resolve()),
    )


def team_place(
    url: DatabaseUrl, images: Callable[[], ImageStore], images_identity: str, *,
    connect_timeout_s: float = 10.0,
) -> Place:
    def open_team() -> PgDatabase:
        from workbench.store.postgres import PgDatabase  # psycopg loads only for a team copy

        return PgDatabase(url, connect_timeout_s=connect_timeout_s)

    return Place(
        label=url.redacted,
        images=images,
        images_identity=images_identity,
        open=open_team,
        exists=lambda: True,  # opening it says clearly when it is not there
        identity=f"postgresql://{url.where}/{url.dbname}",
    )


def place_of(settings: Settings) -> Place:
    """This process's own history: the team database in team mode, else the data directory."""
    url = settings.database
    place = (
        team_place(url, lambda: ImageStore(settings.data_dir), "",
                   connect_timeout_s=settings.lock_timeout_s)
        if url is not None
        else directory_place(settings.data_dir, lock_timeout_s=settings.lock_timeout_s)
    )
    configured = images_url()  # WORKBENCH_IMAGES_URL: this process's images live there
    return Place(
        label=place.label,
        images=lambda: open_image_store(settings.data_dir, data_umask=settings.data_umask),
        images_identity=configured or place.images_identity
        or str(settings.data_dir.expanduser().resolve()),
        open=place.open,
        exists=place.exists,
        identity=place.identity,
    )


def images_place(spec: str | Path, data_dir: Path) -> tuple[Callable[[], ImageStore], str]:
    """Where a database URL's images live: another data directory or `s3://bucket/prefix`
    (its cache and spool in `data_dir`); the opener and the identity of the place."""
    text = str(spec).strip()
    if text.startswith("s3://"):
        return (lambda: store_at(text, data_dir)), text.rstrip("/")
    folder = Path(text).expanduser()
    return (lambda: ImageStore(folder)), str(folder.resolve())


def parse_place(
    spec: str, images: tuple[Callable[[], ImageStore], str], *, lock_timeout_s: float = 10.0
) -> Place:
    """A side given on the command line: a data directory, or a database URL whose images
    live in `images` (see `images_place`)."""
    spec = spec.strip()
    if not spec:
        raise BadTarget("Give a data directory or a postgresql:// URL.")
    if "://" in spec:
        try:
            url = parse_database_url(spec)
        except ConfigError as exc:  # its message never repeats the URL (it may hold a password)
            raise BadTarget(str(exc).replace("WORKBENCH_DATABASE_URL", "The URL")) from None
        return team_place(url, images[0], images[1], connect_timeout_s=lock_timeout_s)
    return directory_place(Path(spec), lock_timeout_s=lock_timeout_s)


def _copy_images(source: Place, target: Place, db: Backend, report: CopyReport) -> None:
    if source.images_identity == target.images_identity:
        return
    report.images = copy_images(source.images(), target.images(), transfer.image_paths(db))


def copy(source: Place, target: Place) -> CopyReport:
    """Copy every row and image of `source` that `target` lacks; compare afterwards."""
    if source.identity == target.identity:
        raise BadTarget(f"The source and the target are the same history ({source.label}).")
    if not source.exists():
        raise BadTarget(f"There is no history at {source.label} to copy from.")
    report = CopyReport(source.label, target.label)
    src = source.open()
    try:
        dst = target.open()
        try:
            report.tables = transfer.copy_all(src, dst)
            _copy_images(source, target, src, report)
        finally:
            dst.close()
    finally:
        src.close()
    return report
