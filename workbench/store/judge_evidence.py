"""The judge's scores aggregated per image model for the Leaderboard: mean adherence per prompt
category, the text questions' sub-score, and questions missed per question category.

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
from typing import Any, ClassVar

from workbench.domain.catalog import OFFLINE
from workbench.domain.filters import HistoryFilter
from workbench.store.db import Backend
from workbench.store.memo import ReadMemo
from workbench.store.queries import filter_sql
from workbench.store.records import records

Number = float | Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoreSums:
    """Adherence scores of one model's judged images in one prompt category (None: none)."""

    JSON: ClassVar[frozenset[str]] = frozenset()

    model: str
    category: str | None
    n: int
    total: Number
    squares: Number


@dataclass(frozen=True, slots=True, kw_only=True)
class TextSums:
    """The text questions' sub-score (share counted yes) of one model's judged images that
    have text questions."""

    JSON: ClassVar[frozenset[str]] = frozenset()

    model: str
    n: int
    total: Number
    squares: Number


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionMisses:
    """One model's questions of one question category: asked, counted "no", and the images
    they were asked of."""

    JSON: ClassVar[frozenset[str]] = frozenset()

    model: str
    category: str
    asked: int
    missed: int
    images: int


def _judged(f: HistoryFilter) -> tuple[str, list[Any]]:
    """`j`: each judged generation once, on its newest question set (k = 1)."""
    where, params = filter_sql(f)
    only = f"g.status = 'succeeded' AND g.provider <> '{OFFLINE}'"
    where = f"{where} AND {only}" if where else f" WHERE {only}"
    return (
        "j AS (SELECT g.id, g.model, g.category, s.score, s.answers, q.questions,"
        " row_number() OVER (PARTITION BY g.id ORDER BY q.version DESC) AS k"
        " FROM generations g"
        " JOIN judge_scores s ON s.image_sha256 = g.image_sha256 AND s.judge_model = ?"
        f" JOIN judge_question_sets q ON q.id = s.question_set_id AND q.prompt = g.prompt{where})",
        params,
    )


def _expanded(dialect: str) -> str:
    """`e`: one row per answered question of `j` (k = 1) with the question's category."""
    if dialect == "postgres":
        answers = ("CROSS JOIN LATERAL jsonb_to_recordset(j.answers::jsonb)"
                   " AS x(id integer, counted boolean)")
        questions = ("CROSS JOIN LATERAL jsonb_to_recordset(j.questions::jsonb)"
                     " AS y(id integer, category text)")
        a_cols, q_cols = "x.id AS qid, x.counted", "y.id AS qid, y.category"
    else:
        answers = ("CROSS JOIN unnest(json_transform(j.answers,"
                   " '[{\"id\": \"INTEGER\", \"counted\": \"BOOLEAN\"}]')) AS t(x)")
        questions = ("CROSS JOIN unnest(json_transform(j.questions,"
                     " '[{\"id\": \"INTEGER\", \"category\": \"VARCHAR\"}]')) AS u(y)")
        a_cols, q_cols = "x.id AS qid, x.counted", "y.id AS qid, y.category"
    return (
        f" a AS (SELECT j.id, j.model, {a_cols} FROM j {answers} WHERE j.k = 1),"
        f" c AS (SELECT j.id, {q_cols} FROM j {questions} WHERE j.k = 1),"
        " e AS (SELECT a.id, a.model, c.category, coalesce(a.counted, false) AS counted"
        "  FROM a JOIN c ON c.id = a.id AND c.qid = a.qid)"
    )


class JudgeEvidence:
    """Aggregates of one judge model's scores, per image model."""

    def __init__(self, db: Backend) -> None:
        self.db = db
        self.memo = ReadMemo(db)

    def score_sums(self, f: HistoryFilter, judge_model: str) -> list[ScoreSums]:
        """Per image model and prompt category: n, sum and sum of squares of the scores."""
        return self.memo.read(("judge_scores", judge_model, f.model_dump_json()),
                              lambda: self._score_sums(f, judge_model))

    def _score_sums(self, f: HistoryFilter, judge_model: str) -> list[ScoreSums]:
        judged, params = _judged(f)
        sql = (
            f"WITH {judged} SELECT model, category, count(*) AS n, sum(score) AS total,"
            " sum(score * score) AS squares FROM j WHERE k = 1"
            " GROUP BY model, category ORDER BY model, category"
        )
        with self.db.cursor() as cur:
            return records(ScoreSums, cur.execute(sql, [judge_model, *params]))

    def text_sums(self, f: HistoryFilter, judge_model: str) -> list[TextSums]:
        """Per image model: n, sum and sum of squares of the text questions' sub-score of the
        images that have text questions."""
        return self.memo.read(("judge_text", judge_model, f.model_dump_json()),
                              lambda: self._text_sums(f, judge_model))

    def _text_sums(self, f: HistoryFilter, judge_model: str) -> list[TextSums]:
        judged, params = _judged(f)
        sql = (
            f"WITH {judged},{_expanded(self.db.dialect)},"
            " t AS (SELECT id, model, avg(CASE WHEN counted THEN 1.0 ELSE 0.0 END) AS share"
            "  FROM e WHERE category = 'text' GROUP BY id, model)"
            " SELECT model, count(*) AS n, sum(share) AS total, sum(share * share) AS squares"
            " FROM t GROUP BY model ORDER BY model"
        )
        with self.db.cursor() as cur:
            return records(TextSums, cur.execute(sql, [judge_model, *params]))

    def question_misses(self, f: HistoryFilter, judge_model: str) -> list[QuestionMisses]:
        """Per image model and question category: questions asked, counted "no", images."""
        return self.memo.read(("judge_misses", judge_model, f.model_dump_json()),
                              lambda: self._question_misses(f, judge_model))

    def _question_misses(self, f: HistoryFilter, judge_model: str) -> list[QuestionMisses]:
        judged, params = _judged(f)
        sql = (
            f"WITH {judged},{_expanded(self.db.dialect)}"
            " SELECT model, category, count(*) AS asked,"
            " count(*) FILTER (WHERE NOT counted) AS missed, count(DISTINCT id) AS images"
            " FROM e GROUP BY model, category ORDER BY model, category"
        )
        with self.db.cursor() as cur:
            return records(QuestionMisses, cur.execute(sql, [judge_model, *params]))
