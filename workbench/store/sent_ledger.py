"""The sent-requests ledger: one line per request, appended and forced to disk (fsync) just
before the request leaves for a provider, in a file beside the DuckDB database
(`workbench.duckdb.sent`).

Why: DuckDB keeps its latest writes in its write-ahead log. If that log is lost or cut short
(a machine that died, a disk that acknowledged a write it had not made, a copy taken mid-run),
the database opens without the rows that said a request had gone out, and a resumed run would
pay for it again. The ledger is the one record that is on disk before money can be spent:
resume and recover read it, never send again a cell it names, and say which cells the database
cannot account for. On PostgreSQL the commit that marks an attempt as sent is durable before the
request leaves, so the database is the ledger there and this file is not used.

Lines are JSON; a torn last line (the process died mid-append) or anything else that does not
parse is skipped. What is read back is only ever used to *not* send something: no path is
opened and no URL is followed from it.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from workbench.store.db import StoreError, utcnow

SUFFIX = ".sent"


class LedgerUnwritable(StoreError):
    """The ledger cannot be appended to: nothing may be sent until it can."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"Cannot write the sent-requests ledger {path} ({reason}); nothing was sent. "
            "Make that file writable (or remove what is in its place), then run again."
        )
        self.path = path


@dataclass(frozen=True)
class SentEntry:
    generation_id: str
    request_hash: str
    provider: str
    run_id: str | None = None
    cell: str | None = None
    at: str = ""


def _entry(line: str) -> SentEntry | None:
    try:
        raw = json.loads(line)
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    text = ("generation_id", "request_hash", "provider")
    if not all(isinstance(raw.get(k), str) and raw[k] for k in text):
        return None
    optional = ("run_id", "cell", "at")
    if not all(raw.get(k) is None or isinstance(raw.get(k), str) for k in optional):
        return None
    return SentEntry(
        generation_id=raw["generation_id"],
        request_hash=raw["request_hash"],
        provider=raw["provider"],
        run_id=raw.get("run_id"),
        cell=raw.get("cell"),
        at=raw.get("at") or "",
    )


class SentLedger:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def beside(cls, database: Path) -> SentLedger:
        return cls(Path(str(database) + SUFFIX))

    def check(self) -> None:
        """Raise `LedgerUnwritable` unless an append would succeed now (before a run starts)."""
        try:
            with self.path.open("a"):
                pass
        except OSError as exc:
            raise LedgerUnwritable(self.path, exc.strerror or type(exc).__name__) from None

    def append(self, entry: SentEntry) -> None:
        """Keep `entry` on disk; return only once it is there. Appends take an exclusive
        `flock`, so threads and processes sharing the data directory never interleave lines."""
        record = asdict(entry)
        record["at"] = record["at"] or utcnow().isoformat()
        line = json.dumps(record, separators=(",", ":")) + "\n"
        try:
            created = not self.path.exists()
            with self.path.open("a") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
            if created:  # the new file's name must survive a crash too
                _fsync_dir(self.path.parent)
        except OSError as exc:
            raise LedgerUnwritable(self.path, exc.strerror or type(exc).__name__) from None

    def entries(self, run_id: str | None = None) -> list[SentEntry]:
        """Every readable entry (of one run when `run_id` is given), oldest first."""
        try:
            text = self.path.read_text(errors="replace")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise LedgerUnwritable(self.path, exc.strerror or type(exc).__name__) from None
        found = [e for e in map(_entry, text.splitlines()) if e is not None]
        return found if run_id is None else [e for e in found if e.run_id == run_id]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
