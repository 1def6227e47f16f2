"""Which database the store uses: the embedded DuckDB file in the data directory, or, with
`WORKBENCH_DATABASE_URL` set (team mode), a PostgreSQL server. Services call `open_database` and
never learn which one they got; both answer the same calls (see `store.postgres`)."""

from __future__ import annotations

import tempfile

from workbench.config import Settings
from workbench.paths import make_private_dir
from workbench.store.db import Backend, Database, StoreError


def open_database(settings: Settings, *, idle_close_s: float = 2.0) -> Backend:
    url = settings.database
    if url is None:
        return Database(
            settings.db_path,
            lock_timeout_s=settings.lock_timeout_s,
            idle_close_s=idle_close_s,
            data_umask=settings.data_umask,
        )
    # Images still live in the data directory in team mode: refuse one we cannot write to now,
    # not at the first paid image.
    _check_writable(settings)
    from workbench.store.postgres import PgDatabase  # psycopg loads only in team mode

    return PgDatabase(url, connect_timeout_s=settings.lock_timeout_s)


def _check_writable(settings: Settings) -> None:
    folder = settings.data_dir
    try:
        # A team's shared image directory is created with the data's mask but never narrowed:
        # others may read it on purpose (workbench/paths.py).
        make_private_dir(folder, settings.data_umask, fix_existing=False)
        # A name of this process's own: two processes starting at once each remove only their
        # own probe (one shared name let one remove the other's, which then failed to start).
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise StoreError(
            f"Cannot use the data directory {folder}: {exc.strerror}. In team mode the images "
            "still live there (the database holds the log): set WORKBENCH_DATA_DIR to a folder "
            "this process can write to, shared by the team."
        ) from exc
