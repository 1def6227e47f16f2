"""One home for each fact: a module-level constant with the same name and the same literal value
in two modules is a copy that will drift (as OFFLINE, WINNERS and MASK once did). Import it from
its home instead. Same name with different values (each provider's own PENDING states) is fine."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "workbench"
# Each adapter's own wire names for FLUX.2 [flex]'s options (the same name, a different mapping
# per API).
KNOWN = {"FLEX_OPTIONS"}
TYPE_VARIABLES = {"TypeVar", "ParamSpec"}


def _constants(path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if isinstance(value, ast.Call) and getattr(value.func, "id", "") in TYPE_VARIABLES:
            continue  # a module's own type variable (T = TypeVar("T")) is no fact
        for target in targets:
            if isinstance(target, ast.Name) and target.id.isupper():
                found[target.id] = ast.dump(value)
    return found


def test_no_constant_is_defined_twice_with_the_same_value() -> None:
    homes: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(PACKAGE.rglob("*.py")):
        for name, value in _constants(path).items():
            homes[(name, value)].append(path.relative_to(PACKAGE).as_posix())
    copies = {name: paths for (name, _), paths in homes.items()
              if len(paths) > 1 and name not in KNOWN}
    assert copies == {}


def test_the_facts_once_copied_have_one_home() -> None:
    from workbench.domain.catalog import OFFLINE
    from workbench.domain.outcomes import WINNERS
    from workbench.providers import http
    from workbench.redact import MASK
    from workbench.store import votes

    assert votes.OFFLINE is OFFLINE and votes.WINNERS is WINNERS and http.MASK is MASK
