"""The prompt library: named prompts, each save a new append-only version; tags, a note and a
favourite star per name (append-only marks, the newest wins); and per-version figures from the
generations made from a version (`generations.library_version_id`).

Versions and marks are append-only; `library_heads` (one row per name: its newest version and
marks) is kept in step in the same transaction, so listing stays one small-table query however
many versions exist. Portable SQL only (DuckDB and PostgreSQL): `?` parameters,
`position(... IN ...)` instead of ILIKE, JSON kept as text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from workbench.domain.ids import new_id
from workbench.store.db import Backend, retry_conflicts, utcnow
from workbench.store.records import (
    LibraryGeneration,
    LibraryHead,
    LibraryVersion,
    first_record,
    records,
)
from workbench.store.votes import LIVE_VOTE

_VERSION_COLUMNS = (
    "id, name, version, created_at, model, provider, template_id, slots, params, prompt"
)
# What a read selects: empty slots are none, missing params an empty set (as always read).
_VERSION_READ = (
    "id, name, version, created_at, model, provider, template_id, nullif(slots, '') AS slots,"
    " coalesce(nullif(params, ''), '{}') AS params, prompt"
)
_HEAD_COLUMNS = (
    "h.version_id AS id, h.name, h.version, h.versions, h.saved_at, h.model, h.prompt, h.tags,"
    " h.note, h.favourite"
)


@dataclass(frozen=True)
class LibraryMarks:
    """A name's tags, note and favourite star (the newest marks)."""

    tags: list[str] = field(default_factory=list)
    note: str = ""
    favourite: bool = False


@dataclass(frozen=True)
class StarFigure:
    n: int  # images rated on the criterion (each rater's latest stars)
    mean: float


@dataclass(frozen=True)
class VersionFigures:
    """What a version's generations did: counts, cost and latency (each with its n), mean
    stars per criterion, and the Arena record of its images on `overall`."""

    generations: int = 0
    succeeded: int = 0
    cost_usd: float | None = None  # total
    cost_n: int = 0
    mean_cost_usd: float | None = None
    mean_latency_ms: float | None = None  # of the succeeded
    latency_n: int = 0
    stars: dict[str, StarFigure] = field(default_factory=dict)
    arena_votes: int = 0
    arena_win_rate: float | None = None  # a win 1, a tie 1/2, a loss or both-bad 0


@dataclass(frozen=True)
class NewVersion:
    name: str
    model: str
    prompt: str
    provider: str | None = None
    template_id: str | None = None
    slots: dict[str, str] | None = None
    params: dict[str, Any] | None = None


class PromptLibrary:
    def __init__(self, db: Backend) -> None:
        self.db = db

    # -- writes -------------------------------------------------------------------------------
    def save(self, new: NewVersion) -> LibraryVersion:
        """Append the next version of `new.name`; never touches an earlier version. Two saves
        racing for the same number: the loser's insert breaks UNIQUE (name, version) (or its
        update of the head conflicts) and it tries again with the next number, after a short
        pause that grows (`retry_conflicts`), so a save made while others keep saving still
        lands."""

        def attempt() -> LibraryVersion:
            version_id = new_id("pv")
            with self.db.transaction() as cur:
                found = cur.execute(
                    "SELECT version FROM library_heads WHERE name = ?", [new.name]
                ).fetchone()
                number = int(found[0]) + 1 if found else 1
                now = utcnow()
                cur.execute(
                    f"INSERT INTO library_versions ({_VERSION_COLUMNS})"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        version_id, new.name, number, now, new.model, new.provider,
                        new.template_id,
                        json.dumps(new.slots) if new.slots is not None else None,
                        json.dumps(new.params or {}, sort_keys=True), new.prompt,
                    ],
                )
                head = [version_id, number, number, now, new.model, new.prompt, new.name]
                if found:
                    cur.execute(
                        "UPDATE library_heads SET version_id = ?, version = ?, versions = ?,"
                        " saved_at = ?, model = ?, prompt = ? WHERE name = ?",
                        head,
                    )
                else:
                    cur.execute(
                        "INSERT INTO library_heads (version_id, version, versions, saved_at,"
                        " model, prompt, name, tags, note, favourite)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, '[]', '', false)",
                        head,
                    )
            return LibraryVersion(
                id=version_id, name=new.name, version=number, created_at=now, model=new.model,
                provider=new.provider, template_id=new.template_id, slots=new.slots,
                params=new.params or {}, prompt=new.prompt,
            )

        try:
            return retry_conflicts(self.db.conflicts, attempt)
        except self.db.conflicts:
            raise RuntimeError(
                f"could not save {new.name!r}: too many saves at once, try again"
            ) from None

    def mark(self, name: str, tags: list[str], note: str, favourite: bool) -> None:
        tag_text = json.dumps(sorted(set(tags)))
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO library_marks (id, name, created_at, tags, note, favourite)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [new_id("pm"), name, utcnow(), tag_text, note, favourite],
            )
            cur.execute(
                "UPDATE library_heads SET tags = ?, note = ?, favourite = ? WHERE name = ?",
                [tag_text, note, favourite, name],
            )

    # -- reads --------------------------------------------------------------------------------
    def get(self, version_id: str) -> LibraryVersion | None:
        with self.db.cursor() as cur:
            return first_record(LibraryVersion, cur.execute(
                f"SELECT {_VERSION_READ} FROM library_versions WHERE id = ?", [version_id]
            ))

    def find(self, name: str, version: int | None = None) -> LibraryVersion | None:
        """A version by name and number; the newest when `version` is None."""
        sql = f"SELECT {_VERSION_READ} FROM library_versions WHERE name = ?"
        params: list[Any] = [name]
        if version is not None:
            sql += " AND version = ?"
            params.append(version)
        with self.db.cursor() as cur:
            return first_record(
                LibraryVersion, cur.execute(sql + " ORDER BY version DESC LIMIT 1", params)
            )

    def versions(self, name: str) -> list[LibraryVersion]:
        """Every version of one name, oldest first."""
        with self.db.cursor() as cur:
            return records(LibraryVersion, cur.execute(
                f"SELECT {_VERSION_READ} FROM library_versions WHERE name = ?"
                " ORDER BY version",
                [name],
            ))

    def marks(self, name: str) -> LibraryMarks:
        with self.db.cursor() as cur:
            row = cur.execute(
                "SELECT tags, note, favourite FROM library_heads WHERE name = ?", [name]
            ).fetchone()
        if not row:
            return LibraryMarks()
        tags, note, favourite = row
        return LibraryMarks(tags=json.loads(tags), note=note or "", favourite=bool(favourite))

    @staticmethod
    def _search_sql(text: str, tag: str | None, favourites_only: bool) -> tuple[str, list[Any]]:
        where, params = ["1 = 1"], []
        if text.strip():
            # A name or any version's text holds the words (case-insensitive, no wildcards).
            where.append(
                "(position(? IN lower(h.name)) > 0 OR h.name IN (SELECT name FROM"
                " library_versions WHERE position(? IN lower(prompt)) > 0))"
            )
            params += [text.strip().lower()] * 2
        if tag:
            where.append("position(? IN h.tags) > 0")
            params.append(json.dumps(tag))
        if favourites_only:
            where.append("h.favourite")
        return " FROM library_heads h WHERE " + " AND ".join(where), params

    def search(
        self,
        text: str = "",
        tag: str | None = None,
        favourites_only: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> list[LibraryHead]:
        """One row per name (its newest version and marks), favourites first, then the most
        recently saved; `total` on each row counts every match (one query for page and count)."""
        sql, params = self._search_sql(text, tag, favourites_only)
        with self.db.cursor() as cur:
            return records(LibraryHead, cur.execute(
                f"SELECT {_HEAD_COLUMNS}, count(*) OVER () AS total{sql}"
                " ORDER BY h.favourite DESC, h.saved_at DESC, h.name LIMIT ? OFFSET ?",
                [*params, int(limit), int(offset)],
            ))

    def count(self, text: str = "", tag: str | None = None, favourites_only: bool = False) -> int:
        sql, params = self._search_sql(text, tag, favourites_only)
        with self.db.cursor() as cur:
            found = cur.execute(f"SELECT count(*){sql}", params).fetchone()
        return int(found[0]) if found else 0

    def tags(self) -> list[str]:
        with self.db.cursor() as cur:
            rows = cur.execute("SELECT DISTINCT tags FROM library_heads").fetchall()
        return sorted({t for (tags,) in rows for t in json.loads(tags)})

    # -- what a version produced --------------------------------------------------------------
    def generations(self, version_id: str, limit: int = 48) -> list[LibraryGeneration]:
        with self.db.cursor() as cur:
            return records(LibraryGeneration, cur.execute(
                "SELECT g.id, g.created_at, g.status, g.model, g.provider, g.cost_usd,"
                " g.latency_ms, i.thumb_path FROM generations g"
                " LEFT JOIN images i ON i.sha256 = g.image_sha256"
                " WHERE g.library_version_id = ? ORDER BY g.created_at DESC LIMIT ?",
                [version_id, int(limit)],
            ))

    def stats(self, version_id: str) -> VersionFigures:
        """Counts, cost and latency of the version's generations; mean stars per criterion; the
        Arena record of its images on `overall` (a win 1, a tie 1/2, a loss or both-bad 0;
        votes between two images of this same version say nothing and are left out)."""
        with self.db.cursor() as cur:
            g = cur.execute(
                "SELECT count(*),"
                " sum(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END),"
                " sum(cost_usd), count(cost_usd),"
                " avg(CASE WHEN status = 'succeeded' THEN latency_ms END),"
                " count(CASE WHEN status = 'succeeded' THEN latency_ms END)"
                " FROM generations WHERE library_version_id = ?",
                [version_id],
            ).fetchone()
            stars = cur.execute(
                "SELECT r.criterion, count(*), avg(r.stars) FROM latest_ratings r"
                " JOIN generations g ON g.id = r.generation_id"
                " WHERE g.library_version_id = ? GROUP BY r.criterion ORDER BY r.criterion",
                [version_id],
            ).fetchall()
            arena = cur.execute(
                "WITH mine AS (SELECT id FROM generations WHERE library_version_id = ?),"
                " sides AS (SELECT v.winner,"
                "  CASE WHEN v.left_generation_id IN (SELECT id FROM mine) THEN 1 ELSE 0 END"
                "   AS is_left,"
                "  CASE WHEN v.right_generation_id IN (SELECT id FROM mine) THEN 1 ELSE 0 END"
                "   AS is_right"
                f"  FROM votes v WHERE v.criterion = 'overall' AND {LIVE_VOTE})"
                " SELECT count(*), sum(CASE WHEN winner = 'tie' THEN 0.5"
                "  WHEN winner = 'left' AND is_left = 1 THEN 1.0"
                "  WHEN winner = 'right' AND is_right = 1 THEN 1.0 ELSE 0.0 END)"
                " FROM sides WHERE is_left + is_right = 1",
                [version_id],
            ).fetchone()
        n, succeeded, cost, n_cost, latency, n_latency = g if g else (0, 0, None, 0, None, 0)
        votes, points = arena if arena else (0, None)
        return VersionFigures(
            generations=int(n or 0),
            succeeded=int(succeeded or 0),
            cost_usd=float(cost) if cost is not None else None,
            cost_n=int(n_cost or 0),
            mean_cost_usd=float(cost) / n_cost if cost is not None and n_cost else None,
            mean_latency_ms=float(latency) if latency is not None else None,
            latency_n=int(n_latency or 0),
            stars={c: StarFigure(n=int(k), mean=float(m)) for c, k, m in stars},
            arena_votes=int(votes or 0),
            arena_win_rate=float(points or 0) / votes if votes else None,
        )
