"""The adherence judge's tables, one repository each: question sets (`store.judge_sets`), the
ledger of judge calls (`store.judge_calls`), scores with the reads its calibration and the
History column need (`store.judge_scores`), and the judge's pairwise votes
(`store.judge_votes`). The rows they return live in `store.judge_rows`.

Every statement is parameterised.
"""

from __future__ import annotations

from workbench.store.db import Backend
from workbench.store.judge_calls import JudgeCalls
from workbench.store.judge_rows import (
    ADHERENCE_CRITERIA,
    CallRow,
    HumanVote,
    JudgeVoteRow,
    QuestionSetRow,
    ScoreRow,
    TargetRow,
)
from workbench.store.judge_scores import JudgeScores
from workbench.store.judge_sets import QuestionSets
from workbench.store.judge_votes import JudgeVotes

__all__ = [
    "ADHERENCE_CRITERIA", "CallRow", "HumanVote", "JudgeStore", "JudgeVoteRow",
    "QuestionSetRow", "ScoreRow", "TargetRow",
]


class JudgeStore:
    """The judge's four repositories on one database."""

    def __init__(self, db: Backend) -> None:
        self.db = db
        self.sets = QuestionSets(db)
        self.calls = JudgeCalls(db)
        self.scores = JudgeScores(db)
        self.votes = JudgeVotes(db)
