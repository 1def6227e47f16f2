"""Arena votes: append-only rows, their aggregates for the ratings, and rows for export.

A vote copies model, provider, prompt, category and template from its two generations when it
is cast, so nothing here joins the generation log to count, filter or export votes: a vote
whose generations were later deleted still counts and never breaks a query. Offline sketches
compete under their own name (`contestant`), so a sketch "by" a model never moves that model's
score. Every statement is parameterised; filters reuse `HistoryFilter`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from workbench.domain.catalog import OFFLINE
from workbench.domain.filters import HistoryFilter
from workbench.domain.outcomes import WINNERS
from workbench.store.db import Backend, one_row, utcnow
from workbench.store.queries import ARCHIVED_IDS, contains_pattern
from workbench.store.records import Vote, first_record, records

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

OFFLINE_TAG = " (offline sketch)"
# A vote that counts: not undone. `vote_undos` is the record (migration 0019); each vote keeps a
# copy, `undone` (migration 0023), set with the undo and when a vote already undone is added
# again. Every read of votes `v` includes it.
LIVE_VOTE = "NOT v.undone"
_UNDONE = "SELECT fingerprint FROM vote_undos"


def refresh_undone(cur: Any) -> None:
    """Bring the votes' `undone` copies in line with `vote_undos` (after `db copy` brought undos
    for votes the target already had); votes already in line are untouched."""
    cur.execute(f"UPDATE votes SET undone = true WHERE NOT undone AND fingerprint IN ({_UNDONE})")


def contestant(model: str, provider: str | None) -> str:
    """The name a generation competes under: its model, or the model tagged as a sketch."""
    return f"{model}{OFFLINE_TAG}" if provider == OFFLINE else model


def _contestant_sql(side: str) -> str:
    return (
        f"CASE WHEN v.{side}_provider = '{OFFLINE}' THEN v.{side}_model || '{OFFLINE_TAG}'"
        f" ELSE v.{side}_model END"
    )


_GEN_CONTESTANT = (
    f"CASE WHEN g.provider = '{OFFLINE}' THEN g.model || '{OFFLINE_TAG}' ELSE g.model END"
)


def time_text(moment: datetime) -> str:
    """The canonical text of a vote's time (naive UTC, microseconds), as exported."""
    return moment.isoformat(timespec="microseconds")


def fingerprint(
    left_model: str, right_model: str, winner: str, criterion: str, rater: str,
    when: str, prompt: str | None,
) -> str:
    """What a vote says, hashed; an exported vote re-imported has the same fingerprint."""
    parts = (left_model, right_model, winner, criterion, rater, when, prompt or "")
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class NewVote:
    left_model: str
    right_model: str
    winner: str  # left | right | tie | both_bad
    criterion: str
    left_generation_id: str | None = None
    right_generation_id: str | None = None
    left_provider: str | None = None
    right_provider: str | None = None
    category: str | None = None
    template_id: str | None = None
    prompt: str | None = None
    swapped: bool = False
    rater: str = "me"
    is_repeat: bool = False
    repeat_of: int | None = None
    source: str = "arena"
    created_at: datetime | None = None  # naive UTC; now when None
    fingerprint: str | None = None  # computed from the fields when None

    def __post_init__(self) -> None:
        if self.winner not in WINNERS:
            raise ValueError(f"unknown winner '{self.winner}'; use {', '.join(WINNERS)}")

    def completed(self) -> NewVote:
        """With its time and fingerprint filled in."""
        when = self.created_at or utcnow()
        fp = self.fingerprint or fingerprint(
            self.left_model, self.right_model, self.winner, self.criterion, self.rater,
            time_text(when), self.prompt,
        )
        return replace(self, created_at=when, fingerprint=fp)


_COLUMNS = (
    "created_at", "left_generation_id", "right_generation_id", "left_model", "right_model",
    "left_provider", "right_provider", "criterion", "category", "template_id", "prompt",
    "winner", "swapped", "rater", "is_repeat", "repeat_of", "source", "fingerprint",
)
def _arrow_schema() -> pa.Schema:
    """The votes' Arrow layout for bulk inserts (pyarrow loads only when votes are imported,
    so a command that lists the log starts quickly)."""
    import pyarrow as pa

    return pa.schema(
        [
            ("created_at", pa.timestamp("us")),
            *((name, pa.string()) for name in _COLUMNS[1:11]),
            ("winner", pa.string()),
            ("swapped", pa.bool_()),
            ("rater", pa.string()),
            ("is_repeat", pa.bool_()),
            ("repeat_of", pa.int64()),
            ("source", pa.string()),
            ("fingerprint", pa.string()),
        ]
    )


def vote_filter_sql(
    f: HistoryFilter, criterion: str | None = None, rater: str | None = None
) -> tuple[str, list[Any]]:
    """WHERE clause over `votes v` for a history filter.

    Models and providers must match on both sides (a board of chosen models counts only their
    battles with each other); categories, templates, text and the date range (of the vote)
    apply to the vote's copied fields; the run id to either generation. Statuses and minimum
    star ratings describe single generations and do not apply to votes."""
    clauses: list[str] = [LIVE_VOTE]
    params: list[Any] = []

    def marks(values: Sequence[str]) -> str:
        return ", ".join("?" for _ in values)

    if criterion is not None:
        clauses.append("v.criterion = ?")
        params.append(criterion)
    if rater is not None:
        clauses.append("v.rater = ?")
        params.append(rater)
    if f.raters:
        clauses.append(f"v.rater IN ({marks(f.raters)})")
        params.extend(f.raters)
    for column, values in (("model", f.models), ("provider", f.providers)):
        if values:
            clauses.append(
                f"v.left_{column} IN ({marks(values)}) AND v.right_{column} IN ({marks(values)})"
            )
            params.extend([*values, *values])
    for column, values in (("v.template_id", f.templates), ("v.category", f.categories)):
        if values:
            clauses.append(f"{column} IN ({marks(values)})")
            params.extend(values)
    if f.run_id:
        clauses.append(
            "(v.left_generation_id IN (SELECT id FROM generations WHERE run_id = ?)"
            " OR v.right_generation_id IN (SELECT id FROM generations WHERE run_id = ?))"
        )
        params.extend([f.run_id, f.run_id])
    if not f.include_offline:
        clauses.append(
            f"coalesce(v.left_provider, '') <> '{OFFLINE}'"
            f" AND coalesce(v.right_provider, '') <> '{OFFLINE}'"
        )
    if f.start:
        clauses.append("v.created_at >= ?")
        params.append(f.start)
    if f.end:
        clauses.append("v.created_at < ?")
        params.append(f.end)
    if f.archived != "include":  # a vote on an archived image goes and comes back with it
        # Two uncorrelated semi-joins (hashed once); a vote without a generation id is on
        # nothing archived.
        left, right = (
            f"coalesce(v.{side}_generation_id, '') IN ({ARCHIVED_IDS})"
            for side in ("left", "right")
        )
        clauses.append(
            f"NOT {left} AND NOT {right}" if f.archived == "hide" else f"({left} OR {right})"
        )
    if f.text:
        clauses.append("v.prompt ILIKE ? ESCAPE '\\'")
        params.append(contains_pattern(f.text))
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _and(where: str, clause: str) -> str:
    return f"{where} AND {clause}" if where else f" WHERE {clause}"


class VoteLog:
    def __init__(self, db: Backend) -> None:
        self.db = db

    # -- writes -------------------------------------------------------------------------------
    def add(self, vote: NewVote) -> int:
        vote = vote.completed()
        with self.db.cursor() as cur:
            row = cur.execute(
                f"INSERT INTO votes (id, {', '.join(_COLUMNS)}, undone) SELECT"
                f" nextval('votes_id_seq'), {', '.join('?' for _ in _COLUMNS)},"
                " EXISTS (SELECT 1 FROM vote_undos WHERE fingerprint = ?) RETURNING id",
                [*(getattr(vote, name) for name in _COLUMNS), vote.fingerprint],
            ).fetchone()
        return int(one_row(row, "the new vote's id")[0])

    def add_many(self, votes: Iterable[NewVote]) -> int:
        """Insert many votes in one transaction (all or none); returns how many."""
        votes = [v.completed() for v in votes]
        if not votes:
            return 0
        import pyarrow as pa

        table = pa.Table.from_pydict(
            {name: [getattr(v, name) for v in votes] for name in _COLUMNS}, schema=_arrow_schema()
        )
        if self.db.dialect == "postgres":  # no Arrow scans there: one batch of rows
            with self.db.transaction() as cur:
                cur.executemany(
                    f"INSERT INTO votes (id, {', '.join(_COLUMNS)}) VALUES"
                    f" (nextval('votes_id_seq'), {', '.join('?' for _ in _COLUMNS)})",
                    [[getattr(v, name) for name in _COLUMNS] for v in votes],
                )
                refresh_undone(cur)  # a vote undone before it was imported here
            return len(votes)
        with self.db.transaction() as cur:
            cur.register("incoming_votes", table)
            try:
                cur.execute(
                    f"INSERT INTO votes (id, {', '.join(_COLUMNS)}, undone)"
                    f" SELECT nextval('votes_id_seq'), {', '.join(_COLUMNS)},"
                    f" fingerprint IN ({_UNDONE}) FROM incoming_votes"
                )
            finally:
                cur.unregister("incoming_votes")
        return len(votes)

    def undo(self, vote_id: int, rater: str) -> bool:
        """Undo one vote: a vote_undos row names it (append-only; the vote row stays). Only
        its own rater may undo it. False when there is no such vote of theirs or it was
        undone already."""
        with self.db.transaction() as cur:
            found = cur.execute(
                "SELECT fingerprint FROM votes WHERE id = ? AND rater = ?", [int(vote_id), rater]
            ).fetchone()
            if not found:
                return False
            done = cur.execute(
                "INSERT INTO vote_undos (fingerprint, rater, created_at) SELECT ?, ?, ?"
                " WHERE NOT EXISTS (SELECT 1 FROM vote_undos WHERE fingerprint = ?)"
                " RETURNING fingerprint",
                [found[0], rater, utcnow(), found[0]],
            ).fetchall()
            if done:  # every vote saying the same (one imported twice under two ids too)
                cur.execute(
                    "UPDATE votes SET undone = true WHERE fingerprint = ? AND NOT undone",
                    [found[0]],
                )
        return bool(done)

    def for_generation(self, generation_id: str) -> list[Vote]:
        """The votes that count and show this generation on either side, newest first."""
        with self.db.cursor() as cur:
            cursor = cur.execute(
                "SELECT * FROM votes v WHERE (v.left_generation_id = ? OR"
                f" v.right_generation_id = ?) AND {LIVE_VOTE} ORDER BY v.id DESC",
                [generation_id, generation_id],
            )
            return records(Vote, cursor)

    def is_undone(self, vote_id: int) -> bool:
        with self.db.cursor() as cur:
            row = cur.execute(
                "SELECT v.undone FROM votes v WHERE v.id = ?", [int(vote_id)]
            ).fetchone()
        return bool(row and row[0])

    # -- reads --------------------------------------------------------------------------------
    def get(self, vote_id: int) -> Vote | None:
        with self.db.cursor() as cur:
            cursor = cur.execute("SELECT * FROM votes WHERE id = ?", [int(vote_id)])
            return first_record(Vote, cursor)

    def count(self, f: HistoryFilter, criterion: str | None = None) -> int:
        where, params = vote_filter_sql(f, criterion)
        with self.db.cursor() as cur:
            row = cur.execute(f"SELECT count(*) FROM votes v{where}", params).fetchone()
        return int(one_row(row, "the vote count")[0])

    def existing_fingerprints(self, fingerprints: Iterable[str]) -> set[str]:
        import pyarrow as pa

        wanted = pa.table({"fingerprint": pa.array(sorted(set(fingerprints)), pa.string())})
        if not wanted.num_rows:
            return set()
        if self.db.dialect == "postgres":
            with self.db.cursor() as cur:
                rows = cur.execute(
                    "SELECT DISTINCT fingerprint FROM votes WHERE fingerprint = ANY(?)",
                    [wanted.column("fingerprint").to_pylist()],
                ).fetchall()
            return {r[0] for r in rows}
        with self.db.cursor() as cur:
            cur.register("wanted_fingerprints", wanted)
            try:
                rows = cur.execute(
                    "SELECT DISTINCT v.fingerprint FROM votes v"
                    " SEMI JOIN wanted_fingerprints w ON w.fingerprint = v.fingerprint"
                ).fetchall()
            finally:
                cur.unregister("wanted_fingerprints")
        return {r[0] for r in rows}

    def repeat_candidates(
        self, f: HistoryFilter, criterion: str, rater: str, *, skip_recent: int = 3
    ) -> list[tuple[int, str, str]]:
        """First votes by `rater` on `criterion` that can be shown again: both images still
        there, not repeated yet, and not among the rater's last `skip_recent` votes (an image
        seen seconds ago would be recognised)."""
        where, params = vote_filter_sql(f, criterion, rater)
        ok = "status = 'succeeded' AND image_sha256 IS NOT NULL"
        where = _and(
            where,
            "v.source = 'arena' AND NOT v.is_repeat"
            " AND v.id NOT IN (SELECT repeat_of FROM votes WHERE repeat_of IS NOT NULL)"
            " AND v.id NOT IN (SELECT id FROM votes WHERE rater = ? ORDER BY id DESC LIMIT ?)"
            f" AND v.left_generation_id IN (SELECT id FROM generations WHERE {ok})"
            f" AND v.right_generation_id IN (SELECT id FROM generations WHERE {ok})",
        )
        params = [*params, rater, max(int(skip_recent), 0)]
        sql = (
            "SELECT v.id, v.left_generation_id, v.right_generation_id FROM votes v"
            f"{where} ORDER BY v.id"
        )
        with self.db.cursor() as cur:
            return [(int(i), a, b) for i, a, b in cur.execute(sql, params).fetchall()]

    def frame(self, f: HistoryFilter, criterion: str | None = None) -> pd.DataFrame:
        """Every vote matching the filter, oldest first, one row each (for export)."""
        where, params = vote_filter_sql(f, criterion)
        sql = (
            "SELECT v.id, v.created_at, v.left_model, v.right_model, v.left_provider,"
            " v.right_provider, v.winner, v.criterion, v.category, v.template_id, v.prompt,"
            " v.rater, v.is_repeat, v.repeat_of, v.swapped, v.source, v.left_generation_id,"
            f" v.right_generation_id FROM votes v{where} ORDER BY v.created_at, v.id"
        )
        with self.db.cursor() as cur:
            return cur.execute(sql, params).df()

    def choices(self) -> dict[str, list[str]]:
        """Criteria, categories and raters that have votes (for filter widgets)."""
        with self.db.cursor() as cur:
            row = cur.execute(
                "SELECT array_agg(DISTINCT criterion ORDER BY criterion),"
                " array_agg(DISTINCT category ORDER BY category)"
                " FILTER (WHERE category IS NOT NULL),"
                " array_agg(DISTINCT rater ORDER BY rater) FROM votes"
            ).fetchone()
        keys = ("criteria", "categories", "raters")
        values = one_row(row, "the vote filter options")
        return {k: list(v or []) for k, v in zip(keys, values, strict=True)}
