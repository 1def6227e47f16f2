"""The image-store protocol: where the bytes of images and thumbnails live, by reference.

Two implementations, chosen in one place (`open_image_store`): `DirectoryBackend` (the data
directory, the default) and `S3Backend` (an S3-compatible bucket, `WORKBENCH_IMAGES_URL`). The
services and pages never see which: they go through `ImageStore`, which keeps the shared rules
(references checked, images decoded before storing, thumbnails, the read cache and the upload
spool) on top of a backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from workbench.errors import WorkbenchError
from workbench.store.db import StoreError


class ImageStoreError(StoreError):
    """The image store cannot be used (unreachable, credentials refused, bucket missing): one
    line naming where, never a secret."""


class ImageUnavailable(WorkbenchError, OSError):
    """One image cannot be read; `str()` says why in a few words (shown beside a placeholder).
    An OSError too, so callers that handle a missing file handle this the same way."""


class ImageMissing(ImageUnavailable, FileNotFoundError):
    """The store answered that there is no object under this reference."""


class ImageBackend(Protocol):
    """Bytes by relative key (`images/ab/<sha256>.png`); keys are checked before they get here."""

    @property
    def location(self) -> str:
        """Where the images live, for people: a path or a URL, never with a secret."""
        ...

    @property
    def local_root(self) -> Path | None:
        """The directory the keys are files in, when they are local files already."""
        ...

    def check(self) -> None:
        """Raise ImageStoreError (one line) when the store cannot be used at all."""

    def has(self, key: str) -> bool: ...

    def read(self, key: str) -> bytes:
        """The bytes; ImageMissing when absent, ImageUnavailable when the store cannot answer."""
        ...

    def write(self, key: str, data: bytes) -> None:
        """Store whole or not at all, once (a key already there is left alone); ImageStoreError
        when the store cannot take it."""

    def delete(self, key: str) -> None:
        """Remove the object (nothing to do when it is not there); ImageStoreError when the
        store cannot be asked."""

    def entries(self, folder: str) -> Iterator[tuple[str, int]]:
        """(key, size) of every object under `folder` (`images` or `thumbs`)."""
        ...
