"""Copying a whole history from one database to another (`workbench db copy`), on either backend.

Rows are matched by what they are, not by where they sit, so a copy is idempotent and never
overwrites anything on the other side:

- tables keyed by an id the workbench makes (generations, runs, images, library rows, spend
  reservations) copy the rows whose key the target lacks;
- append-only tables numbered by a sequence (ratings, votes, measurements) copy the rows whose
  content (every column but the number) the target lacks, numbered by the target's own
  sequence, so a team database that already holds other people's rows keeps them. A repeated
  vote's link to its first vote is carried over by content too.

Afterwards every source row is looked up on the target: per table, row counts and a checksum
of the source's rows and of the same rows as the target holds them. A row that the target holds
differently under the same key (or not at all) is a mismatch.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from workbench.store.annotations import refresh_archived
from workbench.store.db import Backend, StoreError
from workbench.store.metric_columns import is_derived
from workbench.store.metric_columns import refresh as refresh_metric_columns
from workbench.store.votes import refresh_undone

# (table, key columns) for tables keyed by the workbench's own ids, in copy order.
KEYED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("runs", ("id",)),
    ("images", ("sha256",)),
    ("generations", ("id",)),
    ("spend_reservations", ("generation_id",)),
    ("library_versions", ("id",)),
    ("library_marks", ("id",)),
    ("library_heads", ("name",)),
    ("judge_question_sets", ("id",)),
    ("judge_calls", ("id",)),
    ("judge_scores", ("image_sha256", "question_set_id", "judge_model")),
    ("judge_votes", ("id",)),
    ("vote_undos", ("fingerprint",)),  # names a vote by content, the same on both sides
    ("annotations", ("generation_id",)),
)
# (table, sequence, the column pointing at another row of the same table or None).
NUMBERED: tuple[tuple[str, str, str | None], ...] = (
    ("ratings", "ratings_id_seq", None),
    ("votes", "votes_id_seq", "repeat_of"),
    ("metrics", "metrics_id_seq", None),
)
# Flags each kept beside its record (migration 0023): rebuilt on the target, never copied.
COPIES = {"generations": ("archived",), "votes": ("undone",)}
# Bookkeeping of each database itself, never copied.
NOT_COPIED = ("_migrations",)
BATCH = 2000


def tables() -> tuple[str, ...]:
    return tuple(t for t, _ in KEYED) + tuple(t for t, _, _ in NUMBERED)


def _canonical(value: Any) -> Any:
    """One spelling per value on both backends: JSON text and parsed JSON hash alike, and so do
    a DuckDB and a PostgreSQL timestamp of the same instant."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.dumps(json.loads(value), sort_keys=True, separators=(",", ":"))
        except ValueError:
            return value
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)  # 3.0 in a DOUBLE and 3 read back through another driver
    return value


def _digest(values: Iterable[Any]) -> str:
    text = json.dumps([_canonical(v) for v in values], default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _checksum(digests: Iterable[str]) -> str:
    whole = hashlib.sha256()
    for digest in sorted(digests):
        whole.update(digest.encode())
    return whole.hexdigest()[:16]


def _for_insert(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, dict | list) else value


@dataclass(frozen=True)
class TableReport:
    table: str
    source_rows: int
    target_rows: int  # after the copy (may hold other rows too)
    copied: int
    source_checksum: str
    target_checksum: str  # of the source's rows as the target holds them
    missing: int  # source rows the target does not hold as they are

    @property
    def ok(self) -> bool:
        return self.missing == 0 and self.source_checksum == self.target_checksum


class Side:
    """One database of a copy: reads a table in batches, writes rows."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    def columns(self, table: str) -> list[str]:
        with self.db.cursor() as cur:
            rows = cur.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_catalog = current_database() AND table_schema = current_schema()"
                " AND table_name = ?"
                " ORDER BY ordinal_position",
                [table],
            ).fetchall()
        # The log's copies of measurement values, archive choices and undos are derived from
        # their records: not copied, rebuilt on the target once those are in (copy_all).
        return [r[0] for r in rows if not (
            (table == "generations" and is_derived(r[0])) or r[0] in COPIES.get(table, ())
        )]

    def rows(
        self, table: str, columns: Sequence[str], order: Sequence[str]
    ) -> Iterator[tuple[Any, ...]]:
        """Every row, ordered by the key columns `order` (read a batch at a time, each after
        the last key seen, compared as a row value on both backends, so a million rows cost no
        more per batch than a thousand)."""
        names = ", ".join(columns)
        at = [list(columns).index(c) for c in order]
        key = ", ".join(order)
        last: list[Any] | None = None
        while True:
            after = "" if last is None else f" WHERE ({key}) > ({', '.join('?' for _ in at)})"
            with self.db.cursor() as cur:
                batch = cur.execute(
                    f"SELECT {names} FROM {table}{after} ORDER BY {key} LIMIT ?",
                    [*(last or []), BATCH],
                ).fetchall()
            yield from (tuple(r) for r in batch)
            if len(batch) < BATCH:
                return
            last = [batch[-1][i] for i in at]

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        with self.db.transaction() as cur:
            for row in rows:
                cur.execute(sql, [_for_insert(v) for v in row])

    def insert_numbered(
        self,
        table: str,
        sequence: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        fix: Callable[[list[Any]], list[Any]],
        done: Callable[[int], None],
    ) -> None:
        """Insert rows numbered by this database's sequence, in one transaction and in order:
        `fix` may rewrite a row just before it goes (a link to a row inserted earlier in the
        batch), `done` hears each new id."""
        if not rows:
            return
        marks = ", ".join("?" for _ in columns)
        sql = (
            f"INSERT INTO {table} (id, {', '.join(columns)})"
            f" VALUES (nextval('{sequence}'), {marks}) RETURNING id"
        )
        with self.db.transaction() as cur:
            for row in rows:
                found = cur.execute(sql, [_for_insert(v) for v in fix(list(row))]).fetchone()
                if found is None:
                    raise StoreError(f"Inserting into {table} returned no id.")
                done(int(found[0]))

    def count(self, table: str) -> int:
        with self.db.cursor() as cur:
            found = cur.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(found[0]) if found else 0


def copy_keyed(source: Side, target: Side, table: str, key: Sequence[str]) -> TableReport:
    columns = source.columns(table)
    at = [columns.index(k) for k in key]
    held = {tuple(r[i] for i in at): _digest(r) for r in target.rows(table, columns, key)}
    pending: list[tuple[Any, ...]] = []
    source_digests: list[str] = []
    target_digests: list[str] = []
    copied = missing = 0
    for row in source.rows(table, columns, key):
        k = tuple(row[i] for i in at)
        digest = _digest(row)
        source_digests.append(digest)
        if k in held:
            target_digests.append(held[k])
            missing += held[k] != digest  # another row under the same key: left as it is
            continue
        pending.append(row)
        target_digests.append(digest)
        if len(pending) >= BATCH:
            target.insert(table, columns, pending)
            copied += len(pending)
            pending = []
    target.insert(table, columns, pending)
    copied += len(pending)
    return TableReport(
        table, len(source_digests), target.count(table), copied, _checksum(source_digests),
        _checksum(target_digests), missing,
    )


def _numbered_digests(
    side: Side, table: str, columns: Sequence[str], link: str | None
) -> Iterator[tuple[int, str, tuple[Any, ...]]]:
    """(id, content digest, row without id) in id order; a link to another row of the table
    is hashed as that row's digest, so it means the same row on both sides."""
    by_id: dict[int, str] = {}
    at = columns.index(link) if link else -1
    for row in side.rows(table, ["id", *columns], ["id"]):
        rid, rest = int(row[0]), tuple(row[1:])
        shown = list(rest)
        if at >= 0 and rest[at] is not None:
            shown[at] = by_id.get(int(rest[at]), f"missing:{rest[at]}")
        digest = _digest(shown)
        by_id[rid] = digest
        yield rid, digest, rest


def copy_numbered(
    source: Side, target: Side, table: str, sequence: str, link: str | None
) -> TableReport:
    columns = [c for c in source.columns(table) if c != "id"]
    at = columns.index(link) if link else -1
    available: Counter[str] = Counter()
    target_id: dict[str, int] = {}
    for rid, digest, _ in _numbered_digests(target, table, columns, link):
        available[digest] += 1
        target_id.setdefault(digest, rid)
    source_digest_of: dict[int, str] = {}
    source_digests: list[str] = []
    pending: list[tuple[str, tuple[Any, ...]]] = []
    copied = 0

    def flush() -> None:
        nonlocal copied
        digests = iter([d for d, _ in pending])

        def fix(values: list[Any]) -> list[Any]:
            if at >= 0 and values[at] is not None:
                # the first vote went (or was found) before its repeat: ids ascend
                values[at] = target_id.get(source_digest_of.get(int(values[at]), ""))
            return values

        def done(new_id: int) -> None:
            target_id.setdefault(next(digests), new_id)

        target.insert_numbered(table, sequence, columns, [r for _, r in pending], fix, done)
        copied += len(pending)
        pending.clear()

    for rid, digest, row in _numbered_digests(source, table, columns, link):
        source_digest_of[rid] = digest
        source_digests.append(digest)
        if available[digest] > 0:
            available[digest] -= 1
            continue
        pending.append((digest, row))
        if len(pending) >= BATCH:
            flush()
    flush()
    after = Counter(d for _, d, _ in _numbered_digests(target, table, columns, link))
    wanted = Counter(source_digests)
    found = [d for d, n in wanted.items() for _ in range(min(n, after[d]))]
    missing = sum((wanted - after).values())
    return TableReport(
        table, len(source_digests), target.count(table), copied, _checksum(source_digests),
        _checksum(found), missing,
    )


def copy_all(source: Backend, target: Backend) -> list[TableReport]:
    """Copy every table; one report per table, in copy order."""
    a, b = Side(source), Side(target)
    # Many short units of work on each side: keep both files open between them while no
    # other process waits, instead of reopening them for each.
    with source.kept_open(), target.kept_open():
        reports = [copy_keyed(a, b, table, key) for table, key in KEYED]
        reports += [copy_numbered(a, b, t, seq, link) for t, seq, link in NUMBERED]
        if any(r.copied for r in reports):
            with target.transaction() as cur:
                refresh_metric_columns(cur)
                refresh_archived(cur)
                refresh_undone(cur)
    return reports


def image_paths(db: Backend) -> list[tuple[str, str, str]]:
    """(sha256, path, thumb_path) of every stored image, relative to its data directory."""
    with db.cursor() as cur:
        rows = cur.execute("SELECT sha256, path, thumb_path FROM images ORDER BY sha256").fetchall()
    return [(r[0], r[1], r[2]) for r in rows]
