"""The attempts that end without an outcome from their provider: a run's queued cells cancelled
or queued again, attempts left pending or queued by a process that is gone (`interrupted`), an
attempt abandoned while its provider still works on it, and one whose result the provider no
longer keeps (`expired`). The statuses and error kinds are described in `store.attempts`; the
rows are the ones `AttemptLog` writes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from workbench.store.attempts import (
    ACCEPTED,
    HOST,
    MINE,
    NEVER_SENT,
    pid_alive,
    uncertain_message,
)
from workbench.store.db import Backend, utcnow


class AttemptQueue:
    """Status changes of attempts that stop before, or without waiting for, an outcome."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    def cancel_queued(self, run_id: str, message: str, kind: str = "cancelled") -> int:
        with self.db.cursor() as cur:
            rows = cur.execute(
                "UPDATE generations SET status = 'cancelled', finished_at = ?, error_kind = ?,"
                " error_message = ? WHERE run_id = ? AND status = 'queued' RETURNING id",
                [utcnow(), kind, message, run_id],
            ).fetchall()
        return len(rows)

    def mark_interrupted(self, labels: Mapping[str, str] | None = None) -> int:
        """Attempts left pending or queued by a process of this machine that is gone become
        `interrupted` (another machine's PIDs cannot be checked from here). One cut off while
        sending, without an answer from the provider, is `uncertain`; `labels` names the
        providers in its message (provider name -> label)."""
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
                " THEN ? ELSE ? END"
                f" WHERE status IN ('pending', 'queued') AND {MINE} AND ({clause})"
                " RETURNING id, provider, run_id, submitted_at, provider_request_id",
                [utcnow(), NEVER_SENT, ACCEPTED, HOST, *known],
            ).fetchall()
            for gid, provider, run_id, submitted_at, request_id in rows:
                if submitted_at is not None and request_id is None:
                    label = (labels or {}).get(provider, provider)
                    cur.execute(
                        "UPDATE generations SET error_kind = 'uncertain', error_message = ?"
                        " WHERE id = ?",
                        [uncertain_message(gid, label, run_id), gid],
                    )
        return len(rows)

    def abandon(self, generation_id: str, label: str, run_id: str | None) -> str | None:
        """Stop waiting for an attempt still with its provider (a second Ctrl-C): it becomes
        `interrupted`, keeping its request id, so `recover` fetches its result later; without
        a request id it is `uncertain`. Its reservation stays (it may be billed). Returns the
        error kind written, or None when the attempt had already ended."""
        with self.db.cursor() as cur:
            row = cur.execute(
                "SELECT provider_request_id, resume_url FROM generations"
                " WHERE id = ? AND status = 'pending'",
                [generation_id],
            ).fetchone()
            if row is None:
                return None
            request_id, resume_url = row
            if request_id is not None:
                kind = "interrupted"
                message = (
                    f"The workbench stopped waiting for {label} while it worked on this "
                    f"request ({request_id}); it was not sent again. `workbench recover` "
                    "fetches its result while the provider keeps it."
                    if resume_url is not None
                    else f"The workbench stopped waiting for {label} while it worked on this "
                    f"request ({request_id}); it was not sent again, and {label} gives no "
                    "address to fetch its result from."
                )
            else:
                kind, message = "uncertain", uncertain_message(generation_id, label, run_id)
            cur.execute(
                "UPDATE generations SET status = 'interrupted', finished_at = ?, error_kind = ?,"
                " error_message = ? WHERE id = ? AND status = 'pending'",
                [utcnow(), kind, message, generation_id],
            )
        return kind

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
