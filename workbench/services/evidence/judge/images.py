"""An image from the store, made ready to send inline.

The path read back from the database is only opened when it is exactly where the image store
itself writes that hash (`images/<2>/<sha256>.<ext>`), and the bytes must hash to the sha256
they are filed under. Gemini reads PNG, JPEG, WEBP, HEIC and HEIF inline; anything else, or an
image whose base64 would not leave room in a request under 20 MB, is re-encoded as JPEG no
larger than `MAX_SIDE` on its long side (ai.google.dev image-understanding).
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

from PIL import Image

from workbench.errors import InvalidInput
from workbench.providers.gemini_judge import INLINE_TYPES, MAX_REQUEST_BYTES, InlineImage

_STORED = re.compile(r"^images/([0-9a-f]{2})/([0-9a-f]{64})\.(png|jpg|jpeg|webp|gif|bin)$")
MAX_SIDE = 3072
# base64 grows bytes by 4/3; two images and the text must fit under the request limit.
INLINE_LIMIT = (MAX_REQUEST_BYTES // 2) * 3 // 4 - 256 * 1024


def load(data_dir: Path, relative: str | None, sha: str | None, mime: str | None
         ) -> InlineImage:
    if not relative or not sha:
        raise InvalidInput("no stored image")
    match = _STORED.match(relative)
    if match is None or match.group(2) != sha or match.group(1) != sha[:2]:
        raise InvalidInput("the stored image path is not one the workbench writes; not read")
    try:
        data = (data_dir / relative).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"the image file cannot be read ({exc.strerror})") from None
    if hashlib.sha256(data).hexdigest() != sha:
        raise InvalidInput("the image file does not match its hash; not sent")
    if mime in INLINE_TYPES and len(data) <= INLINE_LIMIT:
        return InlineImage(data, mime)
    return _reencode(data)


def _reencode(data: bytes) -> InlineImage:
    try:
        with Image.open(io.BytesIO(data)) as opened:
            image = opened.convert("RGB")
        image.thumbnail((MAX_SIDE, MAX_SIDE))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=90)
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"the image cannot be decoded ({exc})") from None
    return InlineImage(buffer.getvalue(), "image/jpeg")
