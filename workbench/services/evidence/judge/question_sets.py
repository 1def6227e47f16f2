"""Question sets as a person sees them: the current set of a prompt, its versions, and an edit,
which is stored as the next version (an edited set never overwrites the generated one; images
scored on an older version keep that score, tied to that version)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from workbench.errors import InvalidInput
from workbench.services.evidence.judge.questions import as_json, parse_questions, prompt_hash
from workbench.services.evidence.judge.settings import judge_model
from workbench.services.workbench import Workbench
from workbench.store.judge import JudgeStore, QuestionSetRow


def current(wb: Workbench, prompt: str, model: str | None = None) -> QuestionSetRow | None:
    sets = JudgeStore(wb.db).sets
    return sets.current_set(prompt_hash(prompt), model or judge_model(wb.settings))


def versions(wb: Workbench, prompt: str, model: str | None = None) -> list[QuestionSetRow]:
    sets = JudgeStore(wb.db).sets
    return sets.set_versions(prompt_hash(prompt), model or judge_model(wb.settings))


def recent_prompts(wb: Workbench, model: str | None = None) -> list[tuple[str, str, int]]:
    """(prompt hash, prompt, newest version) of prompts with questions, newest first."""
    return JudgeStore(wb.db).sets.prompts_with_sets(model or judge_model(wb.settings))


def parse_edit(text: str) -> list[dict[str, Any]]:
    """A person's edit as JSON text: a list of {id, question, category, parents}."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"The questions are not valid JSON: {exc.msg} (line {exc.lineno})."
        ) from None
    return as_json(parse_questions(raw))


def save_edit(wb: Workbench, prompt: str, questions: Any, model: str | None = None
              ) -> QuestionSetRow:
    """Store an edited set as the next version for this prompt and judge model."""
    parsed = as_json(parse_questions(questions))
    model = model or judge_model(wb.settings)
    judge = JudgeStore(wb.db)
    digest = prompt_hash(prompt)
    latest = judge.sets.current_set(digest, model)
    if latest is not None and latest.questions == parsed:
        raise InvalidInput("Nothing changed: the questions are the same as the current version.")
    return judge.sets.add_set(
        f"qs_{uuid.uuid4().hex[:16]}", digest, prompt, model, "edited", parsed, None,
        wb.settings.user,
    )
