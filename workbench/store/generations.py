"""The generation log: one row per attempt, written before the request and completed after.

Every statement is parameterised; filters are built as a list of `where` clauses plus a list of
parameters, so user text never becomes SQL. Paging happens in SQL (LIMIT/OFFSET) and the count
is a separate query, so no page ever loads the whole table.

Team mode: the outcome of an attempt (it may have been paid) is never lost to a dropped
connection. `complete` retries until the server answers again, for up to `reconnect_s`; past
that it appends the outcome to the data directory's journal (`store.journal`), which
`replay_journal` writes at the next start.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, overload

from workbench.domain.filters import HistoryFilter
from workbench.store.db import Backend, one_row, retry_conflicts, utcnow
from workbench.store.images import StoredImage
from workbench.store.journal import JOURNAL_NAME, OutcomeJournal
from workbench.store.memo import ReadMemo
from workbench.store.performance import summary_answers
from workbench.store.queries import filter_sql, order_sql, sort_bound_clause, sort_bound_sql
from workbench.store.records import (
    CachedImage,
    Generation,
    GenerationListItem,
    ResumableAttempt,
    RunCell,
    first_record,
    records,
    select_list,
)

_LIST_COLUMNS = (
    "g.id, g.created_at, g.status, g.model, g.provider, g.template_id, g.prompt, g.aspect_ratio,"
    " g.size, g.seed, g.seed_returned, g.latency_ms, g.cost_usd, g.cost_kind, g.error_kind,"
    " g.error_message, g.image_sha256, g.width, g.height, g.category, g.run_id, g.parent_id,"
    " g.created_by, i.thumb_path, i.path AS image_path"
)
# Every column a `Generation` reads, by name: `g.*` would also bring the log's derived
# measurement columns (store.metric_columns), which are not part of a generation's record.
_GENERATION_COLUMNS = select_list(Generation, "g")
# A generation's image as `Generation` names it.
_IMAGE_COLUMNS = "i.path AS image_path, i.thumb_path, i.mime, i.bytes AS image_bytes"


def _skip_scan(column: str) -> str:
    """PostgreSQL: the sorted distinct non-NULL values of a generations column with an index,
    found by asking the index for the next greater value until there is none."""
    return (
        f"ARRAY(WITH RECURSIVE s(v) AS (SELECT min({column}) FROM generations UNION ALL"
        f" SELECT (SELECT min({column}) FROM generations WHERE {column} > s.v) FROM s"
        " WHERE s.v IS NOT NULL) SELECT v FROM s WHERE v IS NOT NULL ORDER BY v)"
    )


def same_prompt_key(record: Generation) -> str:
    return record.prompt_key or record.prompt


# The machine this process runs on: with a team database, a worker's PID is only meaningful
# together with it (migration 0016).
HOST = socket.gethostname()
# Rows this machine may judge by PID: its own, and rows from before hosts were recorded.
MINE = "(worker_host IS NULL OR worker_host = ?)"


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class NewGeneration:
    id: str
    model: str
    provider: str
    prompt: str
    prompt_written: str
    provider_model_id: str | None = None
    template_id: str | None = None
    slots: dict[str, str] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    aspect_ratio: str | None = None
    size: str | None = None
    seed: int | None = None
    run_id: str | None = None
    cell: str | None = None
    category: str | None = None
    status: str = "pending"  # or "queued": part of a run, not sent yet
    request_hash: str | None = None
    prompt_key: str | None = None  # ties one intent's wordings for different model families
    expected_text: str | None = None  # text the image must show, when the prompt says exactly
    library_version_id: str | None = None  # the prompt-library version it was made from
    parent_id: str | None = None  # the generation this one refines (lineage)
    created_by: str | None = None  # who asked for it


@dataclass(frozen=True)
class Outcome:
    status: str  # succeeded | failed | moderated | cancelled | interrupted
    latency_ms: float | None = None
    queue_ms: float | None = None
    cost_usd: float | None = None
    cost_kind: str = "unknown"
    provider_model_id: str | None = None
    provider_request_id: str | None = None
    seed_returned: int | None = None
    error_kind: str | None = None
    error_message: str | None = None
    image: StoredImage | None = None
    cached_from: str | None = None  # the generation whose image was reused (nothing was paid)
    retries: int = 0  # calls sent again (after a 429, a dropped poll...) before this outcome
    retry_wait_s: float = 0.0  # total time waited before those retries


log = logging.getLogger(__name__)


_LOG_COLUMN = re.compile(r"\bg\.(\w+)")


def _page_sql(where: str, order: str, columns: str) -> str:
    # Pick the page first; join images and ratings for its rows only. The page's latest
    # ratings are picked from its own rows: the `latest_ratings` view ranks every rating first
    # (a filter on it is not pushed below its window), about 15 ms more at 20,000 ratings.
    # The page keeps only the columns shown and ordered by: it is materialised (read twice),
    # and fetching every column of rows scattered over a million cost ~6 ms more per page.
    kept = sorted({"id", "image_sha256", *_LOG_COLUMN.findall(f"{columns} {order}")})
    return (
        f"WITH g AS MATERIALIZED (SELECT {', '.join(f'g.{c}' for c in kept)} FROM generations g"
        f"{where} ORDER BY {order} LIMIT ? OFFSET ?),"
        " r AS (SELECT generation_id, avg(stars) AS rating FROM ("
        "  SELECT DISTINCT ON (generation_id, criterion, rater) generation_id, stars"
        "  FROM ratings WHERE generation_id IN (SELECT id FROM g)"
        "  ORDER BY generation_id, criterion, rater, created_at DESC, id DESC) latest"
        "  GROUP BY generation_id)"
        f" SELECT {columns}, r.rating FROM g"
        " LEFT JOIN images i ON i.sha256 = g.image_sha256"
        " LEFT JOIN r ON r.generation_id = g.id"
        f" ORDER BY {order}"
    )


class GenerationLog:
    def __init__(
        self, db: Backend, *, data_dir: Path | None = None, reconnect_s: float = 120.0
    ) -> None:
        self.db = db
        self.memo = ReadMemo(db)
        self.reconnect_s = reconnect_s
        self.journal = OutcomeJournal(data_dir / JOURNAL_NAME) if data_dir is not None else None
        self.journalled = 0  # outcomes this process had to keep in the journal

    # -- writes -------------------------------------------------------------------------------
    def insert_pending(self, new: NewGeneration) -> None:
        now = utcnow()
        with self.db.cursor() as cur:
            cur.execute(
                "INSERT INTO generations (id, run_id, cell, created_at, status, model, provider,"
                " provider_model_id, template_id, slots, prompt_written, prompt, params,"
                " aspect_ratio, size, seed, category, worker_pid, request_hash, prompt_key,"
                " expected_text, submitted_at, library_version_id, parent_id, created_by,"
                " worker_host)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                " ?, ?)",
                [
                    new.id,
                    new.run_id,
                    new.cell,
                    now,
                    new.status,
                    new.model,
                    new.provider,
                    new.provider_model_id,
                    new.template_id,
                    json.dumps(new.slots) if new.slots is not None else None,
                    new.prompt_written,
                    new.prompt,
                    json.dumps(new.params),
                    new.aspect_ratio,
                    new.size,
                    new.seed,
                    new.category,
                    os.getpid(),
                    new.request_hash,
                    new.prompt_key,
                    new.expected_text,
                    now if new.status == "pending" else None,  # about to be sent
                    new.library_version_id,
                    new.parent_id,
                    new.created_by,
                    HOST,
                ],
            )

    def complete(self, generation_id: str, outcome: Outcome) -> None:
        """Write an attempt's outcome. If the server went away (team mode), wait for it for up
        to `reconnect_s`, then keep the outcome in the journal rather than lose it."""
        deadline = time.monotonic() + self.reconnect_s
        while True:
            try:
                self._complete_racing(generation_id, outcome)
                return
            except self.db.transient as exc:
                left = deadline - time.monotonic()
                if left > 0 and self.db.wait_until_reachable(left):
                    continue
                if self.journal is None:
                    raise
                self.journal.append(generation_id, dataclasses.asdict(outcome))
                self.journalled += 1
                log.warning(
                    "The database could not be reached for %.0f s (%s); the outcome of %s is "
                    "kept in %s and written at the next start.",
                    self.reconnect_s, type(exc).__name__, generation_id, self.journal.path,
                )
                return

    def replay_journal(self) -> int:
        """Write the outcomes an earlier process had to keep in the journal."""
        if self.journal is None:
            return 0

        def write(generation_id: str, fields: dict[str, Any]) -> None:
            image = fields.pop("image", None)
            outcome = Outcome(**fields, image=StoredImage(**image) if image else None)
            self._complete_racing(generation_id, outcome)

        return self.journal.replay(write)

    def _complete_racing(self, generation_id: str, outcome: Outcome) -> None:
        # Two jobs storing the same image at the same moment race: the other one's images row
        # blocks this insert until it commits; then the retry only links to it.
        retry_conflicts(self.db.conflicts, lambda: self._complete(generation_id, outcome))

    def _complete(self, generation_id: str, outcome: Outcome) -> None:
        image = outcome.image
        with self.db.transaction() as cur:
            if image is not None:
                # NOT EXISTS instead of ON CONFLICT DO NOTHING: same effect, half the time in
                # DuckDB (ON CONFLICT costs ~2 ms per row here), and this is on every success.
                cur.execute(
                    "INSERT INTO images (sha256, path, thumb_path, mime, bytes, width, height)"
                    " SELECT ?, ?, ?, ?, ?, ?, ?"
                    " WHERE NOT EXISTS (SELECT 1 FROM images WHERE sha256 = ?)",
                    [
                        image.sha256,
                        image.path,
                        image.thumb_path,
                        image.mime,
                        image.bytes,
                        image.width,
                        image.height,
                        image.sha256,
                    ],
                )
            cur.execute(
                "UPDATE generations SET status = ?, finished_at = ?, latency_ms = ?,"
                " queue_ms = ?, cost_usd = ?, cost_kind = ?,"
                " provider_model_id = coalesce(?, provider_model_id),"
                " provider_request_id = coalesce(?, provider_request_id),"
                " seed_returned = ?, error_kind = ?, error_message = ?, image_sha256 = ?,"
                " width = ?, height = ?, cached_from = ?, retries = ?, retry_wait_s = ?"
                " WHERE id = ?",
                [
                    outcome.status,
                    utcnow(),
                    outcome.latency_ms,
                    outcome.queue_ms,
                    outcome.cost_usd,
                    outcome.cost_kind,
                    outcome.provider_model_id,
                    outcome.provider_request_id,
                    outcome.seed_returned,
                    outcome.error_kind,
                    outcome.error_message,
                    image.sha256 if image else None,
                    image.width if image else None,
                    image.height if image else None,
                    outcome.cached_from,
                    outcome.retries,
                    outcome.retry_wait_s,
                    generation_id,
                ],
            )
            # The reservation against the daily caps becomes what was really paid: the
            # provider's cost where known, nothing for an attempt that failed without one, and
            # the estimate kept for a success whose price nobody reported.
            paid = outcome.cost_usd
            if paid is None and outcome.status != "succeeded":
                paid = 0.0
            cur.execute(
                "UPDATE spend_reservations SET amount_usd = coalesce(?, amount_usd)"
                " WHERE generation_id = ?",
                [paid, generation_id],
            )

    def start(self, generation_id: str, params: dict[str, Any]) -> None:
        """A queued attempt of a run is about to be sent. From now on the provider may accept
        (and bill) it at any moment, so `submitted_at` is set before the request leaves: a run
        resumed after a crash never sends a cell again once its request may have gone out."""
        now = utcnow()
        with self.db.cursor() as cur:
            cur.execute(
                "UPDATE generations SET status = 'pending', params = ?, worker_pid = ?,"
                " worker_host = ?, created_at = ?, submitted_at = ? WHERE id = ?",
                [json.dumps(params), os.getpid(), HOST, now, now, generation_id],
            )

    def mark_submitted(
        self, generation_id: str, provider_request_id: str | None, resume_url: str | None = None
    ) -> None:
        """The provider accepted the job: keep its id (for support) and the URL that reports
        on it (to fetch the result after a crash). Best effort when the team server is away:
        the job goes on, and its outcome is written (or journalled) when it ends."""
        try:
            with self.db.cursor() as cur:
                cur.execute(
                    "UPDATE generations SET provider_request_id = coalesce(?,"
                    " provider_request_id), resume_url = coalesce(?, resume_url) WHERE id = ?",
                    [provider_request_id, resume_url, generation_id],
                )
        except self.db.transient as exc:
            log.warning("could not record that %s was accepted: %s", generation_id,
                        type(exc).__name__)

    def cancel_queued(self, run_id: str, message: str, kind: str = "cancelled") -> int:
        with self.db.cursor() as cur:
            rows = cur.execute(
                "UPDATE generations SET status = 'cancelled', finished_at = ?, error_kind = ?,"
                " error_message = ? WHERE run_id = ? AND status = 'queued' RETURNING id",
                [utcnow(), kind, message, run_id],
            ).fetchall()
        return len(rows)

    def mark_interrupted(self) -> int:
        """Attempts left pending or queued by a process of this machine that is gone become
        `interrupted` (another machine's PIDs cannot be checked from here)."""
        with self.db.cursor() as cur:
            workers = [
                row[0]
                for row in cur.execute(
                    "SELECT DISTINCT worker_pid FROM generations"
                    f" WHERE status IN ('pending', 'queued') AND {MINE}", [HOST]
                ).fetchall()
            ]
            dead = [pid for pid in workers if pid is None or not pid_alive(pid)]
            if not dead:
                return 0
            known = [pid for pid in dead if pid is not None]
            clause = "worker_pid IS NULL" + (
                f" OR worker_pid IN ({', '.join('?' for _ in known)})" if known else ""
            )
            rows = cur.execute(
                "UPDATE generations SET status = 'interrupted', finished_at = ?,"
                " error_kind = 'interrupted', error_message = CASE WHEN submitted_at IS NULL"
                " THEN 'The workbench stopped before this attempt was sent.'"
                " ELSE 'The workbench stopped while this request was with the provider; it was"
                " not sent again, so it is not paid twice. Resend it from History if the"
                " provider did no work.' END"
                f" WHERE status IN ('pending', 'queued') AND {MINE} AND ({clause}) RETURNING id",
                [utcnow(), HOST, *known],
            ).fetchall()
        return len(rows)

    def resumable(self, run_id: str | None = None) -> list[ResumableAttempt]:
        """Interrupted attempts a provider had accepted (an id and a status URL are known):
        their results may still be fetched instead of lost."""
        where = "" if run_id is None else " AND run_id = ?"
        with self.db.cursor() as cur:
            cursor = cur.execute(
                "SELECT id, run_id, cell, model, provider, provider_model_id,"
                " provider_request_id, resume_url, aspect_ratio, size, seed FROM generations"
                " WHERE status = 'interrupted' AND error_kind = 'interrupted'"
                " AND provider_request_id IS NOT NULL AND resume_url IS NOT NULL"
                f"{where} ORDER BY created_at, id",
                [] if run_id is None else [run_id],
            )
            return records(ResumableAttempt, cursor)

    def mark_expired(self, generation_id: str, message: str) -> None:
        """The provider no longer has this job's result: say so, and stop asking for it."""
        with self.db.cursor() as cur:
            cur.execute(
                "UPDATE generations SET error_kind = 'expired', error_message = ?"
                " WHERE id = ? AND status = 'interrupted'",
                [message, generation_id],
            )

    def requeue(self, generation_id: str) -> None:
        """A cell that never left (interrupted or cancelled before sending) is queued again on
        its own row, so a resumed run completes it there instead of adding a second attempt."""
        with self.db.cursor() as cur:
            cur.execute(
                "UPDATE generations SET status = 'queued', worker_pid = ?, worker_host = ?,"
                " finished_at = NULL, error_kind = NULL, error_message = NULL"
                " WHERE id = ? AND submitted_at IS NULL",
                [os.getpid(), HOST, generation_id],
            )

    def find_cached(self, request_hash: str) -> CachedImage | None:
        """The newest succeeded attempt of an identical request, for "don't pay twice"."""
        with self.db.cursor() as cur:
            cursor = cur.execute(
                "SELECT g.id, g.image_sha256, g.seed_returned, i.path, i.thumb_path, i.mime,"
                " i.bytes, i.width, i.height FROM generations g"
                " JOIN images i ON i.sha256 = g.image_sha256"
                " WHERE g.request_hash = ? AND g.status = 'succeeded'"
                " ORDER BY g.created_at DESC LIMIT 1",
                [request_hash],
            )
            return first_record(CachedImage, cursor)

    def run_cells(self, run_id: str) -> list[RunCell]:
        with self.db.cursor() as cur:
            cursor = cur.execute(
                "SELECT g.id, g.cell, g.status, g.submitted_at, g.cost_usd, g.cost_kind,"
                " g.latency_ms, g.error_kind, g.error_message, i.path AS image_path,"
                " i.thumb_path FROM generations g LEFT JOIN images i ON i.sha256 = g.image_sha256"
                " WHERE g.run_id = ? ORDER BY g.created_at, g.id",
                [run_id],
            )
            return records(RunCell, cursor)

    def spent_since(self, since: datetime) -> float:
        with self.db.cursor() as cur:
            row = cur.execute(
                "SELECT coalesce(sum(cost_usd), 0) FROM generations WHERE created_at >= ?",
                [since],
            ).fetchone()
        return float(one_row(row, "the spend since a time")[0])

    # -- reads --------------------------------------------------------------------------------
    @overload
    def page(
        self, f: HistoryFilter, *, limit: int = ..., offset: int = ...,
        every_column: Literal[False] = ...,
    ) -> list[GenerationListItem]: ...

    @overload
    def page(
        self, f: HistoryFilter, *, limit: int = ..., offset: int = ..., every_column: Literal[True]
    ) -> list[Generation]: ...

    def page(
        self, f: HistoryFilter, *, limit: int = 50, offset: int = 0, every_column: bool = False
    ) -> list[GenerationListItem] | list[Generation]:
        """One page of the log; `every_column` gives every logged column (for exports)."""
        where, params = filter_sql(f)
        order, order_params = order_sql(f)
        columns = f"{_GENERATION_COLUMNS}, {_IMAGE_COLUMNS}" if every_column else _LIST_COLUMNS
        with self.db.cursor() as cur:
            bound = sort_bound_sql(f, where, params, int(limit) + int(offset))
            value = cur.execute(*bound).fetchone() if bound else None
            if value is not None and value[0] is not None:
                clause, extra = sort_bound_clause(f, value[0])
                where = f"{where} AND {clause}" if where else f" WHERE {clause}"
                params = [*params, *extra]
            cursor = cur.execute(
                _page_sql(where, order, columns),
                [*params, *order_params, int(limit), int(offset), *order_params],
            )
            if every_column:
                return records(Generation, cursor)
            return records(GenerationListItem, cursor)

    def count(self, f: HistoryFilter) -> int:
        where, params = filter_sql(f)
        # PostgreSQL counts a million rows slowly; a filter on the summary's columns only (the
        # History page's default) is answered from it, exactly (see store.performance).
        table = "generations"
        if self.db.dialect == "postgres" and summary_answers(f):
            table = "generation_summary"
        sql = "SELECT coalesce(sum(n), 0)" if table != "generations" else "SELECT count(*)"
        with self.db.cursor() as cur:
            row = cur.execute(f"{sql} FROM {table} g{where}", params).fetchone()
        return int(one_row(row, "the generation count")[0])

    def get(self, generation_id: str) -> Generation | None:
        with self.db.cursor() as cur:
            cursor = cur.execute(
                f"SELECT {_GENERATION_COLUMNS}, {_IMAGE_COLUMNS}"
                " FROM generations g LEFT JOIN images i ON i.sha256 = g.image_sha256"
                " WHERE g.id = ?",
                [generation_id],
            )
            return first_record(Generation, cursor)

    def with_images(self) -> list[Generation]:
        """Every succeeded attempt with a stored image, oldest first (to measure them again)."""
        with self.db.cursor() as cur:
            cursor = cur.execute(
                f"SELECT {_GENERATION_COLUMNS}, {_IMAGE_COLUMNS} FROM generations g"
                " JOIN images i ON i.sha256 = g.image_sha256 WHERE g.status = 'succeeded'"
                " ORDER BY g.created_at, g.id"
            )
            return records(Generation, cursor)

    def choices(self) -> dict[str, list[str]]:
        """Distinct values for the filter widgets: from one scan in DuckDB; on PostgreSQL by
        skipping through each column's index (one probe per distinct value, not a scan of a
        million rows). Remembered while nothing is written (store.memo): every History rerun
        asks."""
        return self.memo.read("choices", self._choices)

    def _choices(self) -> dict[str, list[str]]:
        if self.db.dialect == "postgres":
            columns = ("model", "provider", "template_id", "status", "category")
            with self.db.cursor() as cur:
                row = cur.execute(
                    "SELECT " + ", ".join(_skip_scan(c) for c in columns)
                ).fetchone()
            values = one_row(row, "the generation filter options")
            keys = ("models", "providers", "templates", "statuses", "categories")
            return {k: list(v or []) for k, v in zip(keys, values, strict=True)}
        with self.db.cursor() as cur:
            row = cur.execute(
                "SELECT array_agg(DISTINCT model ORDER BY model), array_agg(DISTINCT provider"
                " ORDER BY provider), array_agg(DISTINCT template_id ORDER BY template_id)"
                " FILTER (WHERE template_id IS NOT NULL), array_agg(DISTINCT status ORDER BY"
                " status), array_agg(DISTINCT category ORDER BY category) FILTER (WHERE category"
                " IS NOT NULL) FROM generations"
            ).fetchone()
        keys = ("models", "providers", "templates", "statuses", "categories")
        values = one_row(row, "the generation filter options")
        return {k: list(v or []) for k, v in zip(keys, values, strict=True)}

    def status_counts(self) -> dict[str, int]:
        with self.db.cursor() as cur:
            rows = cur.execute(
                "SELECT status, count(*) FROM generations GROUP BY status"
            ).fetchall()
        return {status: int(n) for status, n in rows}
