"""Image files: stored once by content hash (sha256), each with a small JPEG thumbnail.

`put` refuses bytes that Pillow cannot decode (`NotAnImage`), so a truncated download or an
HTML error page never becomes a "succeeded" generation. Paths in the database are relative to
the data directory, so the directory can move.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

THUMB_SIDE = 256
_EXTENSIONS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
    "GIF": ("gif", "image/gif"),
}


class NotAnImage(ValueError):
    pass


@dataclass(frozen=True)
class StoredImage:
    sha256: str
    path: str  # relative to the data directory
    thumb_path: str
    mime: str
    bytes: int
    width: int
    height: int


def _atomic_write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ImageStore:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)

    def absolute(self, relative: str) -> Path:
        return self.data_dir / relative

    def put(self, data: bytes) -> StoredImage:
        if not data:
            raise NotAnImage("The provider returned an empty file instead of an image.")
        try:
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format or ""
                probe.load()  # decodes fully: a truncated file fails here, not later
                width, height = probe.size
                thumb = probe.convert("RGB")
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise NotAnImage(f"The bytes received are not a readable image ({exc}).") from exc
        ext, mime = _EXTENSIONS.get(fmt, ("bin", "application/octet-stream"))
        sha = hashlib.sha256(data).hexdigest()
        rel = f"images/{sha[:2]}/{sha}.{ext}"
        thumb_rel = f"thumbs/{sha[:2]}/{sha}.jpg"
        if not self.absolute(rel).exists():
            _atomic_write(self.absolute(rel), data)
        if not self.absolute(thumb_rel).exists():
            thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
            buffer = io.BytesIO()
            thumb.save(buffer, format="JPEG", quality=78)
            _atomic_write(self.absolute(thumb_rel), buffer.getvalue())
        return StoredImage(sha, rel, thumb_rel, mime, len(data), width, height)

    def thumb_data_uri(self, thumb_rel: str | None) -> str | None:
        """A small JPEG data URI for tables (local paths do not show in ImageColumn)."""
        if not thumb_rel:
            return None
        try:
            raw = self.absolute(thumb_rel).read_bytes()
        except OSError:
            return None
        return "data:image/jpeg;base64," + base64.b64encode(raw).decode()
