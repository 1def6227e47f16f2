"""`pip install .` for real: a wheel built from the source, installed (not editable) into a fresh
virtual environment, gives a `workbench` command whose data files (catalog, templates, suites,
migrations) and Streamlit script are found in the installed copy, away from the checkout.

Slow-ish (a wheel build, a venv, a server start: ~15 s). Offline: the build uses this
environment's setuptools and the new venv borrows this environment's installed dependencies
through a `.pth` file instead of downloading them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app_server import free_port, stop, wait_healthy
from workbench.config import KEY_VARIABLES

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "workbench", "prompt_templates")

CHECK_INSTALLED = """
import json, pathlib, sys
import workbench
assert workbench.__file__, "workbench is a regular package"
from workbench import paths
from workbench.commands.app import streamlit_command
from workbench.domain.catalog import load_catalog
from workbench.domain.suites import load_suites
from workbench.domain.templates import TEMPLATES_DIR, load_templates
from workbench.services.workbench import open_workbench
from workbench.ui.main import SERVER

wb = open_workbench(idle_close_s=0)
try:
    with wb.db.cursor() as cur:
        migrations = [r[0] for r in cur.execute("SELECT name FROM _migrations").fetchall()]
finally:
    wb.close()
print(json.dumps({
    "package": str(pathlib.Path(workbench.__file__).resolve().parent),
    "models": len(load_catalog().models),
    "templates": len(load_templates().templates),
    "templates_dir": str(TEMPLATES_DIR),
    "suites": sorted(load_suites()),
    "migrations": migrations,
    "script": str(SERVER),
    "app_command": streamlit_command(["--server.port", "1"]),
    "data_dir": str(paths.DEFAULT_DATA_DIR),
}))
"""


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False, **kwargs)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, Path]]:
    """(the wheel, the new venv, a working directory outside the checkout)."""
    tmp = tmp_path_factory.mktemp("install")
    source = tmp / "source"  # a copy, so the build leaves no build/ or egg-info in the checkout
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
    built = _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                  "--no-build-isolation", "--wheel-dir", str(tmp / "dist"), str(source)])
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp / "dist").glob("prompt_workbench-*.whl")

    env_dir = tmp / "venv"
    # Without its own pip (ensurepip alone takes ~10 s): this environment's pip installs into it.
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(_run([str(python), "-c", purelib]).stdout.strip())
    # The dependencies come from this environment's site-packages folders (appended after the
    # venv's own, which is where the wheel goes, so the installed copy wins over anything there;
    # a .pth in those folders, such as an editable install of the checkout, is not processed).
    borrowed = [p for p in sys.path if Path(p).name in {"site-packages", "dist-packages"}]
    (site / "borrowed-dependencies.pth").write_text("\n".join(borrowed) + "\n")
    done = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                 "--no-deps", "--no-index", str(wheel)])
    assert done.returncode == 0, done.stderr
    work = tmp / "elsewhere"
    work.mkdir()
    yield wheel, env_dir, work


def _env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "WORKBENCH_DATA_DIR"}}
    for names in KEY_VARIABLES.values():
        for name in names:
            env.pop(name, None)
    return env


def test_the_wheel_holds_every_module_and_data_file(installed: tuple[Path, Path, Path]) -> None:
    wheel, _, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        p.relative_to(ROOT).as_posix()
        for pattern in ("*.py", "*.toml", "*.sql")
        for p in (ROOT / "workbench").rglob(pattern)
    }
    expected |= {
        "workbench/prompt_templates/" + p.relative_to(ROOT / "prompt_templates").as_posix()
        for p in (ROOT / "prompt_templates").rglob("*.toml")
    }
    # A new package missing from pyproject's `packages` list shows up here.
    assert expected - names == set()


def test_the_installed_command_runs_outside_the_checkout(
    installed: tuple[Path, Path, Path],
) -> None:
    _, env_dir, work = installed
    command = env_dir / "bin" / "workbench"
    shown = _run([str(command), "--help"], cwd=work, env=_env(work))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("usage: workbench ")
    for name in ("generate", "run", "history", "export", "metrics", "app"):
        assert f"    {name} " in shown.stdout, name

    env = {**_env(work), "WORKBENCH_DATA_DIR": str(work / "data")}
    listed = _run([str(command), "history"], cwd=work, env=env)
    assert listed.returncode == 0, listed.stderr


def test_the_installed_copy_finds_its_data_files(installed: tuple[Path, Path, Path]) -> None:
    _, env_dir, work = installed
    env = {**_env(work), "WORKBENCH_DATA_DIR": str(work / "data")}
    done = _run([str(env_dir / "bin" / "python"), "-c", CHECK_INSTALLED], cwd=work, env=env)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    package = Path(found["package"])
    assert package.is_relative_to(env_dir), package  # not the checkout
    catalog = tomllib.loads((ROOT / "workbench/domain/data/catalog.toml").read_text())
    assert found["models"] >= len(catalog["models"]) > 0
    assert found["templates"] == len(list((ROOT / "prompt_templates").glob("*.toml")))
    assert Path(found["templates_dir"]) == package / "prompt_templates"
    suites = (ROOT / "prompt_templates" / "suites").glob("*.toml")
    assert found["suites"] == sorted(p.stem for p in suites)
    assert found["migrations"] == sorted(
        p.stem for p in (ROOT / "workbench/store/migrations").glob("*.sql")
    )
    assert Path(found["script"]) == package / "ui" / "server.py"
    assert found["app_command"][1:] == ["-m", "streamlit", "run", found["script"],
                                        "--server.port", "1"]
    # Installed in site-packages, the default data folder is the working directory's, not there.
    assert Path(found["data_dir"]) == work.resolve() / "data"


def test_workbench_app_starts_the_streamlit_server(installed: tuple[Path, Path, Path]) -> None:
    _, env_dir, work = installed
    port = free_port()
    env = {**_env(work), "WORKBENCH_DATA_DIR": str(work / "app-data")}
    server = subprocess.Popen(
        [str(env_dir / "bin" / "workbench"), "app", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        healthy = wait_healthy(server, port, 30)
        assert healthy, server.stdout.read() if server.poll() is not None else "no answer"
    finally:
        stop(server)
