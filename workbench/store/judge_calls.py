"""The ledger of judge calls: a row written before a call leaves, completed after with what Google
billed, its spending reservation settled in the same transaction that stores the answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from workbench.store.db import Backend, utcnow
from workbench.store.judge_rows import CallRow
from workbench.store.spending import SpendLedger


class JudgeCalls:
    """The `judge_calls` table: the judge's money."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    def open_calls(self, cache_key: str) -> list[CallRow]:
        """Calls about `cache_key` that are done or may still be under way (pending)."""
        with self.db.cursor() as cur:
            rows = cur.execute(
                "SELECT id, kind, cache_key, judge_model, status, reserved_usd, cost_usd,"
                " error_message, result FROM judge_calls WHERE cache_key = ? AND status IN"
                " ('pending', 'done') ORDER BY created_at",
                [cache_key],
            ).fetchall()
        return [
            CallRow(r[0], r[1], r[2], r[3], r[4], float(r[5]),
                    None if r[6] is None else float(r[6]), r[7],
                    json.loads(r[8]) if r[8] else None)
            for r in rows
        ]

    def begin_call(
        self, call_id: str, kind: str, cache_key: str, judge_model: str, reserved_usd: float,
        created_by: str | None,
    ) -> None:
        with self.db.cursor() as cur:
            cur.execute(
                "INSERT INTO judge_calls (id, kind, cache_key, judge_model, status, reserved_usd,"
                " created_at, created_by) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)",
                [call_id, kind, cache_key, judge_model, float(reserved_usd), utcnow(),
                 created_by],
            )

    def finish_call(
        self, call_id: str, *, status: str, cost_usd: float | None,
        tokens: tuple[int, int, int] | None, finish_reason: str | None,
        error_kind: str | None, error_message: str | None, provider_ms: float | None,
        result: dict[str, Any] | None = None, then: Callable[[Any], None] | None = None,
    ) -> None:
        """Complete the ledger row and turn its spending reservation into what was billed
        (`cost_usd`; an unknown cost keeps the reservation, the most the call could cost).
        `then(cur)` writes what the call produced in the same transaction, so a done call
        always has its result stored."""
        inp, out, thinking = tokens if tokens is not None else (None, None, None)
        with self.db.transaction() as cur:
            cur.execute(
                "UPDATE judge_calls SET status = ?, cost_usd = ?, input_tokens = ?,"
                " output_tokens = ?, thinking_tokens = ?, finish_reason = ?, error_kind = ?,"
                " error_message = ?, provider_ms = ?, finished_at = ?, result = ? WHERE id = ?",
                [status, cost_usd, inp, out, thinking, finish_reason, error_kind,
                 error_message, provider_ms, utcnow(),
                 json.dumps(result) if result is not None else None, call_id],
            )
            if then is not None:
                then(cur)
            # settled in the transaction that stores the answer, as an image's is
            SpendLedger.settle(cur, call_id, cost_usd)

    def mark_interrupted(self, before: datetime) -> int:
        """Pending calls started before `before` (a crash, a kill) become `interrupted`: their
        outcome is unknown, so their reservation stays at the most they could cost, and the
        next batch may send what they asked again. Returns how many."""
        with self.db.transaction() as cur:
            row = cur.execute(
                "SELECT count(*) FROM judge_calls WHERE status = 'pending' AND created_at < ?",
                [before],
            ).fetchone()
            cur.execute(
                "UPDATE judge_calls SET status = 'interrupted', finished_at = ?,"
                " error_kind = 'interrupted', error_message = 'the process stopped before the"
                " answer was stored; it may have been billed' WHERE status = 'pending'"
                " AND created_at < ?",
                [utcnow(), before],
            )
        return int(row[0]) if row else 0

    def spent(self, judge_model: str | None = None) -> tuple[int, float]:
        """(calls, dollars billed) over the ledger."""
        where, params = ("WHERE judge_model = ?", [judge_model]) if judge_model else ("", [])
        with self.db.cursor() as cur:
            row = cur.execute(
                f"SELECT count(*), coalesce(sum(cost_usd), 0) FROM judge_calls {where}", params
            ).fetchone()
        return (int(row[0]), float(row[1])) if row else (0, 0.0)
