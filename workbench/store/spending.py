"""Money reserved against the shared daily caps (`WORKBENCH_DAILY_BUDGET_USD` for everyone,
`WORKBENCH_USER_DAILY_BUDGET_USD` per person).

`reserve` checks today's total and inserts the reservation in one transaction, and reservations
of one database never run at the same time: inside a process a lock orders them, across
processes the database turn does (`store.file_lock`: one process at a time has the file), and on
a PostgreSQL server a transaction-level advisory lock (`db.exclusive`). So two
runs started at once whose estimates each fit, but not together, cannot both send.

A reservation is the most the request can cost by the provider's documented pricing (the
generation service works it out), so while every provider bills within its documented maximum
the caps hold whatever the number of processes; `AttemptLog.complete` replaces it with what the
attempt was billed when the answer comes, and `release` removes it for a request that never
left.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from workbench.store.db import Backend, one_row, utcnow


@dataclass(frozen=True)
class Caps:
    everyone_usd: float | None = None
    per_person_usd: float | None = None

    @property
    def any(self) -> bool:
        return self.everyone_usd is not None or self.per_person_usd is not None


class SpendLedger:
    def __init__(self, db: Backend) -> None:
        self.db = db
        self._serial = threading.Lock()

    def reserve(
        self, generation_id: str, person: str, amount_usd: float, caps: Caps, *,
        then: Callable[[Any], None] | None = None, fresh: bool = False,
    ) -> str | None:
        """Reserve `amount_usd` for a request about to leave; return None, or why it may not
        (nothing is reserved then). `then(cur)` runs in the same transaction once the
        reservation is made (the attempt's row, so that both reach the disk in one commit);
        not when the reservation is refused. `fresh`: the id is a new attempt's, so no
        reservation can exist for it yet (a resumed cell's may)."""
        with self._serial, self.db.transaction() as cur:
            # Across processes on a server (team mode) the transaction holds the spending lock.
            self.db.exclusive(cur, "spending")
            refusal = self._reserve(
                cur, generation_id, person, float(amount_usd), caps, fresh=fresh
            )
            if refusal is None and then is not None:
                then(cur)
        return refusal

    def _reserve(
        self, cur: Any, generation_id: str, person: str, amount_usd: float, caps: Caps, *,
        fresh: bool,
    ) -> str | None:
        now = utcnow()
        day = now.date()
        if caps.any:
            # A resumed cell keeps its first reservation instead of adding a second one.
            if not fresh and cur.execute(
                "SELECT 1 FROM spend_reservations WHERE generation_id = ?", [generation_id]
            ).fetchone():
                return None
            everyone, mine = self._spent(cur, day, person)
            checks = (
                (caps.everyone_usd, everyone, "Today's shared spending cap",
                 "WORKBENCH_DAILY_BUDGET_USD", "everyone has"),
                (caps.per_person_usd, mine, "Your daily spending cap",
                 "WORKBENCH_USER_DAILY_BUDGET_USD", f"{person} has"),
            )
            for cap, spent, what, variable, who in checks:
                if cap is not None and spent + amount_usd > cap + 1e-9:
                    return (
                        f"{what} of ${cap:,.2f} ({variable}) would be passed: {who} "
                        f"${spent:,.4f} spent or reserved today and this image may cost "
                        f"up to ${amount_usd:,.4f}."
                    )
        if fresh:  # a plain insert: half the time of the guarded one below in DuckDB
            cur.execute(
                "INSERT INTO spend_reservations (generation_id, day, person, amount_usd,"
                " created_at) VALUES (?, ?, ?, ?, ?)",
                [generation_id, day, person, amount_usd, now],
            )
            return None
        # Nothing to check (or checked): one statement keeps the reservation, unless a
        # resumed cell has its first one already.
        cur.execute(
            "INSERT INTO spend_reservations (generation_id, day, person, amount_usd,"
            " created_at) SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS"
            " (SELECT 1 FROM spend_reservations WHERE generation_id = ?)",
            [generation_id, day, person, amount_usd, now, generation_id],
        )
        return None

    def release(self, generation_id: str) -> None:
        """The request never left (the sent-requests ledger could not be written, say): its
        reservation goes."""
        with self._serial, self.db.transaction() as cur:
            self.db.exclusive(cur, "spending")
            cur.execute(
                "DELETE FROM spend_reservations WHERE generation_id = ?", [generation_id]
            )

    @staticmethod
    def settle(cur: Any, key: str, amount_usd: float | None) -> None:
        """Inside the caller's transaction (the one that stores what the provider answered):
        the reservation `key` becomes `amount_usd`, what was billed; None keeps the reserved
        amount (a price nobody reported, or a failure that may have been billed)."""
        cur.execute(
            "UPDATE spend_reservations SET amount_usd = coalesce(?, amount_usd)"
            " WHERE generation_id = ?",
            [amount_usd, key],
        )

    @staticmethod
    def _spent(cur: Any, day: date, person: str) -> tuple[float, float]:
        row = cur.execute(
            "SELECT coalesce(sum(amount_usd), 0),"
            " coalesce(sum(CASE WHEN person = ? THEN amount_usd ELSE 0 END), 0)"
            " FROM spend_reservations WHERE day = ?",
            [person, day],
        ).fetchone()
        spent = one_row(row, "today's spend")
        return float(spent[0]), float(spent[1])

    def spent_today(self, person: str) -> tuple[float, float]:
        """(everyone, this person): spent or reserved today, UTC."""
        with self.db.cursor() as cur:
            return self._spent(cur, utcnow().date(), person)
