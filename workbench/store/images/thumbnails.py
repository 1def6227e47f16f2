"""The thumbnails of an `ImageStore`: made after `put` returns, on one helper thread so a run's
thumbnails never take both cores from the generations still in flight; a read of one not made
yet waits for it, or makes it from its image (checked against its sha256 first: bytes read
back are not trusted); and the data URIs that tables show, a placeholder naming the reason when
one cannot be read.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from workbench.store.images.backend import (
    ImageBackend,
    ImageMissing,
    ImageStoreError,
    ImageUnavailable,
)
from workbench.store.images.decoding import BrokenImage, thumbnail
from workbench.store.images.placeholder import placeholder_data_uri
from workbench.store.images.refs import (
    IMAGE_FORMATS,
    OTHER_FORMAT,
    BadImageRef,
    ImageRef,
    image_ref,
)

log = logging.getLogger(__name__)

# Thumbnails of images already stored, made after `put` returns: one at a time, so a run's
# thumbnails never take both cores from the generations still in flight. Its thread is joined
# at exit (concurrent.futures does), so a one-shot command leaves no thumbnail unmade.
THUMBS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="image-thumb")
_EXTENSIONS = tuple(dict.fromkeys(ext for ext, _ in (*IMAGE_FORMATS.values(), OTHER_FORMAT)))




class ImageHost(Protocol):
    """What thumbnails need of their store (`store.ImageStore`)."""

    backend: ImageBackend

    def is_stored(self, key: str) -> bool: ...
    def keep(self, ref: ImageRef, data: bytes) -> None: ...
    def note(self, key: str, reason: str) -> None: ...
    def read(self, relative: object) -> bytes: ...
    def has(self, relative: object) -> bool: ...
    def prefetch(self, refs: list[str | None]) -> None: ...


class Thumbnails:
    """The thumbnails of one store: those under way, and their reads as data URIs."""

    def __init__(self, store: ImageHost) -> None:
        self.store = store
        self._pending: dict[str, Future[bytes | None]] = {}  # thumbnail key -> its making
        self._lock = threading.Lock()

    def later(self, original: ImageRef, small: ImageRef, data: bytes) -> None:
        """Make and store the thumbnail on the helper thread; a read meanwhile waits for it."""
        with self._lock:
            if small.key in self._pending:
                return
            self._pending[small.key] = THUMBS.submit(self.make, original, small, data)

    def make(self, original: ImageRef, small: ImageRef, data: bytes) -> bytes | None:
        try:
            if self.store.is_stored(small.key):  # the same image stored again: nothing to make
                return None
            thumb = thumbnail(data)
            self.store.keep(small, thumb)
            return thumb
        except (BrokenImage, ImageStoreError) as exc:
            # The image itself is stored; only its preview is missing (a placeholder says why).
            log.warning("no thumbnail for %s: %s", original.key, exc)
            self.store.note(small.key, f"no thumbnail: {exc}")
            return None
        finally:
            with self._lock:
                self._pending.pop(small.key, None)

    def wait_all(self) -> None:
        """Return once every thumbnail this store has under way is stored."""
        with self._lock:
            pending = list(self._pending.values())
        for future in pending:
            future.result()

    def wait_for(self, key: str) -> None:
        """Return once the thumbnail `key` is not under way (made, or never asked for)."""
        with self._lock:
            under_way = self._pending.get(key)
        if under_way is not None:
            with contextlib.suppress(Exception):  # `make` noted why it failed
                under_way.result()

    def of(self, small: ImageRef) -> bytes | None:
        """A thumbnail not stored yet: the one under way, else one made now from its image
        (checked against its sha256 first: bytes read back are not trusted); None when the
        image is not here either or does not decode."""
        with self._lock:
            under_way = self._pending.get(small.key)
        if under_way is not None:
            made = under_way.result()
            if made is not None or not self.store.is_stored(small.key):
                return made
            with contextlib.suppress(ImageUnavailable):
                return self.store.backend.read(small.key)
            return None
        for ext in _EXTENSIONS:
            original = image_ref(small.sha256, ext)
            if not self.store.has(original.key):
                continue
            try:
                data = self.store.read(original.key)
            except ImageUnavailable:
                return None
            if hashlib.sha256(data).hexdigest() != small.sha256:
                self.store.note(small.key, "its image no longer matches its sha256")
                return None
            return self.make(original, small, data)
        return None

    def data_uri(self, thumb_rel: str | None) -> str | None:
        """A small JPEG data URI for tables (local paths do not show in ImageColumn); a
        placeholder naming the reason when the thumbnail cannot be read."""
        if not thumb_rel:
            return None
        try:
            raw = self.store.read(thumb_rel)
        except BadImageRef:
            return placeholder_data_uri("refused: not a path the workbench writes")
        except ImageMissing as exc:
            return placeholder_data_uri(str(exc))
        except ImageUnavailable as exc:
            return placeholder_data_uri(str(exc))
        return "data:image/jpeg;base64," + base64.b64encode(raw).decode()

    def data_uris(self, thumb_refs: list[str | None]) -> list[str | None]:
        """`data_uri` for a page of thumbnails; with a remote store, those not cached yet
        are fetched side by side (a cold page of 50 costs a few round trips' time, not 50)."""
        self.store.prefetch(thumb_refs)
        return [self.data_uri(t) for t in thumb_refs]
