"""A throwaway PostgreSQL 15 cluster on this machine, for the tests and `bench/history.py`.

Started for real from Debian's binaries (`/usr/lib/postgresql/15/bin`, package `postgresql`):
`initdb` into a fresh temporary directory, then `pg_ctl start` on a free loopback port with its
socket in that directory. PostgreSQL refuses to run as root, so as root every command runs as
the `postgres` OS user (`runuser -u postgres --`) on a directory chowned to it. The superuser
is `workbench` and needs no password (`trust`), except the role `SECRET_ROLE`, which must log in
with `SECRET_PASSWORD` over TCP (for the wrong-credentials and redaction tests). `stop` removes
everything; an `atexit` hook stops a cluster that a crashed session left running.

Statements go over the driver (psycopg, one kept connection to `postgres`), not a `psql`
subprocess: a test's fresh database costs one `CREATE DATABASE`, and one copied from a migrated
template (`create_database(name, template=...)`) costs no migration either. Several test
processes (pytest-xdist workers) each start their own cluster: every one has its own temporary
directory, and a port another process took between choosing and binding is chosen again.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import psycopg

BIN_DIR = Path("/usr/lib/postgresql/15/bin")
SUPERUSER = "workbench"
SECRET_ROLE = "secretive"
SECRET_PASSWORD = "pw-Zq7-never-shown"  # a made-up test password; the tests look for it in output

# Speed over durability: a test cluster thrown away at the end never needs to survive a power
# cut, so it skips fsync and full-page images; the operating system still holds every write, so
# a killed server loses nothing. A cluster made to be killed (`crashable`) keeps waiting for the
# WAL write at commit: with synchronous_commit=off the last commits die with the server.
_FAST = "-c fsync=off -c full_page_writes=off"
_NO_COMMIT_WAIT = "-c synchronous_commit=off"

_HBA = f"""# written by harness.pg_cluster
local all all trust
host all {SECRET_ROLE} 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
"""


class ClusterError(RuntimeError):
    """The throwaway server could not be set up or started; the message has its log."""


def available() -> bool:
    return (BIN_DIR / "initdb").is_file()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgCluster:
    def __init__(self, *, max_connections: int = 200, crashable: bool = False) -> None:
        self.max_connections = max_connections
        self.crashable = crashable
        self.root: Path | None = None
        self.port = 0
        self._running = False
        self._admin: Any = None  # psycopg connection to `postgres`, opened on first statement

    @property
    def data_dir(self) -> Path:
        assert self.root is not None, "start the cluster first"
        return self.root / "data"

    @property
    def running(self) -> bool:
        return self._running

    @property
    def log_file(self) -> Path:
        assert self.root is not None, "start the cluster first"
        return self.root / "server.log"

    def _as_owner(self, args: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args

    def _run(self, args: list[str]) -> None:
        done = subprocess.run(self._as_owner(args), capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
            raise ClusterError(
                f"{' '.join(args[:2])} failed ({done.returncode}): {done.stderr.strip()}\n{log}"
            )

    def start(self) -> PgCluster:
        if not available():
            raise ClusterError(f"PostgreSQL 15 is not installed ({BIN_DIR}/initdb missing): "
                               "apt-get install -y postgresql")
        self.root = Path(tempfile.mkdtemp(prefix="wb-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run([str(BIN_DIR / "initdb"), "-D", str(self.data_dir), "-A", "trust",
                   "-U", SUPERUSER, "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"])
        (self.data_dir / "pg_hba.conf").write_text(_HBA)
        atexit.register(self.stop)
        for attempt in range(5):
            self.port = free_port()
            try:
                self.resume()
                break
            except ClusterError as exc:
                # Another process (a parallel test worker) bound the port first: choose again.
                if attempt == 4 or "could not bind" not in str(exc).lower():
                    raise
        self.sql(f"CREATE ROLE {SECRET_ROLE} LOGIN CREATEDB PASSWORD '{SECRET_PASSWORD}'")
        return self

    def resume(self) -> None:
        """Start (again) on the same port and data."""
        options = (f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1"
                   f" -c max_connections={self.max_connections} {_FAST}")
        if not self.crashable:
            options += f" {_NO_COMMIT_WAIT}"
        self._run([str(BIN_DIR / "pg_ctl"), "-D", str(self.data_dir), "-o", options,
                   "-l", str(self.log_file), "-w", "-t", "60", "start"])
        self._running = True

    def halt(self, mode: str = "fast") -> None:
        """Stop the server but keep its data (`immediate` is a crash: no shutdown checkpoint,
        every connection cut)."""
        self._close_admin()
        if self._running:
            self._run([str(BIN_DIR / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w",
                       "stop"])
            self._running = False

    def stop(self) -> None:
        """Stop the server and delete its files."""
        with contextlib.suppress(ClusterError):
            self.halt("immediate")
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def url(self, dbname: str = "postgres", *, user: str = SUPERUSER,
            password: str | None = None) -> str:
        secret = f":{password}" if password else ""
        return f"postgresql://{user}{secret}@127.0.0.1:{self.port}/{dbname}"

    def _close_admin(self) -> None:
        if self._admin is not None:
            with contextlib.suppress(psycopg.Error):
                self._admin.close()
            self._admin = None

    def sql(self, statement: str, dbname: str = "postgres") -> str:
        """Run one statement as the superuser; its rows as `psql -At` prints them."""
        try:
            if dbname != "postgres":
                with psycopg.connect(self.url(dbname), autocommit=True) as con:
                    return _rows_text(con.execute(statement))  # type: ignore[arg-type]
            if self._admin is None or self._admin.closed:
                self._admin = psycopg.connect(self.url(), autocommit=True)
            return _rows_text(self._admin.execute(statement))
        except psycopg.Error as exc:
            self._close_admin()  # a broken connection is opened again by the next statement
            raise ClusterError(f"{statement.split()[0]} failed: {exc}") from exc

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """A fresh database, empty or a copy of `template` (which nobody may be connected to);
        its URL."""
        copy = f' TEMPLATE "{template}"' if template else ""
        self.sql(f'CREATE DATABASE "{name}"{copy}')
        return self.url(name)


def _rows_text(cursor: Any) -> str:
    if cursor.description is None:
        return ""
    return "\n".join("|".join("" if v is None else str(v) for v in row)
                     for row in cursor.fetchall())
