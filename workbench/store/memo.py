"""Remembered answers of the dearest aggregate reads (the Leaderboard's), for as long as the
database has not been written to.

Why: the Leaderboard page reruns on every click, and at a million generations its measured
speed and cost table takes 50-110 ms to aggregate on DuckDB (an exact median and p95 per model
need every latency). Between two writes the answer cannot change, so it is computed once.

When the database has changed is told by the backend (`Backend.write_stamp`), read before the
query. On the embedded file it is the size and modification time of the database file and its
write-ahead log, which every commit of any process changes; it is read while this process holds
the file, so no other process can commit until the query is done. On PostgreSQL it is the
server's write-ahead log insert position, which every write moves before its commit returns.
Either way a commit between the stamp and the query only makes the answer look older than it
is: the next read sees another stamp and computes it again. Nothing is ever answered from
before a write.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from workbench.store.db import Backend

T = TypeVar("T")
SIZE = 32  # answers kept: a Leaderboard's few filters and criteria, per workbench


class ReadMemo:
    def __init__(self, db: Backend, size: int = SIZE) -> None:
        self.db = db
        self.size = size
        self._answers: OrderedDict[Hashable, tuple[Any, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def read(self, key: Hashable, compute: Callable[[], T]) -> T:
        """`compute()`'s answer, or the one remembered under `key` if nothing was written since.
        Callers get their own copy: the remembered answer is never handed out to be changed."""
        with self.db.cursor():  # hold the file: no other process commits until the read is done
            stamp = self.db.write_stamp()
            if stamp is None:
                return compute()
            with self._lock:
                found = self._answers.get(key)
                if found is not None and found[0] == stamp:
                    self._answers.move_to_end(key)
                    return copy.deepcopy(found[1])  # stored from compute(): a T
            answer = compute()
            with self._lock:
                self._answers[key] = (stamp, copy.deepcopy(answer))
                self._answers.move_to_end(key)
                while len(self._answers) > self.size:
                    self._answers.popitem(last=False)
            return answer

    def forget(self) -> None:
        """Remember nothing (the bench's "cold" figures)."""
        with self._lock:
            self._answers.clear()
