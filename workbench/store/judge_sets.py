"""The judge's question sets: versioned per prompt text and judge model, a new version appended
under a unique key so two writers cannot both add the same one."""

from __future__ import annotations

import json
from typing import Any

from workbench.store.db import Backend, utcnow
from workbench.store.judge_rows import SET_COLUMNS, QuestionSetRow, question_set_row, writing


class QuestionSets:
    """The `judge_question_sets` table."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    def current_set(self, prompt_hash: str, judge_model: str) -> QuestionSetRow | None:
        with self.db.cursor() as cur:
            row = cur.execute(
                f"SELECT {SET_COLUMNS} FROM judge_question_sets WHERE prompt_hash = ?"
                " AND judge_model = ? ORDER BY version DESC LIMIT 1",
                [prompt_hash, judge_model],
            ).fetchone()
        return question_set_row(row) if row else None

    def get_set(self, set_id: str) -> QuestionSetRow | None:
        with self.db.cursor() as cur:
            row = cur.execute(
                f"SELECT {SET_COLUMNS} FROM judge_question_sets WHERE id = ?", [set_id]
            ).fetchone()
        return question_set_row(row) if row else None

    def set_versions(self, prompt_hash: str, judge_model: str) -> list[QuestionSetRow]:
        with self.db.cursor() as cur:
            rows = cur.execute(
                f"SELECT {SET_COLUMNS} FROM judge_question_sets WHERE prompt_hash = ?"
                " AND judge_model = ? ORDER BY version",
                [prompt_hash, judge_model],
            ).fetchall()
        return [question_set_row(r) for r in rows]

    def add_set(
        self, set_id: str, prompt_hash: str, prompt: str, judge_model: str, source: str,
        questions: list[dict[str, Any]], call_id: str | None, created_by: str | None,
        cur: Any = None,
    ) -> QuestionSetRow:
        """Append the next version (the unique key refuses a second writer of the same one)."""
        now = utcnow()
        with writing(self.db, cur) as cur:
            row = cur.execute(
                "SELECT coalesce(max(version), 0) FROM judge_question_sets"
                " WHERE prompt_hash = ? AND judge_model = ?",
                [prompt_hash, judge_model],
            ).fetchone()
            version = int(row[0] if row else 0) + 1
            cur.execute(
                f"INSERT INTO judge_question_sets ({SET_COLUMNS}) VALUES"
                " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [set_id, prompt_hash, prompt, judge_model, version, source,
                 json.dumps(questions), call_id, now, created_by],
            )
        return QuestionSetRow(set_id, prompt_hash, prompt, judge_model, version, source,
                              questions, call_id, now, created_by)

    def prompts_with_sets(self, judge_model: str, limit: int = 200) -> list[tuple[str, str, int]]:
        """(prompt hash, prompt, newest version), most recently changed first."""
        with self.db.cursor() as cur:
            rows = cur.execute(
                "SELECT prompt_hash, min(prompt), max(version), max(created_at) AS t"
                " FROM judge_question_sets WHERE judge_model = ? GROUP BY prompt_hash"
                " ORDER BY t DESC LIMIT ?",
                [judge_model, int(limit)],
            ).fetchall()
        return [(r[0], r[1], int(r[2])) for r in rows]
