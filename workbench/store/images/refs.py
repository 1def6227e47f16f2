"""Image references: the only names the image store reads or writes.

A reference is what the `images` table holds in `path` and `thumb_path`, relative to wherever the
images live (a data directory, or a bucket prefix): `images/<first two hex>/<sha256>.<ext>` for an
image as received and `thumbs/<first two hex>/<sha256>.jpg` for its thumbnail. The database may be
shared, so it is untrusted: every read, copy, export and download parses the reference first, and
anything else (`../x`, an absolute path, another extension, a sha256 that does not match its
folder) is refused with `BadImageRef` before a path is built or a key is sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workbench.errors import InvalidInput

# Extensions the store writes: Pillow's format of the image (`bin` for a format Pillow decodes
# but the workbench has no name for) and JPEG for thumbnails.
IMAGE_FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
    "GIF": ("gif", "image/gif"),
}
OTHER_FORMAT = ("bin", "application/octet-stream")
_IMAGE = re.compile(r"images/([0-9a-f]{2})/([0-9a-f]{64})\.(png|jpg|webp|gif|bin)")
_THUMB = re.compile(r"thumbs/([0-9a-f]{2})/([0-9a-f]{64})\.jpg")


class BadImageRef(InvalidInput):
    """An image reference the workbench would not have written: refused, never opened."""


@dataclass(frozen=True)
class ImageRef:
    key: str  # relative key, e.g. images/ab/ab12….png
    sha256: str  # of the original image (a thumbnail is named after its original)
    thumb: bool


def _shown(text: object) -> str:
    shown = repr(text)  # repr: control characters come out escaped
    return shown if len(shown) <= 80 else shown[:77] + "..."


def parse_ref(text: object) -> ImageRef:
    """The reference `text` stands for, or BadImageRef."""
    if isinstance(text, str):
        for pattern, thumb in ((_IMAGE, False), (_THUMB, True)):
            found = pattern.fullmatch(text)
            if found and found.group(2).startswith(found.group(1)):
                return ImageRef(text, found.group(2), thumb)
    raise BadImageRef(
        f"Refused the image reference {_shown(text)}: the workbench stores images only as "
        "images/<sha256 prefix>/<sha256>.<png|jpg|webp|gif|bin> and thumbs/…/<sha256>.jpg."
    )


def image_ref(sha256: str, ext: str) -> ImageRef:
    return parse_ref(f"images/{sha256[:2]}/{sha256}.{ext}")


def thumb_ref(sha256: str) -> ImageRef:
    return parse_ref(f"thumbs/{sha256[:2]}/{sha256}.jpg")
