"""The Bradley–Terry fit cache: results keyed on a digest of the aggregated vote counts plus
the fit settings, so a rerun with unchanged votes runs no fit (LRU, thread-safe)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from workbench.stats.bradley_terry import RIDGE, BTResult, PairCounts, rate

FIT_CACHE_SIZE = 256


class _FitCache:
    """Bradley–Terry results keyed on the vote counts' digest and the fit settings (LRU)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple[Any, ...], BTResult] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def rate(self, counts: PairCounts, min_votes: int, rounds: int, seed: int) -> BTResult:
        key = (counts.key(), min_votes, rounds, seed, RIDGE)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
        result = rate(counts, min_votes=min_votes, rounds=rounds, seed=seed)
        with self._lock:
            self.misses += 1
            self._items[key] = result
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return result

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0


FITS = _FitCache(FIT_CACHE_SIZE)
