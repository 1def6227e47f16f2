"""Counts read as people write them: one noun for one, the plural otherwise, in the sentences
the Measurements page, the report and the exports build ("(1 votes)" was seen)."""

from __future__ import annotations

import re

from workbench.domain.plural import count
from workbench.services.delivery.exports import ImportReport
from workbench.services.evidence.measurements import Coverage, RecomputeReport


def test_count_picks_the_noun_by_the_number() -> None:
    assert count(1, "vote") == "1 vote"
    assert count(0, "vote") == "0 votes"
    assert count(1204, "generation") == "1,204 generations"
    assert count(2, "vote was", "votes were") == "2 votes were"


def test_sentences_with_one_of_something_say_it_in_the_singular() -> None:
    one = Coverage(images=1, measured=1, errors=0, text_read=1, text_errors=0, text_skipped=0,
                   archived=1, without_image=1)
    assert one.sentence() == "1 of 1 image measured · text read on 1 image"
    assert one.left_out() == ("Not counted: 1 archived image and 1 generation without an image "
                              "(failed, moderated, cancelled or unfinished).")
    assert RecomputeReport(candidates=1, fast_done=1, text_done=1).summary() == (
        "1 of 1 image measured; text read on 1 image")
    assert ImportReport(rows=1, imported=0, already_present=1).text() == (
        "Imported 0 of 1 vote. 1 vote was already in the database and skipped.")


def test_no_message_hedges_a_plural_with_parentheses() -> None:
    """Every count in a message goes through `count` (or says "was"/"were" by the number): a
    literal "image(s)" anywhere in the package's strings fails here."""
    import ast
    from pathlib import Path

    hedged = []
    root = Path(__file__).resolve().parents[1] / "workbench"
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text())
        docstrings = {  # prose for readers of the code, not messages
            id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and n.body and isinstance(n.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            text = node.value if isinstance(node, ast.Constant) else None
            if (isinstance(text, str) and id(node) not in docstrings and "SELECT" not in text
                    and re.search(r"[a-z]\(s\)", text)):
                hedged.append(f"{path.relative_to(root)}:{node.lineno}: {text[:60]}")
    assert hedged == []
