"""The attempt log's writes: one row per attempt, written before the request (`pending`, or
`queued` for a run's cell) and completed after, with its outcome, image and cost.

Team mode: the outcome of an attempt (it may have been paid) is never lost to a dropped
connection. `complete` retries until the server answers again, for up to `reconnect_s`; past
that it appends the outcome to the data directory's journal (`store.journal`), which
`replay_journal` writes at the next start. Reads of the log live in `store.generations`.

Attempts that stop without an outcome (cancelled, interrupted, abandoned, expired, queued
again) are `store.attempt_queue`'s. On the embedded database every request is also appended
to the sent-requests ledger beside the file before it leaves, because DuckDB's last writes can
be lost with its write-ahead log: that ledger and the `uncertain` bookkeeping are
`store.sent_attempts`'s.

Statuses: `queued` (a run's cell, not sent yet), `pending` (being sent or with the provider),
then `succeeded`, `failed`, `moderated`, `cancelled` (a queued cell not sent), `not_sent` (the
attempt stopped before anything left: no key, a setting the provider refuses; nothing is paid)
or `interrupted`. An interrupted attempt's `error_kind` says what is known: `interrupted` (never
sent, or accepted by the provider: its result can be fetched), `uncertain` (cut off while
sending: it may or may not have reached the provider), `expired`, `resent`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.store.db import Backend, retry_conflicts, utcnow
from workbench.store.images import StoredImage
from workbench.store.journal import JOURNAL_NAME, OutcomeJournal
from workbench.store.spending import SpendLedger

log = logging.getLogger(__name__)

NEVER_SENT = "The workbench stopped before this attempt was sent."
ACCEPTED = (
    "The workbench stopped while this request was with the provider; it was not sent again, so"
    " it is not paid twice. `workbench recover` fetches its result while the provider keeps it."
)


def uncertain_message(generation_id: str, label: str, run_id: str | None) -> str:
    """What an attempt cut off while sending says, naming the actions that send it again."""
    again = f"`workbench generate --resend {generation_id}`"
    if run_id:
        again = f"`workbench run --resume {run_id} --resend-uncertain`, {again}"
    return (
        f"The workbench stopped while sending this request: it may or may not have reached "
        f"{label}. It was not sent again, so it is not paid twice. To send it again (it may "
        f"then be billed twice): {again}, or Send again in History."
    )

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
    resend_of: str | None = None  # the uncertain attempt this one sends again


@dataclass(frozen=True)
class Outcome:
    status: str  # succeeded | failed | moderated | not_sent | cancelled | interrupted
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
    prompt_used: str | None = None  # the provider's rewrite of the prompt, when it reported one
    # A failure the provider may have billed without saying how much: its reservation stays.
    may_be_billed: bool = False


class AttemptLog:
    """An attempt's lifecycle writes: its row before the request, the start of a queued cell,
    the provider's acceptance, and its outcome (settling its reservation), journalled when the
    team server is away."""

    def __init__(
        self, db: Backend, *, data_dir: Path | None = None, reconnect_s: float = 120.0
    ) -> None:
        self.db = db
        self.reconnect_s = reconnect_s
        self.journal = OutcomeJournal(data_dir / JOURNAL_NAME) if data_dir is not None else None
        self.journalled = 0  # outcomes this process had to keep in the journal

    def insert_pending(self, new: NewGeneration, cur: Any = None) -> None:
        """The attempt's row, before its request leaves (`cur`: inside the caller's
        transaction, e.g. its spending reservation's)."""
        if cur is None:
            with self.db.cursor() as own:
                self.insert_pending(new, own)
            return
        now = utcnow()
        cur.execute(
            "INSERT INTO generations (id, run_id, cell, created_at, status, model, provider,"
            " provider_model_id, template_id, slots, prompt_written, prompt, params,"
            " aspect_ratio, size, seed, category, worker_pid, request_hash, prompt_key,"
            " expected_text, submitted_at, library_version_id, parent_id, created_by,"
            " worker_host, resend_of)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?)",
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
                new.resend_of,
            ],
        )

    def complete(
        self, generation_id: str, outcome: Outcome, *,
        before_commit: Callable[[], object] | None = None,
    ) -> None:
        """Write an attempt's outcome. If the server went away (team mode), wait for it for up
        to `reconnect_s`, then keep the outcome in the journal rather than lose it.

        `before_commit` runs inside the transaction, after its statements and before it
        commits (and before the journal keeps the outcome): the outcome's image being stored
        meanwhile on another thread is waited for there, so that the row never names an image
        not on disk. What it raises rolls the transaction back and reaches the caller."""
        deadline = time.monotonic() + self.reconnect_s
        while True:
            try:
                self._complete_racing(generation_id, outcome, before_commit)
                return
            except self.db.transient as exc:
                left = deadline - time.monotonic()
                if left > 0 and self.db.wait_until_reachable(left):
                    continue
                if self.journal is None:
                    raise
                if before_commit is not None:
                    before_commit()
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

    def _complete_racing(
        self, generation_id: str, outcome: Outcome,
        before_commit: Callable[[], object] | None = None,
    ) -> None:
        # Two jobs storing the same image at the same moment race: the other one's images row
        # blocks this insert until it commits; then the retry only links to it.
        retry_conflicts(
            self.db.conflicts, lambda: self._complete(generation_id, outcome, before_commit)
        )

    def _complete(
        self, generation_id: str, outcome: Outcome,
        before_commit: Callable[[], object] | None = None,
    ) -> None:
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
                " width = ?, height = ?, cached_from = ?, retries = ?, retry_wait_s = ?,"
                # the prompt the provider says it used, when it rewrote the one sent
                " prompt_used = coalesce(?, prompt_used)"
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
                    outcome.prompt_used,
                    generation_id,
                ],
            )
            # The reservation against the daily caps becomes what was really paid: the
            # provider's cost where known, nothing for an attempt that failed without one
            # (unless it may have been billed: then the maximum stays reserved), and the
            # estimate kept for a success whose price nobody reported.
            paid = outcome.cost_usd
            if paid is None and outcome.status != "succeeded" and not outcome.may_be_billed:
                paid = 0.0
            SpendLedger.settle(cur, generation_id, paid)
            if before_commit is not None:
                before_commit()

    def start(self, generation_id: str, params: dict[str, Any], cur: Any = None) -> None:
        """A queued attempt of a run is about to be sent. From now on the provider may accept
        (and bill) it at any moment, so `submitted_at` is set before the request leaves: a run
        resumed after a crash never sends a cell again once its request may have gone out.
        (`cur`: inside the caller's transaction.)"""
        if cur is None:
            with self.db.cursor() as own:
                self.start(generation_id, params, own)
            return
        now = utcnow()
        cur.execute(
            "UPDATE generations SET status = 'pending', params = ?, worker_pid = ?,"
            " worker_host = ?, created_at = ?, submitted_at = ? WHERE id = ?",
            [json.dumps(params), os.getpid(), HOST, now, now, generation_id],
        )

    def unstart(self, generation_id: str) -> None:
        """A started attempt whose request did not leave after all (the sent-requests ledger
        could not be written) is queued again, as it was before `start`."""
        with self.db.cursor() as cur:
            cur.execute(
                "UPDATE generations SET status = 'queued', submitted_at = NULL"
                " WHERE id = ? AND status = 'pending'",
                [generation_id],
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

    def image_in_use(self, sha256: str) -> bool:
        """Whether any attempt's row shows this image (content-addressed: attempts that got
        the same bytes share one), asked right before the image is removed for good."""
        with self.db.cursor() as cur:
            return cur.execute(
                "SELECT 1 FROM generations WHERE image_sha256 = ? LIMIT 1", [sha256]
            ).fetchone() is not None

    def checkpoint(self) -> None:
        """Write the embedded database's log into its file now (a run's grid, before the run
        sends anything), so losing the log later cannot lose the run."""
        if self.db.dialect != "duckdb":
            return  # a server's commit is durable already

        def checkpoint() -> None:
            with self.db.cursor() as cur:
                cur.execute("CHECKPOINT")

        # Refused while another thread's write is under way (a background measurement, say):
        # tried again once it has committed.
        retry_conflicts(self.db.conflicts, checkpoint)
