"""The judge's scores aggregated per image model for the Leaderboard: mean adherence per prompt
category (`ScoreSums`), and per question category the questions asked and missed and each
image's sub-score (`QuestionTallies`; the text questions' one is the Text in image figure), both
from one statement (`JudgeEvidence.sums`).

Each generation counts once, on the newest question set of its own prompt that scored its image
(the rule of `JudgeScores.scored_generations`); only succeeded generations, never offline
sketches, under the Leaderboard's filter (`queries.filter_sql`). Everything is aggregated in
SQL and returned as sums (n, total, sum of squares) that add up exactly across groups. The
answers and questions are JSON text: they are expanded by DuckDB's `json_transform` or
PostgreSQL's `jsonb_to_recordset`, the one statement that differs between the backends.
Answers are remembered between writes (`store.memo`), as the Leaderboard's other aggregates are.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from workbench.domain.catalog import OFFLINE
from workbench.domain.filters import HistoryFilter
from workbench.store.db import Backend
from workbench.store.memo import ReadMemo
from workbench.store.queries import filter_sql

Number = float | Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoreSums:
    """Adherence scores of one model's judged images in one prompt category (None: none)."""

    model: str
    category: str | None
    n: int
    total: Number
    squares: Number


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionTallies:
    """One model's questions of one question category: asked, counted "no", the images they
    were asked of, and the sum and sum of squares of each image's share passed (its
    sub-score on that category: the text questions' one is the Text in image figure)."""

    model: str
    category: str
    asked: int
    missed: int
    images: int
    passed_total: Number
    passed_squares: Number


@dataclass(frozen=True)
class JudgeSums:
    scores: tuple[ScoreSums, ...]
    questions: tuple[QuestionTallies, ...]


def _judged(f: HistoryFilter) -> tuple[str, list[Any]]:
    """`j`: each judged generation once, on its newest question set (k = 1). The judge's
    scores with their question sets (`s0`, small) are matched to the log by image and prompt
    in one hash join."""
    where, params = filter_sql(f)
    only = f"g.status = 'succeeded' AND g.provider <> '{OFFLINE}'"
    where = f"{where} AND {only}" if where else f" WHERE {only}"
    return (
        "s0 AS (SELECT s.image_sha256, s.score, s.answers, q.id AS set_id, q.prompt, q.version"
        " FROM judge_scores s JOIN judge_question_sets q ON q.id = s.question_set_id"
        " WHERE s.judge_model = ?),"
        " j AS (SELECT g.id, g.model, g.category, s0.score, s0.answers, s0.set_id,"
        " row_number() OVER (PARTITION BY g.id ORDER BY s0.version DESC) AS k"
        " FROM generations g"
        f" JOIN s0 ON s0.image_sha256 = g.image_sha256 AND s0.prompt = g.prompt{where})",
        params,
    )


def _expanded(dialect: str) -> str:
    """`e`: per judged generation of `j` (k = 1) and question category, the questions asked
    and counted "no". Questions are read once per question set, answers once per score."""
    if dialect == "postgres":
        answers = ("CROSS JOIN LATERAL jsonb_to_recordset(j.answers::jsonb)"
                   " AS x(id integer, counted boolean)")
        questions = ("CROSS JOIN LATERAL jsonb_to_recordset(q.questions::jsonb)"
                     " AS y(id integer, category text)")
    else:
        answers = ("CROSS JOIN unnest(json_transform(j.answers,"
                   " '[{\"id\": \"INTEGER\", \"counted\": \"BOOLEAN\"}]')) AS t(x)")
        questions = ("CROSS JOIN unnest(json_transform(q.questions,"
                     " '[{\"id\": \"INTEGER\", \"category\": \"VARCHAR\"}]')) AS u(y)")
    return (
        " a AS (SELECT j.id, j.model, j.set_id, x.id AS qid, coalesce(x.counted, false) AS ok"
        f"  FROM j {answers} WHERE j.k = 1),"
        # MATERIALIZED: each set expanded once (PostgreSQL would expand it per judged image).
        " c AS MATERIALIZED (SELECT q.id AS set_id, y.id AS qid, y.category"
        " FROM judge_question_sets q"
        f"  {questions}),"
        " e AS (SELECT a.id, a.model, c.category, count(*) AS asked,"
        "  count(*) FILTER (WHERE NOT a.ok) AS missed"
        "  FROM a JOIN c ON c.set_id = a.set_id AND c.qid = a.qid"
        "  GROUP BY a.id, a.model, c.category)"
    )


class JudgeEvidence:
    """Aggregates of one judge model's scores, per image model."""

    def __init__(self, db: Backend) -> None:
        self.db = db
        self.memo = ReadMemo(db)

    def sums(self, f: HistoryFilter, judge_model: str) -> JudgeSums:
        """Both aggregates under the filter, from one statement (the judged generations are
        found once); nothing is aggregated while this judge model has no score at all."""
        return self.memo.read(("judge_sums", judge_model, f.model_dump_json()),
                              lambda: self._sums(f, judge_model))

    def _sums(self, f: HistoryFilter, judge_model: str) -> JudgeSums:
        with self.db.cursor() as cur:
            if not cur.execute("SELECT 1 FROM judge_scores WHERE judge_model = ? LIMIT 1",
                               [judge_model]).fetchone():
                return JudgeSums((), ())
            judged, params = _judged(f)
            share = "(1.0 - 1.0 * missed / asked)"
            sql = (
                f"WITH {judged},{_expanded(self.db.dialect)}"
                " SELECT 'scores' AS kind, model, category, count(*) AS n, sum(score) AS total,"
                " sum(score * score) AS squares, NULL AS asked, NULL AS missed"
                " FROM j WHERE k = 1 GROUP BY model, category"
                " UNION ALL SELECT 'questions', model, category, count(*), sum(" + share + "),"
                f" sum({share} * {share}), sum(asked), sum(missed)"
                " FROM e GROUP BY model, category ORDER BY 1, 2, 3"
            )
            rows = cur.execute(sql, [judge_model, *params]).fetchall()
        return JudgeSums(
            tuple(ScoreSums(model=m, category=c, n=int(n), total=t, squares=q)
                  for kind, m, c, n, t, q, _, _ in rows if kind == "scores"),
            tuple(QuestionTallies(model=m, category=c, asked=int(a), missed=int(x),
                                  images=int(n), passed_total=t, passed_squares=q)
                  for kind, m, c, n, t, q, a, x in rows if kind == "questions"),
        )
