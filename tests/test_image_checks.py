"""What the image store checks before it trusts bytes, without decoding a PNG's pixels on the
generation's path: a decompression bomb refused from its header, a PNG damaged in transit
refused by its chunk checksums, and a thumbnail made after `put` returns (or on first read)."""

from __future__ import annotations

import io
import os
import struct
import threading
import zlib
from pathlib import Path

import pytest
from PIL import Image

from workbench.store.images import ImageStore, NotAnImage, thumbnails
from workbench.store.images.placeholder import placeholder_data_uri


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def grey_png(width: int, height: int) -> bytes:
    """A valid grey PNG streamed row by row (never held as pixels): a bomb is cheap to make."""
    deflate = zlib.compressobj(9)
    row = b"\x00" + bytes(width)
    idat = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat)
            + _chunk(b"IEND", b""))


def photo_png(side: int = 128) -> bytes:
    buffer = io.BytesIO()
    noise = Image.effect_noise((side, side), 40).convert("RGB")
    noise.save(buffer, "PNG")
    return buffer.getvalue()


def test_a_decompression_bomb_is_refused_from_its_header_and_nothing_is_stored(
    tmp_path: Path,
) -> None:
    # 10,000 x 10,000 = 100 MP: past Pillow's MAX_IMAGE_PIXELS (89.5 MP), where Pillow itself
    # only warns; its pixels would take 100 MB to decode.
    bomb = grey_png(10_000, 10_000)
    store = ImageStore(tmp_path)
    with pytest.raises(NotAnImage, match=r"10000×10000 px|too large to open"):
        store.put(bomb)
    store.thumbs.wait_all()
    assert store.inventory() == (0, 0)


def test_a_png_damaged_in_transit_is_refused(tmp_path: Path) -> None:
    data = bytearray(photo_png())
    data[len(data) // 2] ^= 0xFF  # one byte inside IDAT: its CRC no longer matches
    store = ImageStore(tmp_path)
    with pytest.raises(NotAnImage, match="type PNG, cut short or damaged"):
        store.put(bytes(data))
    assert store.inventory() == (0, 0)


def test_the_thumbnail_is_made_after_put_returns_and_a_read_waits_for_it(
    tmp_path: Path,
) -> None:
    store = ImageStore(tmp_path)
    release = threading.Event()
    blocker = thumbnails.THUMBS.submit(release.wait, 30)  # the helper thread is busy
    try:
        stored = store.put(photo_png())
        assert (tmp_path / stored.path).is_file()  # the image itself is stored on return
        assert not (tmp_path / stored.thumb_path).exists()  # its thumbnail is not, yet
    finally:
        release.set()
        blocker.result()
    uri = store.thumbs.data_uri(stored.thumb_path)
    assert uri is not None and uri.startswith("data:image/jpeg;base64,/9j/")
    with Image.open(tmp_path / stored.thumb_path) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) == 128


def test_a_thumbnail_never_made_is_made_from_its_image_on_first_read(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    stored = store.put(photo_png())
    store.thumbs.wait_all()
    (tmp_path / stored.thumb_path).unlink()  # the process stopped before making it
    fresh = ImageStore(tmp_path)
    assert fresh.absolute(stored.thumb_path).is_file()
    assert fresh.thumbs.data_uri(stored.thumb_path).startswith("data:image/jpeg;base64,/9j/")


def test_a_thumbnail_is_not_made_from_an_image_that_no_longer_matches_its_name(
    tmp_path: Path,
) -> None:
    store = ImageStore(tmp_path)
    stored = store.put(photo_png())
    store.thumbs.wait_all()
    (tmp_path / stored.thumb_path).unlink()
    (tmp_path / stored.path).write_bytes(photo_png(64))  # replaced behind the store's back
    uri = ImageStore(tmp_path).thumbs.data_uri(stored.thumb_path)
    assert uri == placeholder_data_uri("not in the data directory")
    assert not (tmp_path / stored.thumb_path).exists()


def test_a_stored_image_is_on_disk_before_put_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The attempt is marked succeeded (and its cost settled) once put returns: the image file
    # and the folder entry naming it are flushed first, so a power loss cannot lose it.
    flushed: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        flushed.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 200, 10)).save(out, format="PNG")
    store = ImageStore(tmp_path)
    stored = store.put(out.getvalue())
    image = store.absolute(stored.path)
    assert any(Path(p).parent == image.parent and ".tmp-" in p for p in flushed), flushed
    assert str(image.parent) in flushed, flushed
