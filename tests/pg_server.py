"""The test session's PostgreSQL 15 server: one throwaway cluster (`tests.pg_cluster`)
started on first use and stopped when the session ends (also by `atexit` after a crash), and a
fresh database per test (`CREATE DATABASE t_<n>`) so tests stay independent.

Without Debian's `postgresql` package the team-mode tests fail with how to install it; set
`WORKBENCH_SKIP_POSTGRES=1` to skip them instead on a machine that cannot have it.
"""

from __future__ import annotations

import itertools
import os

import pytest

from tests.pg_cluster import PgCluster, available

_cluster: PgCluster | None = None
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


def stop() -> None:
    global _cluster
    if _cluster is not None:
        _cluster.stop()
        _cluster = None
