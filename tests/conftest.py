"""Shared fixtures, and the guard that makes any non-loopback connection fail during tests.

The suite runs in parallel (`scripts/test.sh`: pytest-xdist, `-n 2 --dist load`); every
fixture here is per test process, so a test may assume nothing about the order of other tests.

Fixtures (ask for them by name):
- `settings`: Settings on an empty `tmp_path/"data"` (nothing created yet), lock timeout 2 s.
- `wb`: a Workbench on `settings` whose database is a copy of the session's migrated template
  (`migrated_db`), closed after the test. Use it unless the test is about migrating or about
  the first start of an empty directory (then open `settings` yourself).
- `data_dir`: a data directory named by the environment for `cli.main` in this process, holding
  a copy of the migrated template (tests/ui/conftest.py has its own `data_dir` for AppTest,
  seeded the same way).
- `migrated_db` / `migrated_template()`: the path of a closed DuckDB file migrated once per test
  process; `seed_data_dir(directory)` (import it from `tests.conftest`) copies it into a data
  directory, to start any workbench of your own without migrating.
- `pg_server`: the process's throwaway PostgreSQL 15 (tests/pg_server.py), started on first use.
- `pg_url`: a new EMPTY database on it (for tests of migrating itself).
- `pg_migrated_url`: a new database copied from a migrated template (`CREATE DATABASE ...
  TEMPLATE`): every table, no migration run.
- `backend`, `backend_settings`, `backend_wb`: parametrise a test over DuckDB and PostgreSQL;
  `backend_wb` starts from the migrated template on both.

Parallel runs (`scripts/test.sh`): every test but the browser journeys on two workers, handed
out one at a time (`--dist load`), then the journeys on one (`-n 0 -m browser`; they share one
Chromium and a Streamlit server per configuration, tests/browser/conftest.py). Beside the other
tests on two cores a journey's rerun waited past its timeout. Runs given `--dist loadgroup`
(scripts/test.sh with arguments) keep the journeys together on one worker: the groups are named
by folder here (`GROUPS`, `pytest_xdist_make_scheduler`), not by `xdist_group` marks: with
pytest 9.2, pytest-xdist 3.8 tags a test's id with its group through an attribute pytest no
longer reads (`item._nodeid`), so marked tests were never grouped. A
test that starts a server of its own takes a free port with `tests.app_server.free_port` and
retries when another worker took it first (`start_app`, `PgCluster.start` and
`S3Server.start` do).
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.pg_cluster import PgCluster
from tests import pg_server as pg_server_module
from workbench.config import BASE_URL_VARIABLES, KEY_VARIABLES, Settings, load_settings
from workbench.services.workbench import Workbench, open_workbench

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "ip6-localhost"}


class NetworkGuardError(OSError):
    """A test tried to reach something other than this machine."""


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return True  # AF_UNIX paths and the like stay local
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _check(address: object) -> None:
    host = address[0] if isinstance(address, tuple) else address
    if not _is_loopback(host):
        raise NetworkGuardError(f"tests may only connect to loopback, not {host!r}")


def _guarded_connect(self: socket.socket, address: object) -> None:
    if self.family != socket.AF_UNIX:  # a Unix socket's address is a path on this machine
        _check(address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if self.family != socket.AF_UNIX:
        _check(address)
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
    if host is not None:
        _check((host.decode() if isinstance(host, bytes) else host,))
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True, scope="session")
def network_guard() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _guarded_getaddrinfo
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _real_getaddrinfo


# The image store's settings (an S3 bucket and its credentials) stay out of tests unless set.
IMAGE_STORE_VARIABLES = ("WORKBENCH_IMAGES_URL", "WORKBENCH_IMAGES_CACHE_MB", "AWS_ENDPOINT_URL",
                         "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_ACCESS_KEY_ID",
                         "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


@pytest.fixture(autouse=True)
def _no_real_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys and base URLs of the developer's shell never leak into a test."""
    names = [n for group in KEY_VARIABLES.values() for n in group]
    for name in (*names, *BASE_URL_VARIABLES.values(), *IMAGE_STORE_VARIABLES):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        env={"WORKBENCH_DATA_DIR": str(tmp_path / "data"), "WORKBENCH_LOCK_TIMEOUT_S": "2"},
        secrets_file=tmp_path / "no-secrets.toml",
    )


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory for the command line run in this process (`cli.main`): the
    environment names it, it holds a copy of the migrated template, and no secrets file of the
    checkout is read."""
    from workbench import config

    data = tmp_path / "data"
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(data))
    monkeypatch.setenv("WORKBENCH_LOCK_TIMEOUT_S", "2")
    monkeypatch.setattr(config, "SECRETS_FILE", tmp_path / "no-secrets.toml")
    seed_data_dir(data)
    return data


# -- parallel runs: which tests one worker runs together -------------------------------------------
# folder prefix of a test's id -> its group: handed to one worker as one unit, in collection order
GROUPS = {"tests/browser/": "browser"}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """Under `--dist loadgroup`, xdist's load-by-group scheduler with the groups of `GROUPS`:
    a grouped test is one unit with the rest of its group, any other test is a unit of its
    own. The biggest units are handed out first (xdist's `--loadscope-reorder` default), so the
    browser journeys start at once on one worker while the other takes single tests."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class FolderGroups(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            for folder, group in GROUPS.items():
                if nodeid.startswith(folder):
                    return group
            return nodeid

    return FolderGroups(config, log)  # type: ignore[arg-type]


# -- a migrated database, copied instead of migrated per test ----------------------------------
_FACTORY: list[pytest.TempPathFactory] = []
_TEMPLATE: list[Path] = []


@pytest.fixture(scope="session", autouse=True)
def _template_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    _FACTORY.append(tmp_path_factory)


def migrated_template() -> Path:
    """A closed, fully migrated database file of this test process, made on first use: copying
    it (~1 ms) is far cheaper than running every migration (~0.1 s)."""
    if not _TEMPLATE:
        data = _FACTORY[-1].mktemp("template") / "data"
        settings = load_settings(env={"WORKBENCH_DATA_DIR": str(data)},
                                 secrets_file=data.parent / "no-secrets.toml")
        open_workbench(settings, idle_close_s=0).close()
        _TEMPLATE.append(settings.db_path)
    return _TEMPLATE[-1]


@pytest.fixture(scope="session")
def migrated_db() -> Path:
    """`migrated_template()` as a fixture."""
    return migrated_template()


def seed_data_dir(directory: Path) -> Path:
    """Put a copy of the migrated template into `directory` (created if missing) as the
    workbench's database file; the file's path. A workbench opened there finds every migration
    applied and runs none."""
    template = migrated_template()
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / template.name
    shutil.copyfile(template, target)
    return target


@pytest.fixture
def wb(settings: Settings) -> Iterator[Workbench]:
    seed_data_dir(settings.data_dir)
    bench = open_workbench(settings, idle_close_s=0)
    yield bench
    bench.close()


# -- both backends ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgCluster]:
    """The session's throwaway PostgreSQL server, started on first use (tests/pg_server.py)."""
    yield pg_server_module.cluster()
    pg_server_module.stop()


@pytest.fixture
def pg_url(pg_server: PgCluster) -> str:
    """A fresh, empty database on the session's server."""
    return pg_server_module.fresh_database()


@pytest.fixture
def pg_migrated_url(pg_server: PgCluster) -> str:
    """A fresh database on the session's server holding every migration (a template's copy)."""
    return pg_server_module.migrated_database()


@pytest.fixture(params=["duckdb", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """Parametrises a store test over the embedded file and the team server."""
    return str(request.param)


@pytest.fixture
def backend_settings(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    env = {"WORKBENCH_DATA_DIR": str(tmp_path / "data"), "WORKBENCH_LOCK_TIMEOUT_S": "5"}
    if backend == "postgres":
        env["WORKBENCH_DATABASE_URL"] = request.getfixturevalue("pg_url")
    return load_settings(env=env, secrets_file=tmp_path / "no-secrets.toml")


@pytest.fixture
def backend_wb(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Workbench]:
    """A workbench on each backend in turn, its database copied from the migrated template."""
    env = {"WORKBENCH_DATA_DIR": str(tmp_path / "data"), "WORKBENCH_LOCK_TIMEOUT_S": "5"}
    if backend == "postgres":
        env["WORKBENCH_DATABASE_URL"] = request.getfixturevalue("pg_migrated_url")
    else:
        seed_data_dir(tmp_path / "data")
    settings = load_settings(env=env, secrets_file=tmp_path / "no-secrets.toml")
    bench = open_workbench(settings, idle_close_s=0)
    yield bench
    bench.close()


# After the last test the interpreter tears down its daemon threads. One still inside a DuckDB
# call then aborts the process ("terminate called ...", exit 134) although every test passed:
# reproduced with a daemon thread running a query at exit. The metrics worker now stops its
# recompute and joins its threads on close, and the ui and metrics tests exit 0 without this
# guard; it stays because any other daemon thread caught mid-query (a Streamlit session's
# worker in an AppTest) would do the same. So the session ends with pytest's own exit status
# once everything is reported and unconfigured.
_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if _EXIT_STATUS:
        import os
        import sys

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS[-1])
