"""Removing an image for good (History's "Delete for good"): the image and its thumbnail, from
the backend (the data directory's files, or the bucket's objects), the local read cache and the
upload spool (else the next start would upload it again).

Images are content-addressed (`refs`: the key is the sha256 of the bytes), so two generations
that received the same bytes share one image. An image is removed only when nothing shows it:
- `in_use(sha256)`, asked by the caller of the database at the moment of removal, says whether
  any generation's row shows it (a generation recorded since the caller's own check counts);
- an image this process stored whose generation is not recorded yet (the outcome is written
  after `put` returns; `recorded` says when it is) is never removed, for up to `RECENT_S`. `put`
  notes the image under the same lock a removal holds, so a put of the same bytes either comes
  first (and is seen here) or waits for the removal to finish and then writes the file again.
Only references the workbench itself writes are accepted (`refs.parse_ref`), and only an
image's: its thumbnail's key is derived from the image's sha256, never read from anywhere.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from workbench.store.images.backend import ImageBackend
from workbench.store.images.cache import ReadCache
from workbench.store.images.refs import BadImageRef, parse_ref, thumb_ref
from workbench.store.images.spool import Spool

# The longest an image this process stored counts as in use, recorded or not, whatever the
# database says: far longer than writing an outcome takes (a team server away: 120 s).
RECENT_S = 3600.0


class ThumbnailsUnderWay(Protocol):
    def wait_for(self, key: str) -> None: ...


class Removals:
    """The images this process stored lately, and removing one that nothing shows."""

    def __init__(
        self, backend: ImageBackend, spool: Spool, cache: ReadCache | None,
        thumbs: ThumbnailsUnderWay,
    ) -> None:
        self.backend = backend
        self.spool = spool
        self.cache = cache
        self.thumbs = thumbs
        self._lock = threading.Lock()
        # sha256 -> (puts whose generation is not recorded yet, when the last one was made)
        self._unrecorded: dict[str, tuple[int, float]] = {}

    def storing(self, sha256: str) -> None:
        """`put` is about to keep these bytes (waits while a removal is under way)."""
        now = time.monotonic()
        with self._lock:
            count, _ = self._unrecorded.get(sha256, (0, now))
            self._unrecorded[sha256] = (count + 1, now)
            if len(self._unrecorded) > 1000:
                self._unrecorded = {
                    k: v for k, v in self._unrecorded.items() if now - v[1] < RECENT_S
                }

    def recorded(self, sha256: str) -> None:
        """A generation showing these bytes is in the database now (`in_use` sees it)."""
        with self._lock:
            count, at = self._unrecorded.get(sha256, (0, 0.0))
            if count > 1:
                self._unrecorded[sha256] = (count - 1, at)
            else:
                self._unrecorded.pop(sha256, None)

    def remove(self, relative: object, in_use: Callable[[str], bool]) -> bool:
        """Remove the image of this reference and its thumbnail unless it is in use (see the
        module docstring); whether they were removed. BadImageRef for anything but an image's
        reference as the workbench writes it; ImageStoreError when the store cannot be asked
        (what was removed before stays removed)."""
        ref = parse_ref(relative)
        if ref.thumb:
            raise BadImageRef(
                "Refused to remove a thumbnail by itself: it goes with its image's reference."
            )
        with self._lock:
            unrecorded = self._unrecorded.get(ref.sha256)
            if unrecorded is not None and time.monotonic() - unrecorded[1] < RECENT_S:
                return False
            if in_use(ref.sha256):
                return False
            small = thumb_ref(ref.sha256)
            self.thumbs.wait_for(small.key)  # else it would be written after the removal
            for key in (small.key, ref.key):
                self.spool.remove(key)
                if self.cache is not None:
                    self.cache.remove(key)
                self.backend.delete(key)
        return True
