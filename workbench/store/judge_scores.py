"""The judge's scores per image, question set and judge model, the generations it may judge, and
the people's evidence on the same images (arena votes, stars) its calibration compares with."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from workbench.domain.catalog import OFFLINE
from workbench.store.db import Backend, utcnow
from workbench.store.judge_rows import (
    ADHERENCE_CRITERIA,
    HumanVote,
    ScoreRow,
    TargetRow,
    placeholders,
    writing,
)


class JudgeScores:
    """Scores written and read, with what they are judged on and compared with."""

    def __init__(self, db: Backend) -> None:
        self.db = db

    def get_score(self, sha: str, set_id: str, judge_model: str) -> ScoreRow | None:
        with self.db.cursor() as cur:
            row = cur.execute(
                "SELECT image_sha256, question_set_id, judge_model, score, answers, call_id"
                " FROM judge_scores WHERE image_sha256 = ? AND question_set_id = ?"
                " AND judge_model = ?",
                [sha, set_id, judge_model],
            ).fetchone()
        if not row:
            return None
        return ScoreRow(row[0], row[1], row[2], float(row[3]), json.loads(row[4]), row[5])

    def add_score(self, score: ScoreRow, cur: Any = None) -> None:
        with writing(self.db, cur) as cur:
            cur.execute(
                "INSERT INTO judge_scores (image_sha256, question_set_id, judge_model, score,"
                " answers, call_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [score.image_sha256, score.question_set_id, score.judge_model, score.score,
                 json.dumps(score.answers), score.call_id, utcnow()],
            )

    def scores_by_generation(
        self, generation_ids: Sequence[str], judge_model: str
    ) -> dict[str, tuple[ScoreRow, int, list[dict[str, Any]]]]:
        """Per generation: its image's score on the newest question set of its own prompt
        that has one, that set's version and its questions."""
        ids = list(dict.fromkeys(generation_ids))
        if not ids:
            return {}
        sql = (
            "SELECT g.id, s.image_sha256, s.question_set_id, s.judge_model, s.score, s.answers,"
            " s.call_id, q.version, q.questions FROM generations g"
            " JOIN judge_scores s ON s.image_sha256 = g.image_sha256 AND s.judge_model = ?"
            " JOIN judge_question_sets q ON q.id = s.question_set_id AND q.prompt = g.prompt"
            f" WHERE g.id IN ({placeholders(ids)}) ORDER BY g.id, q.version DESC"
        )
        out: dict[str, tuple[ScoreRow, int, list[dict[str, Any]]]] = {}
        with self.db.cursor() as cur:
            for row in cur.execute(sql, [judge_model, *ids]).fetchall():
                if row[0] in out:
                    continue
                score = ScoreRow(row[1], row[2], row[3], float(row[4]), json.loads(row[5]),
                                 row[6])
                out[row[0]] = (score, int(row[7]), json.loads(row[8]))
        return out

    def scored_generations(
        self, judge_model: str, *, run_id: str | None = None
    ) -> list[tuple[str, str, str, str, float, list[dict[str, Any]], list[dict[str, Any]],
                    str | None]]:
        """(generation, model, prompt, image, score, answers, questions, category) for every
        succeeded
        generation (offline sketches left out) whose image is scored on a question set of its
        own prompt, the newest such version per generation."""
        where, params = ("AND g.run_id = ?", [run_id]) if run_id else ("", [])
        sql = (
            "SELECT g.id, g.model, g.prompt, s.image_sha256, s.score, s.answers, q.questions,"
            " q.version, g.category FROM generations g"
            " JOIN judge_scores s ON s.image_sha256 = g.image_sha256 AND s.judge_model = ?"
            " JOIN judge_question_sets q ON q.id = s.question_set_id AND q.prompt = g.prompt"
            f" WHERE g.status = 'succeeded' AND g.provider <> '{OFFLINE}' {where}"
            " ORDER BY g.id, q.version DESC"
        )
        out = []
        seen: set[str] = set()
        with self.db.cursor() as cur:
            for gid, model, prompt, sha, score, answers, questions, _, category in cur.execute(
                sql, [judge_model, *params]
            ).fetchall():
                if gid in seen:
                    continue
                seen.add(gid)
                out.append((gid, model, prompt, sha, float(score), json.loads(answers),
                            json.loads(questions), category))
        return out

    def recent_runs(self, limit: int = 50) -> list[tuple[str, int]]:
        """(run id, images) of the runs with succeeded images, newest first."""
        with self.db.cursor() as cur:
            rows = cur.execute(
                "SELECT run_id, count(*), max(created_at) AS t FROM generations"
                " WHERE run_id IS NOT NULL AND status = 'succeeded' GROUP BY run_id"
                " ORDER BY t DESC LIMIT ?",
                [int(limit)],
            ).fetchall()
        return [(r[0], int(r[1])) for r in rows]

    # -- what is judged -------------------------------------------------------------------------
    def targets(self, *, generation_ids: Sequence[str] = (), run_id: str | None = None
                ) -> list[TargetRow]:
        clauses: list[str] = []
        params: list[Any] = []
        if generation_ids:
            clauses.append(f"g.id IN ({placeholders(generation_ids)})")
            params.extend(generation_ids)
        if run_id is not None:
            clauses.append("g.run_id = ?")
            params.append(run_id)
        if not clauses:
            return []
        sql = (
            "SELECT g.id, g.model, g.provider, g.prompt, g.category, g.run_id, g.status,"
            " g.image_sha256, i.path, i.mime, i.width, i.height FROM generations g"
            " LEFT JOIN images i ON i.sha256 = g.image_sha256"
            f" WHERE {' OR '.join(clauses)} ORDER BY g.created_at, g.id"
        )
        with self.db.cursor() as cur:
            return [TargetRow(*r) for r in cur.execute(sql, params).fetchall()]

    # -- people's evidence on the same images -----------------------------------------------------
    def human_votes(self, criteria: Sequence[str] = ADHERENCE_CRITERIA) -> list[HumanVote]:
        """People's arena votes on the adherence criteria whose two generations are still in
        the log, offline sketches left out."""
        sql = (
            "SELECT v.id, v.left_generation_id, v.right_generation_id, gl.image_sha256,"
            " gr.image_sha256, v.criterion, v.category, v.winner, v.rater, gl.prompt, gr.prompt"
            " FROM votes v JOIN generations gl ON gl.id = v.left_generation_id"
            " JOIN generations gr ON gr.id = v.right_generation_id"
            f" WHERE v.criterion IN ({placeholders(criteria)})"
            f" AND gl.provider <> '{OFFLINE}' AND gr.provider <> '{OFFLINE}'"
            " ORDER BY v.id"
        )
        with self.db.cursor() as cur:
            rows = cur.execute(sql, list(criteria)).fetchall()
        return [HumanVote(int(r[0]), *r[1:]) for r in rows]

    def mean_stars(
        self, generation_ids: Sequence[str], criteria: Sequence[str] = ADHERENCE_CRITERIA
    ) -> dict[tuple[str, str], float]:
        """(generation, criterion) -> mean of each rater's newest stars."""
        ids = list(dict.fromkeys(generation_ids))
        if not ids:
            return {}
        sql = (
            "SELECT generation_id, criterion, avg(stars) FROM latest_ratings"
            f" WHERE generation_id IN ({placeholders(ids)})"
            f" AND criterion IN ({placeholders(criteria)})"
            " GROUP BY 1, 2"
        )
        with self.db.cursor() as cur:
            rows = cur.execute(sql, [*ids, *criteria]).fetchall()
        return {(r[0], r[1]): float(r[2]) for r in rows}

    def scores_for_images(
        self, shas: Sequence[str], judge_model: str
    ) -> dict[tuple[str, str], tuple[float, list[dict[str, Any]], list[dict[str, Any]], int]]:
        """(image, prompt) -> (score, answers, questions, version) on the newest question set
        of that prompt with a score for that image."""
        wanted = list(dict.fromkeys(shas))
        if not wanted:
            return {}
        sql = (
            "SELECT s.image_sha256, q.prompt, s.score, s.answers, q.questions, q.version"
            " FROM judge_scores s JOIN judge_question_sets q ON q.id = s.question_set_id"
            f" WHERE s.judge_model = ? AND s.image_sha256 IN ({placeholders(wanted)})"
            " ORDER BY q.version DESC"
        )
        out: dict[tuple[str, str], tuple[float, list[dict[str, Any]], list[dict[str, Any]], int]]
        out = {}
        with self.db.cursor() as cur:
            for sha, prompt, score, answers, questions, version in cur.execute(
                sql, [judge_model, *wanted]
            ).fetchall():
                out.setdefault(
                    (sha, prompt),
                    (float(score), json.loads(answers), json.loads(questions), int(version)),
                )
        return out
