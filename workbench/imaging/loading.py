"""Decoding an image file (or bytes) for measurement: fully loaded, EXIF-oriented RGB."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from workbench.imaging.specs import UnreadableImage


def load_image(source: Path | bytes) -> Image.Image:
    """Decode fully, apply EXIF orientation and return RGB; raise `UnreadableImage` otherwise."""
    try:
        if isinstance(source, bytes | bytearray):
            data = bytes(source)
            name = "image"
        else:
            name = Path(source).name
            data = Path(source).read_bytes()
    except FileNotFoundError:
        raise UnreadableImage(f"The image file {name} is missing.") from None
    except OSError as exc:
        raise UnreadableImage(f"The image file {name} cannot be read: {exc.strerror}.") from None
    if not data:
        raise UnreadableImage(f"The image file {name} is empty (0 bytes).")
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
            image = ImageOps.exif_transpose(opened) or opened
            return image.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
            Image.DecompressionBombError) as exc:
        raise UnreadableImage(f"The image file {name} is not a readable image ({exc}).") from None
