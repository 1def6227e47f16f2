"""Machine-judged evidence on the Leaderboard, kept apart from people's.

The adherence judge (`services.evidence.judge`) scores images by asking a Gemini model yes/no
questions drawn from the prompt. Here its stored scores become:

- rows of their own in the verdict and trade-off tables, beside the people's rows they speak to
  (Complex and Minimal prompt handling: the mean score of each model's judged images on those
  suite categories; Text in image: the text questions' sub-score; Prompt adherence: every
  judged image), each cell with its n and a 95% interval;
- per question category, how often each model's images failed the questions.

Every row and line names the judge model and its calibration status from
`judge.calibration` ("calibrated" only once it agrees with people's votes well enough). Its
figures are never averaged into people's votes or stars, and nothing here picks a winner.
Offline sketches are never judged. No call is made: stored scores only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from workbench.domain.filters import HistoryFilter
from workbench.services.evidence.judge import calibration, insights
from workbench.services.evidence.judge.insights import CategoryFailures, ModelAdherence
from workbench.services.evidence.judge.questions import CATEGORY_LABELS
from workbench.services.evidence.judge.settings import judge_model, unavailable_reason
from workbench.services.evidence.leaderboard.verdict import (
    NOT_ENOUGH_DATA,
    VerdictCell,
    VerdictTable,
)
from workbench.services.workbench import Workbench

# Row label of people's evidence -> the judge's group of figures (insights.GROUPS) shown in a
# row of its own just below it: the trade-off table's factors, the verdict table's criteria.
TRADEOFF_GROUPS = {"Complex prompt handling": "complex", "Minimal prompt handling": "minimal",
                   "Text in image": "text"}
VERDICT_GROUPS = {"Prompt adherence": "all", "Text in image": "text"}
GROUP_MEANING = {
    "complex": "the mean adherence score (share of the prompt's yes/no checks passed, a check "
    "whose parent failed failing too) of the model's judged images on the 'complex' suite "
    "category",
    "minimal": "the mean adherence score of the model's judged images on the 'minimal' suite "
    "category",
    "text": "the mean share of the text questions (\"does the image read …?\") passed, over "
    "the model's judged images whose prompt asks for text",
    "all": "the mean adherence score of every judged image of the model",
}
NOT_JUDGED = VerdictCell(NOT_ENOUGH_DATA, 0, "none", "no judged images")


@dataclass(frozen=True)
class JudgedEvidence:
    """One judge model's figures for a Leaderboard filter, with its calibration status."""

    judge_model: str
    calibrated: bool
    reason: str  # why it is (not yet) calibrated
    adherence: Mapping[tuple[str, str], ModelAdherence]  # (group, contestant) -> figure
    failures: tuple[CategoryFailures, ...]
    unavailable: str | None = None  # how to enable the judge when it cannot run here

    @property
    def status(self) -> str:
        return "calibrated" if self.calibrated else "not yet calibrated"

    @property
    def source(self) -> str:
        """What every machine row and line is labelled with."""
        return f"judged by {self.judge_model} (machine, {self.status})"

    @property
    def is_empty(self) -> bool:
        return not self.adherence and not self.failures

    def cell(self, group: str, model: str) -> VerdictCell:
        found = self.adherence.get((group, model))
        if found is None:
            return NOT_JUDGED
        return VerdictCell(found.figure(), found.n, "judged", self.status)

    def row(self, label: str, group: str, models: Sequence[str]
            ) -> tuple[str, tuple[VerdictCell, ...]]:
        return f"{label} · {self.source}", tuple(self.cell(group, m) for m in models)

    def definition(self, group: str) -> str:
        return (f"{GROUP_MEANING[group]}, as judged by {self.judge_model} ({self.status}); "
                "95% t interval, n = images judged. Machine-judged: kept apart from people's "
                "votes and stars, never averaged into them.")

    def failure_lines(self, names: Mapping[str, str]) -> list[str]:
        """"Nano Banana 2 missed 31% [25%–38%] of 120 spatial questions (40 images)"."""
        return [f.text(names.get(f.model, f.model)) for f in self.failures]

    def failure_rows(self, names: Mapping[str, str]) -> list[dict[str, object]]:
        return [
            {"Model": names.get(f.model, f.model),
             "Question category": CATEGORY_LABELS[f.category],
             "Missed [95% interval] of questions": f.missed.text(), "Images": f.images}
            for f in self.failures
        ]


def with_machine_rows(
    table: VerdictTable, evidence: JudgedEvidence, groups: Mapping[str, str]
) -> VerdictTable:
    """`table` with a machine row below each of its rows named in `groups`, each with its
    definition; people's rows and cells are left as they are."""
    rows = []
    definitions = dict(table.definitions)
    for label, cells in table.rows:
        rows.append((label, cells))
        group = groups.get(label)
        if group is not None:
            machine = evidence.row(label, group, table.models)
            rows.append(machine)
            definitions[machine[0]] = evidence.definition(group)
    explanation = (f"{table.explanation} Rows marked \"{evidence.source}\" are machine-judged "
                   "evidence, kept apart from people's: the number in brackets is the images "
                   "judged.")
    return replace(table, rows=tuple(rows), definitions=definitions, explanation=explanation)


def judged_evidence(wb: Workbench, f: HistoryFilter) -> JudgedEvidence:
    """The judge's stored figures under the Leaderboard's filter and its calibration status.
    Raises `WorkbenchError` when the judge setting is unusable (the page says so)."""
    model = judge_model(wb.settings)
    with wb.db.cursor():  # one connection for the reads below
        adherence = {(a.group, a.model): a for a in insights.adherence_by_model(wb, model, f)}
        failures = tuple(insights.category_failures(wb, model=model, f=f))
        unavailable = unavailable_reason(wb.settings)
        if adherence or failures or unavailable is None:
            checked = calibration.calibration(wb, model, rounds=0)
            calibrated, reason = checked.calibrated, checked.reason
        else:  # nothing judged and no way to judge here: nothing to calibrate
            calibrated, reason = False, "nothing judged yet."
    return JudgedEvidence(model, calibrated, reason, adherence, failures, unavailable)
