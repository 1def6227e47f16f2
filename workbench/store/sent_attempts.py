"""Which attempts went out: the sent-requests ledger beside the embedded database
(`store.sent_ledger`, None on PostgreSQL, whose commits are durable), the rows that say their
request was submitted, and the `uncertain` bookkeeping (an attempt that may or may not have
reached its provider is marked so, and marked `resent` once it is sent again on purpose).
"""

from __future__ import annotations

from pathlib import Path

from workbench.store.attempts import uncertain_message
from workbench.store.db import Backend, utcnow
from workbench.store.sent_ledger import SentLedger


class SentAttempts:
    """The ledger of requests about to leave, and the attempts it shows may have been sent."""

    def __init__(self, db: Backend) -> None:
        self.db = db
        self.ledger: SentLedger | None = (
            SentLedger.beside(Path(db.location)) if db.dialect == "duckdb" else None
        )

    def mark_resent(self, generation_id: str, new_id: str) -> None:
        """An uncertain attempt was sent again as `new_id`: it is not offered again."""
        with self.db.cursor() as cur:
            cur.execute(
                "UPDATE generations SET error_kind = 'resent', error_message = ?"
                " WHERE id = ? AND status = 'interrupted' AND error_kind = 'uncertain'",
                [
                    f"It may or may not have reached the provider; it was sent again as "
                    f"{new_id} on purpose.",
                    generation_id,
                ],
            )

    def mark_uncertain(self, generation_id: str, label: str, run_id: str | None) -> None:
        """The sent-requests ledger says this attempt was about to leave, the database lost
        that: it may or may not have reached the provider (never sent again unless asked)."""
        now = utcnow()
        with self.db.cursor() as cur:
            cur.execute(
                "UPDATE generations SET status = 'interrupted', error_kind = 'uncertain',"
                " error_message = ?, submitted_at = ?, finished_at = ?"
                " WHERE id = ? AND submitted_at IS NULL"
                " AND status IN ('queued', 'interrupted', 'cancelled')",
                [uncertain_message(generation_id, label, run_id), now, now, generation_id],
            )

    def recorded_as_sent(self, generation_ids: list[str]) -> set[str]:
        """Those of `generation_ids` whose row says the request went out."""
        found: set[str] = set()
        with self.db.cursor() as cur:
            for i in range(0, len(generation_ids), 500):
                chunk = generation_ids[i : i + 500]
                marks = ", ".join("?" for _ in chunk)
                found.update(
                    row[0]
                    for row in cur.execute(
                        f"SELECT id FROM generations WHERE id IN ({marks})"
                        " AND submitted_at IS NOT NULL",
                        chunk,
                    ).fetchall()
                )
        return found
