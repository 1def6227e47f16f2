"""The image store: images kept once by content hash (sha256), each with a small JPEG thumbnail,
in the data directory or in an S3-compatible bucket.

- `refs`: the references the store writes, and the check that refuses any other (`BadImageRef`);
- `backend`: the protocol a place for the bytes implements, and its errors;
- `local` (`DirectoryBackend`, the default) and `s3` (`S3Backend`, on boto3): the two places;
- `decoding`: the checks image bytes pass before they are trusted, and the thumbnail;
- `store` (`ImageStore`): checking before storing, reads through the checks;
- `thumbnails`: made after the image is stored, waited for or made on a read, as data URIs;
- `spool_replay`: uploading what the spool holds;
- `cache` (the bounded local read cache) and `spool` (uploads the store could not take yet);
- `copying`: moving images between two stores, checked by sha256.

`open_image_store` is the one place that chooses the backend, from `WORKBENCH_IMAGES_URL`:
unset means the data directory; `s3://bucket/prefix` means a bucket (endpoint, region and
credentials from the usual AWS variables or profile, see `s3`). `WORKBENCH_IMAGES_CACHE_MB`
bounds the local read cache of a bucket (default 512).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from workbench.domain.plural import count
from workbench.errors import ConfigError
from workbench.paths import DEFAULT_DATA_UMASK, modes
from workbench.store.images.backend import (
    ImageBackend,
    ImageMissing,
    ImageStoreError,
    ImageUnavailable,
)
from workbench.store.images.decoding import THUMB_SIDE
from workbench.store.images.refs import BadImageRef, ImageRef, parse_ref
from workbench.store.images.spool_replay import SpoolReplay, replay_spool
from workbench.store.images.store import (
    DEFAULT_CACHE_MB,
    ImageStore,
    NotAnImage,
    StoredImage,
)

__all__ = [
    "THUMB_SIDE",
    "BadImageRef",
    "ImageBackend",
    "ImageMissing",
    "ImageRef",
    "ImageStore",
    "ImageStoreError",
    "ImageUnavailable",
    "NotAnImage",
    "SpoolReplay",
    "StoredImage",
    "images_url",
    "open_image_store",
    "parse_ref",
    "replay_spool",
    "store_at",
]

URL_VARIABLE = "WORKBENCH_IMAGES_URL"
CACHE_VARIABLE = "WORKBENCH_IMAGES_CACHE_MB"
log = logging.getLogger(__name__)


def images_url(env: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if env is None else env
    return (env.get(URL_VARIABLE) or "").strip() or None


def _cache_bytes(env: Mapping[str, str]) -> int:
    raw = (env.get(CACHE_VARIABLE) or "").strip()
    if not raw:
        return DEFAULT_CACHE_MB * 2**20
    try:
        mb = float(raw)
    except ValueError:
        mb = -1
    if not 0 <= mb <= 10**7:
        raise ConfigError(f"{CACHE_VARIABLE} must be a number of megabytes, e.g. 512.")
    return int(mb * 2**20)


def store_at(
    spec: str | Path | None, data_dir: Path, env: Mapping[str, str] | None = None, *,
    check: bool = True, data_umask: int = DEFAULT_DATA_UMASK,
) -> ImageStore:
    """The store at `spec`: None for `data_dir` itself, an `s3://bucket/prefix` URL, or another
    data directory. `check` asks a bucket once now (ImageStoreError with one line if it cannot
    be used). The local cache and spool of a bucket live in `data_dir`."""
    env = os.environ if env is None else env
    # image files get the data directory's file mode (0600 unless widened on purpose)
    _, file_mode = modes(data_umask)
    if spec is None:
        return ImageStore(data_dir, file_mode=file_mode)
    text = str(spec).strip()
    if text.startswith("s3://"):
        from workbench.store.images.s3 import S3Backend  # boto3 loads only for a bucket

        backend = S3Backend(text, env)
        store = ImageStore(data_dir, backend, cache_bytes=_cache_bytes(env))
        if check:
            backend.check()
        return store
    if "://" in text:
        raise ConfigError(
            "Images live in a data directory or at s3://bucket/prefix; no other kind of URL."
        )
    return ImageStore(Path(text).expanduser(), file_mode=file_mode)


def open_image_store(
    data_dir: Path, env: Mapping[str, str] | None = None, *,
    data_umask: int = DEFAULT_DATA_UMASK,
) -> ImageStore:
    """This process's image store (see the module docstring); a bucket is checked once, and
    images an earlier process spooled are uploaded now."""
    env = os.environ if env is None else env
    store = store_at(images_url(env), data_dir, env, data_umask=data_umask)
    if store.remote and store.spool.keys():
        replay = replay_spool(store)
        if replay.uploaded:
            log.warning("uploaded %s to %s", count(replay.uploaded, "spooled image file"),
                        store.location)
        if replay.left or replay.damaged:
            stay = replay.left + len(replay.damaged)
            log.warning("%s %s in %s (%s)", count(stay, "image file"),
                        "stays" if stay == 1 else "stay", store.spool.root,
                        replay.error or "damaged")
    return store
