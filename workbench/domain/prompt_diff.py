"""A word-level diff between two prompt texts (two library versions): which words stayed,
which went, which came. Pure: difflib's SequenceMatcher on whitespace-separated words."""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

Kind = Literal["same", "removed", "added"]


@dataclass(frozen=True)
class DiffPart:
    kind: Kind
    text: str  # the words of this run, joined by single spaces


def word_diff(old: str, new: str) -> list[DiffPart]:
    """Runs of unchanged, removed and added words, in reading order (a replacement is its
    removed words then its added words)."""
    a, b = old.split(), new.split()
    parts: list[DiffPart] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            parts.append(DiffPart("same", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            parts.append(DiffPart("removed", " ".join(a[i1:i2])))
        if j2 > j1:
            parts.append(DiffPart("added", " ".join(b[j1:j2])))
    return parts


def as_text(parts: list[DiffPart]) -> str:
    """The diff on one line: `[-removed-]` and `{+added+}`, as `git diff --word-diff` writes."""
    marks = {"same": "{}", "removed": "[-{}-]", "added": "{{+{}+}}"}
    return " ".join(marks[p.kind].format(p.text) for p in parts)
