"""What people add to a generation after the fact: tags, a note, and whether it is archived
(hidden from History, the boards and the Arena until restored). One `annotations` row per
generation (migration 0019), written by upsert. The log keeps one copy: `generations.archived`,
set with the annotation (migration 0023), which the filters read.

Tags are kept as ",tag one,tag two," in lower case so that one tag matches `%,tag,%`; every
statement is parameterised."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workbench.store.db import Backend, utcnow

MAX_TAGS = 20
MAX_TAG = 40
MAX_NOTE = 5000


@dataclass(frozen=True)
class Annotation:
    tags: tuple[str, ...] = ()
    note: str = ""
    archived_at: datetime | None = None

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


def clean_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Tags as stored: trimmed, lower case, without commas or control characters, each once,
    at most MAX_TAGS of at most MAX_TAG characters; raises ValueError otherwise."""
    cleaned: list[str] = []
    for raw in tags:
        tag = " ".join(raw.replace(",", " ").split()).lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG or any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F for ch in tag):
            raise ValueError(f"a tag is at most {MAX_TAG} characters of text")
        if tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags on one generation")
    return tuple(cleaned)


def _stored(tags: Sequence[str]) -> str:
    return f",{','.join(tags)}," if tags else ""


def _read(text: str | None) -> tuple[str, ...]:
    return tuple(t for t in (text or "").split(",") if t)


def refresh_archived(cur: Any) -> None:
    """Bring the log's `archived` copies in line with the annotations (after `db copy` brought
    annotations for generations the target already had); rows already in line are untouched."""
    cur.execute(
        "UPDATE generations SET archived = NOT archived WHERE archived <> (id IN"
        " (SELECT generation_id FROM annotations WHERE archived_at IS NOT NULL))"
    )


class AnnotationLog:
    def __init__(self, db: Backend) -> None:
        self.db = db

    def _upsert(self, generation_id: str, column: str, value: object, by: str) -> None:
        with self.db.cursor() as cur:
            self._write(cur, generation_id, column, value, by)

    @staticmethod
    def _write(cur: Any, generation_id: str, column: str, value: object, by: str) -> None:
        if not cur.execute("SELECT 1 FROM generations WHERE id = ?", [generation_id]).fetchone():
            raise KeyError(f"No generation {generation_id}")
        cur.execute(
            f"INSERT INTO annotations (generation_id, {column}, updated_at, updated_by)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (generation_id) DO UPDATE SET"
            f" {column} = excluded.{column}, updated_at = excluded.updated_at,"
            " updated_by = excluded.updated_by",
            [generation_id, value, utcnow(), by],
        )

    def set_tags(self, generation_id: str, tags: Iterable[str], by: str) -> tuple[str, ...]:
        cleaned = clean_tags(tags)
        self._upsert(generation_id, "tags", _stored(cleaned), by)
        return cleaned

    def set_note(self, generation_id: str, note: str, by: str) -> None:
        if len(note) > MAX_NOTE:
            raise ValueError(f"a note is at most {MAX_NOTE:,} characters")
        self._upsert(generation_id, "note", note.strip(), by)

    def archive(self, generation_id: str, by: str) -> None:
        self._set_archived(generation_id, True, by)

    def restore(self, generation_id: str, by: str) -> None:
        self._set_archived(generation_id, False, by)

    def _set_archived(self, generation_id: str, archived: bool, by: str) -> None:
        """The annotation (the record) and the log's copy that every filter reads
        (`generations.archived`, migration 0023), in one transaction."""
        with self.db.transaction() as cur:
            self._write(cur, generation_id, "archived_at", utcnow() if archived else None, by)
            cur.execute(
                "UPDATE generations SET archived = ? WHERE id = ? AND archived <> ?",
                [archived, generation_id, archived],
            )

    def get(self, generation_id: str) -> Annotation:
        return self.for_ids([generation_id]).get(generation_id, Annotation())

    def for_ids(self, generation_ids: Sequence[str]) -> dict[str, Annotation]:
        if not generation_ids:
            return {}
        marks = ", ".join("?" for _ in generation_ids)
        with self.db.cursor() as cur:
            rows = cur.execute(
                "SELECT generation_id, tags, note, archived_at FROM annotations"
                f" WHERE generation_id IN ({marks})",
                list(generation_ids),
            ).fetchall()
        return {gid: Annotation(_read(tags), note or "", when) for gid, tags, note, when in rows}

    def all_tags(self) -> list[str]:
        with self.db.cursor() as cur:
            rows = cur.execute("SELECT tags FROM annotations WHERE tags <> ''").fetchall()
        return sorted({t for (text,) in rows for t in _read(text)})

    def delete_for_good(self, generation_id: str) -> tuple[str, str] | None:
        """Remove a finished generation and what hangs on it (its ratings, measurements and
        annotation) in one transaction. Votes keep their copied model and prompt, and the
        spending ledger keeps what was paid. Returns the image's (path, thumbnail path) when
        no other generation shows the same image (its row is gone too and the caller removes
        the files), else None. KeyError when there is no such generation; ValueError while it
        is queued or with its provider."""
        with self.db.transaction() as cur:
            row = cur.execute(
                "SELECT g.status, g.image_sha256, i.path, i.thumb_path FROM generations g"
                " LEFT JOIN images i ON i.sha256 = g.image_sha256 WHERE g.id = ?",
                [generation_id],
            ).fetchone()
            if row is None:
                raise KeyError(f"No generation {generation_id}")
            status, sha, path, thumb = row
            if status in ("queued", "pending"):
                raise ValueError("it is still queued or with its provider")
            for table, column in (("ratings", "generation_id"), ("metrics", "generation_id"),
                                  ("annotations", "generation_id"), ("generations", "id")):
                cur.execute(f"DELETE FROM {table} WHERE {column} = ?", [generation_id])
            if sha is None or cur.execute(
                "SELECT 1 FROM generations WHERE image_sha256 = ? LIMIT 1", [sha]
            ).fetchone():
                return None
            cur.execute("DELETE FROM images WHERE sha256 = ?", [sha])
        return (path, thumb) if path else None
