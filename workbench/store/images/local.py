"""The data-directory backend: each key is a file under the data directory (today's layout)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from workbench.store.images.backend import ImageMissing, ImageStoreError, ImageUnavailable


def atomic_write(
    target: Path, data: bytes, *, durable: bool = False, mode: int = 0o600
) -> None:
    """Whole or not at all: a temporary file beside the target (made with `mode`: 0600 unless
    the user widened the data directory's mask on purpose), then a rename. `durable` also
    flushes the file to disk first (the upload spool counts on it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        if mode != 0o600:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class DirectoryBackend:
    def __init__(self, root: Path, *, file_mode: int = 0o600) -> None:
        self.root = Path(root)
        self.file_mode = file_mode  # paths.modes(): the data directory's mask

    @property
    def location(self) -> str:
        return str(self.root)

    @property
    def local_root(self) -> Path:
        return self.root

    def check(self) -> None:
        return None  # the database's own start-up check covers the data directory

    def has(self, key: str) -> bool:
        return (self.root / key).is_file()

    def read(self, key: str) -> bytes:
        try:
            return (self.root / key).read_bytes()
        except FileNotFoundError:
            raise ImageMissing("not in the data directory") from None
        except OSError as exc:
            raise ImageUnavailable(
                f"cannot be read ({exc.strerror or type(exc).__name__})"
            ) from None

    def write(self, key: str, data: bytes) -> None:
        target = self.root / key
        if target.is_file():
            return  # content-addressed: the same key holds the same bytes
        try:
            atomic_write(target, data, mode=self.file_mode)
        except OSError as exc:
            raise ImageStoreError(
                f"Cannot write images under {self.root}: {exc.strerror or exc}."
            ) from None

    def entries(self, folder: str) -> Iterator[tuple[str, int]]:
        base = self.root / folder
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                yield path.relative_to(self.root).as_posix(), path.stat().st_size
