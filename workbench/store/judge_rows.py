"""The adherence judge's rows, as its repositories return them, and the helpers they share
(the question-set columns, placeholders, a write in the caller's transaction or its own)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workbench.store.db import Backend

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


SET_COLUMNS = (
    "id, prompt_hash, prompt, judge_model, version, source, questions, call_id, created_at,"
    " created_by"
)


def question_set_row(row: Sequence[Any]) -> QuestionSetRow:
    return QuestionSetRow(
        id=row[0], prompt_hash=row[1], prompt=row[2], judge_model=row[3], version=int(row[4]),
        source=row[5], questions=json.loads(row[6]), call_id=row[7], created_at=row[8],
        created_by=row[9],
    )


def placeholders(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def writing(db: Backend, cur: Any) -> AbstractContextManager[Any]:
    """The caller's transaction when it passes one, else a transaction of its own."""
    return nullcontext(cur) if cur is not None else db.transaction()
