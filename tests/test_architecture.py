"""The layering holds: ui -> services -> domain and adapters. Parsed from the source, so a new
import in the wrong direction fails here, not in a review."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "workbench"
# Pure packages: every module in them, so a new one cannot escape the check.
PURE_PACKAGES = ("domain", "stats", "imaging")
# Root modules that are settings or the error root, not adapters: they read the environment and
# files only.
PURE_ROOT_MODULES = ("config", "redact", "errors", "paths")
DOMAIN = [
    *(p.relative_to(PACKAGE).with_suffix("").as_posix() for pkg in PURE_PACKAGES
      for p in sorted((PACKAGE / pkg).rglob("*.py"))),
    *PURE_ROOT_MODULES,
]
FRAMEWORKS = {"streamlit", "httpx", "duckdb"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _files(sub: str) -> list[Path]:
    return sorted((PACKAGE / sub).rglob("*.py"))


@pytest.mark.parametrize("module", DOMAIN)
def test_domain_modules_import_no_framework_and_no_adapter(module: str) -> None:
    imports = _imports(PACKAGE / f"{module}.py")
    roots = {name.split(".")[0] for name in imports}
    assert not roots & FRAMEWORKS, f"{module} imports {roots & FRAMEWORKS}"
    inner = {n for n in imports if n.startswith("workbench.")}
    assert not {
        n for n in inner if n.split(".")[1] in {"store", "providers", "services", "ui", "commands"}
    }, inner


@pytest.mark.parametrize("path", _files("ui"), ids=lambda p: p.name)
def test_pages_use_services_not_the_database_or_http(path: Path) -> None:
    imports = _imports(path)
    assert not {n.split(".")[0] for n in imports} & {"httpx", "duckdb"}
    assert not {n for n in imports if n.startswith(("workbench.store", "workbench.providers"))}


@pytest.mark.parametrize(
    "path",
    [*_files("services"), *_files("store"), *_files("providers")],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_nothing_below_the_pages_imports_streamlit_or_pages(path: Path) -> None:
    imports = _imports(path)
    assert "streamlit" not in {n.split(".")[0] for n in imports}
    assert not {n for n in imports if n.startswith("workbench.ui")}


def test_only_the_registry_picks_concrete_provider_adapters() -> None:
    adapters = {
        f"workbench.providers.{n}" for n in ("gemini", "bfl", "replicate", "fal", "offline")
    }
    users = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if _imports(path) & adapters and path.parent.name != "providers"
    }
    assert users == set()
    # The registry finds them by their descriptors, without a hand-kept list.
    from workbench.providers.registry import descriptors

    assert {f"workbench.providers.{n}" for n in descriptors()} == adapters


def test_the_package_root_holds_only_entry_points_and_settings() -> None:
    # New code goes into a package whose layer the tests above check; the root stays small.
    root = {p.stem for p in PACKAGE.glob("*.py")}
    assert root <= {"__init__", "__main__", "cli", *PURE_ROOT_MODULES}, sorted(root)


# Classes still over the limits, each on its way to being split.
KNOWN_LARGE_CLASSES: set[str] = set()  # none: split a class instead of listing it here
MAX_CLASS_LINES = 250
MAX_PUBLIC_METHODS = 15


def test_no_class_is_over_250_lines_or_15_public_methods() -> None:
    """A class that grows past these has more than one reason to change: split it by
    responsibility, so a reader sees why each part exists."""
    over: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ClassDef):
                continue
            name = f"{module}:{node.name}"
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            public = [
                f.name for f in node.body
                if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
                and not f.name.startswith("_")
            ]
            if (lines > MAX_CLASS_LINES or len(public) > MAX_PUBLIC_METHODS) and (
                name not in KNOWN_LARGE_CLASSES
            ):
                over.append(f"{name}: {lines} lines, {len(public)} public methods")
    assert over == [], over


def _repositories() -> set[str]:
    """The workbench's repositories and storage handles: every `self.NAME = …` that
    `Workbench.__post_init__` sets, plus its database and image store fields."""
    tree = ast.parse((PACKAGE / "services" / "workbench.py").read_text())
    names = {"db", "images"}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "__post_init__":
            for target in ast.walk(node):
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "self"
                    and isinstance(target.ctx, ast.Store)
                ):
                    names.add(target.attr)
    return names


@pytest.mark.parametrize(
    "path", [*_files("ui"), *_files("commands")], ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_pages_and_commands_reach_repositories_only_through_services(path: Path) -> None:
    # `wb.log.page(…)` from a page or a command skips the service that owns the rule (what a
    # page shows, which rows an export takes); they call a service function instead.
    repositories = _repositories()
    assert {"log", "attempts", "db", "images"} <= repositories  # the parse still finds them
    skips = sorted(
        f"{path.name}:{node.lineno} wb.{node.attr}"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute)
        and node.attr in repositories
        and isinstance(node.value, ast.Name)
        and node.value.id == "wb"
    )
    assert not skips, skips


@pytest.mark.parametrize(
    "path",
    sorted([*(PACKAGE.parent / "bench").glob("*.py"), *(PACKAGE.parent / "harness").glob("*.py")]),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_benches_and_the_harness_do_not_import_the_tests(path: Path) -> None:
    # what a bench shares with the tests (loopback fakes, servers) lives in harness/
    assert not {n for n in _imports(path) if n.split(".")[0] == "tests"}
