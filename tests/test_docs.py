"""Docs live in the repository: nothing a person who clones it reads points to files it does
not have (the team's `../shared/` notes, `design.md`), and the docs named in the README exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTSIDE = re.compile(r"\.\./shared|\bdesign\.md\b")


def _shipped_text_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "app.py", ROOT / "pyproject.toml"]
    for folder, patterns in (("workbench", ("*.py", "*.toml", "*.sql")), ("docs", ("*.md",)),
                             ("prompt_templates", ("*.toml",)), ("scripts", ("*.sh",)),
                             ("bench", ("*.py",))):
        for pattern in patterns:
            files.extend(sorted((ROOT / folder).rglob(pattern)))
    return files


def test_nothing_points_outside_the_repository() -> None:
    pointing = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in _shipped_text_files()
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if OUTSIDE.search(line)
    ]
    assert pointing == []


def test_the_architecture_doc_names_every_package() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    packages = sorted(p.parent.name for p in (ROOT / "workbench").glob("*/__init__.py"))
    assert packages
    assert [p for p in packages if f"workbench/{p}/" not in text] == []
