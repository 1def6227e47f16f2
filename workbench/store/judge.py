"""The adherence judge's tables: question sets (versioned per prompt text and judge model), the
ledger of judge calls (written before a call leaves, completed after, with what Google billed),
scores per image, question set and judge model, and the judge's pairwise votes; plus the reads
its calibration and the History column need (people's votes and stars on the same images).

Every statement is parameterised. Judge votes live in their own table, so no board of people's
votes ever counts them unless a page asks for them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workbench.domain.catalog import OFFLINE
from workbench.store.db import Backend, utcnow
from workbench.store.spending import SpendLedger

ADHERENCE_CRITERIA = ("prompt_adherence", "text_in_image")


@dataclass(frozen=True)
class QuestionSetRow:
    id: str
    prompt_hash: str
    prompt: str
    judge_model: str
    version: int
    source: str
    questions: list[dict[str, Any]]
    call_id: str | None
    created_at: datetime
    created_by: str | None


@dataclass(frozen=True)
class CallRow:
    id: str
    kind: str
    cache_key: str
    judge_model: str
    status: str
    reserved_usd: float
    cost_usd: float | None
    error_message: str | None
    result: dict[str, Any] | None


@dataclass(frozen=True)
class ScoreRow:
    image_sha256: str
    question_set_id: str
    judge_model: str
    score: float
    answers: list[dict[str, Any]]
    call_id: str


@dataclass(frozen=True)
class TargetRow:
    """A generation as the judge sees it."""

    id: str
    model: str
    provider: str
    prompt: str
    category: str | None
    run_id: str | None
    status: str
    image_sha256: str | None
    image_path: str | None
    mime: str | None
    width: int | None
    height: int | None


@dataclass(frozen=True)
class HumanVote:
    id: int
    left_generation_id: str
    right_generation_id: str
    left_sha256: str | None
    right_sha256: str | None
    criterion: str
    category: str | None
    winner: str
    rater: str
    prompt: str  # the left generation's prompt as sent
    right_prompt: str


@dataclass(frozen=True)
class JudgeVoteRow:
    left_generation_id: str
    right_generation_id: str
    left_sha256: str
    right_sha256: str
    winner: str
    rater: str
    prompt_hash: str


_SET_COLUMNS = (
    "id, prompt_hash, prompt, judge_model, version, source, questions, call_id, created_at,"
    " created_by"
)


def _set(row: Sequence[Any]) -> QuestionSetRow:
    return QuestionSetRow(
        id=row[0], prompt_hash=row[1], prompt=row[2], judge_model=row[3], version=int(row[4]),
        source=row[5], questions=json.loads(row[6]), call_id=row[7], created_at=row[8],
        created_by=row[9],
    )


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


class JudgeStore:
    def __init__(self, db: Backend) -> None:
        self.db = db

    def _writing(self, cur: Any) -> AbstractContextManager[Any]:
        """The caller's transaction when it passes one, else a transaction of its own."""
        return nullcontext(cur) if cur is not None else self.db.transaction()

    # -- question sets --------------------------------------------------------------------------
    def current_set(self, prompt_hash: str, judge_model: str) -> QuestionSetRow | None:
        with self.db.cursor() as cur:
            row = cur.execute(
                f"SELECT {_SET_COLUMNS} FROM judge_question_sets WHERE prompt_hash = ?"
                " AND judge_model = ? ORDER BY version DESC LIMIT 1",
                [prompt_hash, judge_model],
            ).fetchone()
        return _set(row) if row else None

    def get_set(self, set_id: str) -> QuestionSetRow | None:
        with self.db.cursor() as cur:
            row = cur.execute(
                f"SELECT {_SET_COLUMNS} FROM judge_question_sets WHERE id = ?", [set_id]
            ).fetchone()
        return _set(row) if row else None

    def set_versions(self, prompt_hash: str, judge_model: str) -> list[QuestionSetRow]:
        with self.db.cursor() as cur:
            rows = cur.execute(
                f"SELECT {_SET_COLUMNS} FROM judge_question_sets WHERE prompt_hash = ?"
                " AND judge_model = ? ORDER BY version",
                [prompt_hash, judge_model],
            ).fetchall()
        return [_set(r) for r in rows]

    def add_set(
        self, set_id: str, prompt_hash: str, prompt: str, judge_model: str, source: str,
        questions: list[dict[str, Any]], call_id: str | None, created_by: str | None,
        cur: Any = None,
    ) -> QuestionSetRow:
        """Append the next version (the unique key refuses a second writer of the same one)."""
        now = utcnow()
        with self._writing(cur) as cur:
            row = cur.execute(
                "SELECT coalesce(max(version), 0) FROM judge_question_sets"
                " WHERE prompt_hash = ? AND judge_model = ?",
                [prompt_hash, judge_model],
            ).fetchone()
            version = int(row[0] if row else 0) + 1
            cur.execute(
                f"INSERT INTO judge_question_sets ({_SET_COLUMNS}) VALUES"
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

    # -- the call ledger ------------------------------------------------------------------------
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

    # -- scores -----------------------------------------------------------------------------------
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
        with self._writing(cur) as cur:
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
            f" WHERE g.id IN ({_marks(ids)}) ORDER BY g.id, q.version DESC"
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
            clauses.append(f"g.id IN ({_marks(generation_ids)})")
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
            f" WHERE v.criterion IN ({_marks(criteria)})"
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
            f" WHERE generation_id IN ({_marks(ids)}) AND criterion IN ({_marks(criteria)})"
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
            f" WHERE s.judge_model = ? AND s.image_sha256 IN ({_marks(wanted)})"
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

    # -- judge votes ------------------------------------------------------------------------------
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
        with self._writing(cur) as cur:
            cur.execute(
                f"INSERT INTO judge_votes ({', '.join(columns)}, created_at) VALUES"
                f" ({_marks(columns)}, ?)",
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
