"""The judge's pairwise votes, in their own table, so no board of people's votes ever counts them
unless a page asks for them."""

from __future__ import annotations

from typing import Any

from workbench.store.db import Backend, utcnow
from workbench.store.judge_rows import JudgeVoteRow, placeholders, writing


class JudgeVotes:
    """The `judge_votes` table."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    def get_judge_vote(self, left_sha: str, right_sha: str, prompt_hash: str, rater: str
                       ) -> JudgeVoteRow | None:
        with self.db.cursor() as cur:
            row = cur.execute(
                "SELECT left_generation_id, right_generation_id, left_sha256, right_sha256,"
                " winner, rater, prompt_hash FROM judge_votes WHERE left_sha256 = ?"
                " AND right_sha256 = ? AND prompt_hash = ? AND rater = ?",
                [left_sha, right_sha, prompt_hash, rater],
            ).fetchone()
        return JudgeVoteRow(*row) if row else None

    def add_judge_vote(self, values: dict[str, Any], cur: Any = None) -> None:
        columns = list(values)
        with writing(self.db, cur) as cur:
            cur.execute(
                f"INSERT INTO judge_votes ({', '.join(columns)}, created_at) VALUES"
                f" ({placeholders(columns)}, ?)",
                [*values.values(), utcnow()],
            )

    def judge_votes(self, rater: str | None = None) -> list[JudgeVoteRow]:
        where, params = ("WHERE rater = ?", [rater]) if rater else ("", [])
        with self.db.cursor() as cur:
            rows = cur.execute(
                "SELECT left_generation_id, right_generation_id, left_sha256, right_sha256,"
                f" winner, rater, prompt_hash FROM judge_votes {where} ORDER BY created_at",
                params,
            ).fetchall()
        return [JudgeVoteRow(*r) for r in rows]

    def judge_vote_counts(self, rater: str) -> list[tuple[str, str, str, int]]:
        """(left model, right model, winner, votes) of one judge, for its own board."""
        with self.db.cursor() as cur:
            rows = cur.execute(
                "SELECT left_model, right_model, winner, count(*) FROM judge_votes"
                " WHERE rater = ? GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
                [rater],
            ).fetchall()
        return [(a, b, w, int(n)) for a, b, w, n in rows]
