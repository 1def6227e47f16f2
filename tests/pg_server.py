"""The test session's PostgreSQL 15 server: one throwaway cluster (`harness.pg_cluster`) per test
process (each pytest-xdist worker has its own), started on first use and stopped when the
session ends (also by `atexit` after a crash), and a fresh database per test so tests stay
independent:

- `fresh_database()`: `CREATE DATABASE t_<n>`, empty (for tests of migrating itself);
- `migrated_database()`: `CREATE DATABASE m_<n> TEMPLATE wb_template`, a copy of a database the
  workbench migrated once this session. PostgreSQL copies the template's files
  (https://www.postgresql.org/docs/15/manage-ag-templatedbs.html), so a test gets every table
  without running every migration again.

Without Debian's `postgresql` package the team-mode tests fail with how to install it; set
`WORKBENCH_SKIP_POSTGRES=1` to skip them instead on a machine that cannot have it.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from pathlib import Path

import pytest

from harness.pg_cluster import PgCluster, available

TEMPLATE = "wb_template"

_cluster: PgCluster | None = None
_template_ready = False
_numbers = itertools.count(1)


def cluster() -> PgCluster:
    global _cluster
    if _cluster is None:
        if not available():
            if os.environ.get("WORKBENCH_SKIP_POSTGRES") == "1":
                pytest.skip("PostgreSQL 15 is not installed (WORKBENCH_SKIP_POSTGRES=1)")
            pytest.fail("team-mode tests need PostgreSQL 15: apt-get install -y postgresql")
        _cluster = PgCluster().start()
    return _cluster


def fresh_database() -> str:
    """The URL of a new, empty database on the session's server."""
    return cluster().create_database(f"t_{next(_numbers)}")


def migrated_database() -> str:
    """The URL of a new database holding every migration, copied from the session's template."""
    global _template_ready
    server = cluster()
    if not _template_ready:
        from workbench.config import load_settings
        from workbench.services.workbench import open_workbench

        url = server.create_database(TEMPLATE)
        with tempfile.TemporaryDirectory(prefix="wb-pg-template-") as scratch:
            settings = load_settings(
                env={"WORKBENCH_DATA_DIR": str(Path(scratch) / "data"),
                     "WORKBENCH_DATABASE_URL": url},
                secrets_file=Path(scratch) / "no-secrets.toml",
            )
            open_workbench(settings, idle_close_s=0).close()  # migrates, then lets go
        _template_ready = True
    return server.create_database(f"m_{next(_numbers)}", template=TEMPLATE)


def stop() -> None:
    global _cluster, _template_ready
    if _cluster is not None:
        _cluster.stop()
        _cluster = None
        _template_ready = False
