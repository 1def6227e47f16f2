"""The local read cache of a remote image store: thumbnails and recently viewed images on this
machine's disk, so that a History page of 50 thumbnails reads 50 small local files on every
rerun instead of making 50 round trips.

Bounded by a size (`WORKBENCH_IMAGES_CACHE_MB`): when what was written since the last look
passes a tenth of the bound, the files used longest ago (a hit touches its file's mtime) go
until the cache holds 80 % of the bound. Several processes may share the folder: every write is
a rename of a whole file, and a file another process removed is simply fetched again. The cache
only ever holds copies: losing it loses nothing.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from workbench.store.images.local import atomic_write


class ReadCache:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = max(0, int(max_bytes))
        self._written = 0
        self._lock = threading.Lock()

    def path(self, key: str) -> Path:
        return self.root / key

    def get(self, key: str) -> bytes | None:
        path = self.root / key
        try:
            data = path.read_bytes()
            os.utime(path)  # last use, for eviction
        except OSError:
            return None
        return data

    def hit(self, key: str) -> Path | None:
        """The cached file's path (touched as used), or None."""
        path = self.root / key
        try:
            os.utime(path)
        except OSError:
            return None
        return path

    def put(self, key: str, data: bytes) -> Path | None:
        """Keep a copy; its path, or None when the cache folder cannot be written."""
        path = self.root / key
        try:
            atomic_write(path, data)
        except OSError:
            return None  # a full or read-only cache only costs a round trip later
        with self._lock:
            self._written += len(data)
            due = self._written > self.max_bytes // 10
            if due:
                self._written = 0
        if due:
            self.evict()
        return path

    def remove(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)

    def evict(self) -> int:
        """Remove the files used longest ago until the cache holds 80 % of its bound (when it
        holds more than the bound); returns the bytes removed."""
        files: list[tuple[float, int, Path]] = []
        total = 0
        for path in self.root.rglob("*"):
            try:
                st = path.stat()
            except OSError:
                continue
            if path.is_file():
                files.append((st.st_mtime, st.st_size, path))
                total += st.st_size
        if total <= self.max_bytes:
            return 0
        goal = int(self.max_bytes * 0.8)
        removed = 0
        for _, size, path in sorted(files):
            if total - removed <= goal:
                break
            path.unlink(missing_ok=True)
            removed += size
        return removed

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())
