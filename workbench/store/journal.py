"""Outcomes of paid attempts that could not reach the database: one JSON line each in
`pending-outcomes.jsonl` in the data directory, replayed into the log by the next start.

In team mode the server can go away in the middle of a run. `AttemptLog.complete` retries a
write that failed for that reason until the server is back; if it stays away past the deadline,
the outcome (status, cost, the stored image's hash and paths...) is appended here instead of
being lost, and `replay` writes it when a workbench next opens. Appends take an exclusive
`flock`, so threads and processes sharing the data directory never interleave lines; `replay`
keeps the lines it could not write.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

JOURNAL_NAME = "pending-outcomes.jsonl"


def _encode(generation_id: str, outcome: dict[str, Any]) -> str:
    return json.dumps({"generation_id": generation_id, "outcome": outcome})


def _decode(line: str) -> tuple[str, dict[str, Any]]:
    record = json.loads(line)
    return str(record["generation_id"]), dict(record["outcome"])


class OutcomeJournal:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _locked(self, mode: str) -> Any:
        fh = self.path.open(mode)
        fcntl.flock(fh, fcntl.LOCK_EX)
        return fh

    def append(self, generation_id: str, outcome: dict[str, Any]) -> None:
        """Keep one outcome (its fields as JSON-ready values)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._locked("a") as fh:
            fh.write(_encode(generation_id, outcome) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def pending(self) -> int:
        if not self.path.exists():
            return 0
        return sum(1 for line in self.path.read_text().splitlines() if line.strip())

    def replay(self, write: Callable[[str, dict[str, Any]], None]) -> int:
        """Write every journalled outcome with `write`; return how many were written. A line
        whose write fails stays in the journal for the next start."""
        if not self.path.exists():
            return 0
        with self._locked("r+") as fh:
            lines = [line for line in fh.read().splitlines() if line.strip()]
            kept: list[str] = []
            written = 0
            for line in lines:
                try:
                    write(*_decode(line))
                except Exception:
                    kept.append(line)
                else:
                    written += 1
            fh.seek(0)
            fh.truncate()
            fh.write("".join(f"{line}\n" for line in kept))
            fh.flush()
            os.fsync(fh.fileno())
        if not kept:
            self.path.unlink(missing_ok=True)
        return written
