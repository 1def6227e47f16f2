"""`ImageStore`: what the rest of the workbench calls to keep and read images, whichever
backend holds them: the rules every image passes in and out. Its thumbnails are
`thumbnails.Thumbnails` (`store.thumbs`); uploading the spool is `spool_replay`.

- `put` refuses bytes that are not a whole image of sane dimensions (`NotAnImage`, checked by
  `decoding.inspect` without decoding a PNG's pixels), so a truncated download, an HTML error
  page or a decompression bomb never becomes a "succeeded" generation; stores the image once
  under its sha256 before it returns. Its small JPEG thumbnail is made after that, on a helper
  thread, so decoding is off the generation's critical path; a read of a thumbnail not made
  yet waits for it or makes it from the image. With a remote backend, a put the store cannot
  take goes to the local upload spool (flushed to disk) and `put` still returns: the bytes are
  durable on this machine, and `replay_spool` (each start, `workbench recover`) uploads them.
- Every read takes a reference from the database and parses it first (`refs.parse_ref`):
  anything the workbench would not have written is refused with `BadImageRef`.
- `absolute` gives a local file for callers that open paths (Pillow, `st.image`): the file
  itself in a data directory; with a remote backend a copy in the local read cache (fetched
  on first use), or the file waiting in the spool.
- `read` gives the bytes or `ImageUnavailable` with a short reason; `thumb_data_uri` never
  fails: a thumbnail that cannot be read becomes a placeholder naming the reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from workbench.errors import InvalidInput
from workbench.store.images.backend import (
    ImageBackend,
    ImageMissing,
    ImageStoreError,
    ImageUnavailable,
)
from workbench.store.images.cache import ReadCache
from workbench.store.images.decoding import BrokenImage, inspect
from workbench.store.images.local import DirectoryBackend
from workbench.store.images.refs import (
    IMAGE_FORMATS,
    OTHER_FORMAT,
    BadImageRef,
    ImageRef,
    image_ref,
    parse_ref,
    thumb_ref,
)
from workbench.store.images.removal import Removals
from workbench.store.images.spool import Spool
from workbench.store.images.thumbnails import Thumbnails

log = logging.getLogger(__name__)

DEFAULT_CACHE_MB = 512
CACHE_DIR = "image-cache"
SPOOL_DIR = "image-spool"

# Shared by every store in the process; `put` already runs off the event loop.
_HELPER = ThreadPoolExecutor(max_workers=4, thread_name_prefix="image-hash")
# Fetches of a page's thumbnails from a remote store (network-bound: threads wait, not work).
_FETCH = ThreadPoolExecutor(max_workers=8, thread_name_prefix="image-fetch")

class NotAnImage(InvalidInput):
    pass


@dataclass(frozen=True)
class StoredImage:
    sha256: str
    path: str  # the image's reference (relative to the data directory or bucket prefix)
    thumb_path: str
    mime: str
    bytes: int
    width: int
    height: int


@dataclass(frozen=True)
class CheckedImage:
    """Bytes `ImageStore.check` found to be a whole image, with the names they are stored
    under; not stored yet."""

    stored: StoredImage
    original: ImageRef
    small: ImageRef
    data: bytes = field(repr=False)
    thumb: bytes | None = field(default=None, repr=False)  # a JPEG's, made while checking


class ImageStore:
    """Images by content hash on a backend (the data directory unless one is given)."""

    def __init__(
        self,
        data_dir: Path,
        backend: ImageBackend | None = None,
        *,
        cache_bytes: int = DEFAULT_CACHE_MB * 2**20,
        file_mode: int = 0o600,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.backend: ImageBackend = backend or DirectoryBackend(
            self.data_dir, file_mode=file_mode
        )
        self.remote = self.backend.local_root is None
        self.cache = ReadCache(self.data_dir / CACHE_DIR, cache_bytes) if self.remote else None
        self.spool = Spool(self.data_dir / SPOOL_DIR)
        self._problems: dict[str, str] = {}
        self._lock = threading.Lock()
        self._inventory: tuple[float, tuple[int, int]] | None = None  # (when, count)
        self.thumbs = Thumbnails(self)
        self.removals = Removals(self.backend, self.spool, self.cache, self.thumbs)

    @property
    def location(self) -> str:
        """Where the images live, without any secret."""
        return self.backend.location

    # -- writing --------------------------------------------------------------------------------

    def put(self, data: bytes, *, thumbnail_later: bool = False) -> StoredImage:
        """Check the bytes are a whole image of sane dimensions (`decoding.inspect`: no full
        decode for a PNG), then store them under their sha256 before returning: a local
        write, or a bucket's upload (else the flushed spool). The thumbnail is written with
        them when checking made it (a JPEG), else made afterwards on a helper thread: at once,
        or, with `thumbnail_later`, once the caller has recorded the image (`recorded`), so
        the decoding does not compete with that. Until it is made, a read of it makes it
        (`read`, through `thumbs.of`). Until `recorded`, the image is never removed."""
        return self.store(self.check(data), thumbnail_later=thumbnail_later)

    def check(self, data: bytes) -> CheckedImage:
        """`put`'s first half: the bytes checked (NotAnImage) and named, nothing written. A
        generation records the image while `store` writes it, and commits once it is."""
        if not data:
            raise NotAnImage("The provider returned an empty file instead of an image.")
        # Hash on a helper thread while this one checks the file: both release the GIL.
        hashing = _HELPER.submit(lambda: hashlib.sha256(data).hexdigest())
        try:
            seen = inspect(data)
        except BrokenImage as exc:
            hashing.cancel()
            raise NotAnImage(str(exc)) from exc.__cause__
        sha = hashing.result()
        ext, mime = IMAGE_FORMATS.get(seen.format, OTHER_FORMAT)
        original, small = image_ref(sha, ext), thumb_ref(sha)
        stored = StoredImage(sha, original.key, small.key, mime, len(data), seen.width,
                             seen.height)
        return CheckedImage(stored, original, small, data, seen.thumb)

    def store(self, checked: CheckedImage, *, thumbnail_later: bool = False) -> StoredImage:
        """`put`'s second half: write checked bytes (and the thumbnail checking made)."""
        sha = checked.stored.sha256
        self.removals.storing(sha)
        self.keep(checked.original, checked.data)
        if checked.thumb is not None:
            self.keep(checked.small, checked.thumb)
        elif not thumbnail_later:
            self.thumbs.later(checked.original, checked.small, checked.data)
        return checked.stored

    def recorded(self, stored: StoredImage, data: bytes | None = None) -> None:
        """A generation showing this image is in the database now: from here on whether it
        may be removed is the database's to say (`delete`). With `data` (the bytes of a
        `put(..., thumbnail_later=True)`), its thumbnail is made now on the helper thread,
        which finds it stored already when checking made it (a JPEG)."""
        self.removals.recorded(stored.sha256)
        if data is not None:
            self.thumbs.later(parse_ref(stored.path), parse_ref(stored.thumb_path), data)

    def delete(self, relative: object, in_use: Callable[[str], bool]) -> bool:
        """Remove an image and its thumbnail everywhere this store keeps them, unless
        `in_use(sha256)` says a generation shows it or this process stored it for a
        generation not recorded yet (`removal`); whether they were removed. BadImageRef for
        anything but an image reference the workbench writes; ImageStoreError when the store
        cannot be asked."""
        return self.removals.remove(relative, in_use)

    def is_stored(self, key: str) -> bool:
        """Whether `key` is here (cached, spooled or in the backend); False when the backend
        cannot say."""
        if self.cache is not None and self.cache.hit(key) is not None:
            return True
        try:
            return self.spool.path(key).is_file() or self.backend.has(key)
        except (ImageStoreError, ImageUnavailable):
            return False

    def keep(self, ref: ImageRef, data: bytes) -> None:
        """Store `data` under `ref`: in the data directory, or the bucket (cached locally),
        else the flushed spool."""
        if not self.remote:
            self.backend.write(ref.key, data)
            return
        assert self.cache is not None
        self.cache.put(ref.key, data)  # the new image is on screen next: no round trip
        try:
            self.backend.write(ref.key, data)
        except ImageStoreError as exc:
            try:
                self.spool.add(ref.key, data)
            except OSError as local:
                raise ImageStoreError(
                    f"{exc} The image could not be kept in {self.spool.root} either "
                    f"({local.strerror or type(local).__name__})."
                ) from None
            log.warning("%s The image is kept in %s and uploaded by the next start or "
                        "`workbench recover`.", exc, self.spool.root)

    # -- reading --------------------------------------------------------------------------------

    def absolute(self, relative: str, *, fetch: bool = True) -> Path:
        """A local file holding the image of this reference (BadImageRef when it is not one the
        workbench writes). A remote image is fetched into the read cache on first use (unless
        `fetch` is False: then only the path it would have); when it cannot be, the returned
        path does not exist and `problem()` says why."""
        ref = parse_ref(relative)
        root = self.backend.local_root
        if root is not None:
            path = root / ref.key
            if ref.thumb and fetch and not path.is_file():
                with contextlib.suppress(ImageUnavailable):
                    self.read(ref.key)  # a thumbnail not made yet is made now
            return path
        assert self.cache is not None
        hit = self.cache.hit(ref.key)
        if hit is not None:
            return hit
        spooled = self.spool.path(ref.key)
        if spooled.is_file():
            return spooled
        if fetch:
            with contextlib.suppress(ImageUnavailable):  # `read` noted why
                self.read(ref.key)
        return self.cache.path(ref.key)

    def read(self, relative: object) -> bytes:
        """The bytes of this reference; BadImageRef, or ImageUnavailable with a short reason."""
        ref = parse_ref(relative)
        if self.cache is not None:
            cached = self.cache.get(ref.key)
            if cached is not None:
                return cached
            spooled = self.spool.get(ref.key)
            if spooled is not None:
                return spooled
        try:
            data = self.backend.read(ref.key)
        except ImageMissing as exc:
            made = self.thumbs.of(ref) if ref.thumb else None
            if made is not None:
                return made
            self.note(ref.key, str(exc))
            raise
        except ImageUnavailable as exc:
            self.note(ref.key, str(exc))
            raise
        if self.cache is not None:
            self.cache.put(ref.key, data)
        return data

    def has(self, relative: object) -> bool:
        """Whether the image of this reference can be read (a cached copy counts)."""
        ref = parse_ref(relative)
        if self.cache is not None and self.cache.hit(ref.key) is not None:
            return True
        return self.spool.path(ref.key).is_file() or self.backend.has(ref.key)

    def problem(self, relative: object) -> str | None:
        """Why this reference could not be read last time (None when nothing failed)."""
        try:
            ref = parse_ref(relative)
        except BadImageRef:
            return "refused: not a path the workbench writes"
        root = self.backend.local_root
        if root is not None and not (root / ref.key).is_file():
            return "not in the data directory"
        return self._problems.get(ref.key)

    def note(self, key: str, reason: str) -> None:
        """Keep why `key` could not be read (`problem`)."""
        with self._lock:
            if len(self._problems) > 1000:
                self._problems.clear()
            self._problems[key] = reason

    def prefetch(self, refs: list[str | None]) -> None:
        """Bring the remote images of these references into the read cache, side by side;
        references refused or unreadable are left to the reads that follow (they say why)."""
        if self.cache is None:
            return
        wanted = []
        for text in refs:
            try:
                key = parse_ref(text).key
            except BadImageRef:
                continue
            if self.cache.hit(key) is None and not self.spool.path(key).is_file():
                wanted.append(key)
        if len(wanted) > 1:
            list(_FETCH.map(self._fetch_quietly, wanted))
        elif wanted:
            self._fetch_quietly(wanted[0])

    def _fetch_quietly(self, key: str) -> None:
        with contextlib.suppress(ImageUnavailable):  # the page's own read says why
            self.read(key)

    # -- facts ----------------------------------------------------------------------------------

    def inventory(self, max_age_s: float = 0.0) -> tuple[int, int]:
        """(number of images, bytes of images and thumbnails) in the store itself. Counting
        walks every file (or lists the whole bucket), so a count younger than `max_age_s`
        is answered again (the Status page asks on every rerun)."""
        now = time.monotonic()
        with self._lock:
            kept = self._inventory
        if kept is not None and now - kept[0] < max_age_s:
            return kept[1]
        count = total = 0
        for _, size in self.backend.entries("images"):
            count += 1
            total += size
        for _, size in self.backend.entries("thumbs"):
            total += size
        with self._lock:
            self._inventory = (now, (count, total))
        return count, total
