"""Runs: one row per compare, matrix or suite run, with the spec it was started from (so it can
be resumed), its budget, what it spent and how it ended."""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

from workbench.store.attempts import HOST, MINE, pid_alive
from workbench.store.db import Backend, utcnow
from workbench.store.records import Run, RunSummary, first_record, records


class RunLog:
    def __init__(self, db: Backend) -> None:
        self.db = db

    def create(
        self, run_id: str, kind: str, name: str, spec: dict[str, Any], budget_usd: float | None
    ) -> None:
        with self.db.cursor() as cur:
            cur.execute(
                "INSERT INTO runs (id, kind, name, spec, budget_usd, status, created_at,"
                " worker_pid, worker_host) VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?)",
                [run_id, kind, name, json.dumps(spec), budget_usd, utcnow(), os.getpid(), HOST],
            )

    def reopen(self, run_id: str) -> None:
        with self.db.cursor() as cur:
            cur.execute(
                "UPDATE runs SET status = 'running', finished_at = NULL, worker_pid = ?,"
                " worker_host = ? WHERE id = ?",
                [os.getpid(), HOST, run_id],
            )

    def finish(self, run_id: str, status: str, spent_usd: float) -> None:
        with self.db.cursor() as cur:
            cur.execute(
                "UPDATE runs SET status = ?, finished_at = ?, spent_usd = ? WHERE id = ?",
                [status, utcnow(), spent_usd, run_id],
            )

    def get(self, run_id: str) -> Run | None:
        with self.db.cursor() as cur:
            return first_record(Run, cur.execute("SELECT * FROM runs WHERE id = ?", [run_id]))

    def recent(self, limit: int = 20) -> list[RunSummary]:
        with self.db.cursor() as cur:
            cursor = cur.execute(
                "SELECT r.id, r.kind, r.name, r.status, r.created_at, r.finished_at,"
                " r.budget_usd, r.spent_usd,"
                " (SELECT count(*) FROM generations g WHERE g.run_id = r.id) AS attempts"
                " FROM runs r ORDER BY r.created_at DESC LIMIT ?",
                [limit],
            )
            return records(RunSummary, cursor)

    def labels(self, limit: int = 200) -> list[tuple[str, str, str | None, datetime]]:
        """(id, kind, name, started) of the newest runs, for a filter's choices: the runs
        table alone (`recent` also counts each run's attempts in the log)."""
        with self.db.cursor() as cur:
            rows = cur.execute(
                "SELECT id, kind, name, created_at FROM runs ORDER BY created_at DESC LIMIT ?",
                [int(limit)],
            ).fetchall()
        return [(i, k, n, c) for i, k, n, c in rows]

    def mark_interrupted(self) -> int:
        """Runs whose process (on this machine) is gone are `interrupted` (resumable)."""
        with self.db.cursor() as cur:
            rows = cur.execute(
                f"SELECT id, worker_pid FROM runs WHERE status = 'running' AND {MINE}", [HOST]
            ).fetchall()
            dead = [rid for rid, pid in rows if pid is None or not pid_alive(pid)]
            for rid in dead:
                cur.execute(
                    "UPDATE runs SET status = 'interrupted', finished_at = ? WHERE id = ?",
                    [utcnow(), rid],
                )
        return len(dead)
