"""Moving a history between databases: `workbench db copy --to TARGET` / `--from SOURCE`.

A side is either a data directory (its embedded DuckDB file and its images) or a team database
URL (`postgresql://…`, whose images live in the data directory the team shares). The rows go
through `store.transfer` (idempotent: copying twice doubles nothing); the image files follow
when the two sides keep their images in different directories, each checked against its
sha256 on arrival. The report says, per table, the row counts and checksums on both sides.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.config import DatabaseUrl, Settings, parse_database_url
from workbench.errors import ConfigError, InvalidInput
from workbench.store import transfer
from workbench.store.db import Backend, Database

if TYPE_CHECKING:
    from workbench.store.postgres import PgDatabase

DB_FILE = "workbench.duckdb"


class BadTarget(InvalidInput):
    """A copy source or target that is neither a data directory nor a database URL."""


@dataclass(frozen=True)
class Place:
    """One side of a copy: how to open its database, and where its images live."""

    label: str  # shown to the user: a path, or a URL without its password
    images_root: Path  # the data directory image paths are relative to
    open: Callable[[], Backend]
    exists: Callable[[], bool]  # whether there is a history to copy from
    identity: str  # two places with the same identity are the same history


@dataclass
class CopyReport:
    source: str
    target: str
    tables: list[transfer.TableReport] = field(default_factory=list)
    images_copied: int = 0
    images_present: int = 0
    images_missing: list[str] = field(default_factory=list)  # at the source: cannot be copied
    images_corrupt: list[str] = field(default_factory=list)  # bytes do not match their sha256

    @property
    def ok(self) -> bool:
        return (
            all(t.ok for t in self.tables)
            and not self.images_missing
            and not self.images_corrupt
        )

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
        out.append(
            f"images: {self.images_copied:,} copied, {self.images_present:,} already there"
            + (f", {len(self.images_missing):,} missing at the source" if self.images_missing
               else "")
            + (f", {len(self.images_corrupt):,} corrupt" if self.images_corrupt else "")
        )
        for sha in (self.images_missing + self.images_corrupt)[:10]:
            out.append(f"  image {sha}")
        out.append("All rows and checksums match." if self.ok else
                   "The copy does NOT match its source: see the lines above.")
        return out


def directory_place(data_dir: Path, *, lock_timeout_s: float = 10.0) -> Place:
    data_dir = data_dir.expanduser()
    if data_dir.exists() and not data_dir.is_dir():
        raise BadTarget(f"{data_dir} is a file; give a data directory or a postgresql:// URL.")
    return Place(
        label=str(data_dir),
        images_root=data_dir,
        open=lambda: Database(
            data_dir / DB_FILE, lock_timeout_s=lock_timeout_s, idle_close_s=0
        ),
        exists=lambda: (data_dir / DB_FILE).is_file(),
        identity=str((data_dir / DB_FILE).resolve()),
    )


def team_place(url: DatabaseUrl, images_root: Path, *, connect_timeout_s: float = 10.0) -> Place:
    def open_team() -> PgDatabase:
        from workbench.store.postgres import PgDatabase  # psycopg loads only for a team copy

        return PgDatabase(url, connect_timeout_s=connect_timeout_s)

    return Place(
        label=url.redacted,
        images_root=images_root.expanduser(),
        open=open_team,
        exists=lambda: True,  # opening it says clearly when it is not there
        identity=f"postgresql://{url.where}/{url.dbname}",
    )


def place_of(settings: Settings) -> Place:
    """This process's own history: the team database in team mode, else the data directory."""
    url = settings.database
    if url is not None:
        return team_place(url, settings.data_dir, connect_timeout_s=settings.lock_timeout_s)
    return directory_place(settings.data_dir, lock_timeout_s=settings.lock_timeout_s)


def parse_place(spec: str, images_root: Path, *, lock_timeout_s: float = 10.0) -> Place:
    """A side given on the command line: a data directory, or a database URL whose images
    live in `images_root`."""
    spec = spec.strip()
    if not spec:
        raise BadTarget("Give a data directory or a postgresql:// URL.")
    if "://" in spec:
        try:
            url = parse_database_url(spec)
        except ConfigError as exc:  # its message never repeats the URL (it may hold a password)
            raise BadTarget(str(exc).replace("WORKBENCH_DATABASE_URL", "The URL")) from None
        return team_place(url, images_root, connect_timeout_s=lock_timeout_s)
    return directory_place(Path(spec), lock_timeout_s=lock_timeout_s)


def _copy_images(
    source: Place, target: Place, db: Backend, report: CopyReport
) -> None:
    if source.images_root.resolve() == target.images_root.resolve():
        return
    for sha, path, thumb in transfer.image_paths(db):
        for relative, check in ((path, True), (thumb, False)):
            there = target.images_root / relative
            if there.exists():
                if check:
                    report.images_present += 1
                continue
            here = source.images_root / relative
            if not here.is_file():
                if check:
                    report.images_missing.append(sha)
                continue
            there.parent.mkdir(parents=True, exist_ok=True)
            partial = there.with_name(there.name + ".part")
            shutil.copyfile(here, partial)
            if check and hashlib.sha256(partial.read_bytes()).hexdigest() != sha:
                partial.unlink()
                report.images_corrupt.append(sha)
                continue
            partial.replace(there)  # whole or not at all
            if check:
                report.images_copied += 1


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
