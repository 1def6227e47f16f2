"""Deleting an image for good (`ImageStore.delete`, History's "Delete for good"): the image and
its thumbnail go from the data directory and from a bucket (against moto's S3 server on the
loopback), with their cached and spooled copies; a reference the workbench would not have
written is refused; an image another generation shows, or one stored for a generation not
recorded yet, is kept; a thumbnail still being made does not come back after the removal."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from harness.s3_server import S3Server
from workbench.config import load_settings
from workbench.services import history
from workbench.services.runs.generation import GenerateRequest, generate_sync
from workbench.services.workbench import Workbench, open_workbench
from workbench.store.images import BadImageRef
from workbench.store.images.thumbnails import THUMBS

NB = "nano-banana-2"


def _png(seed: int) -> bytes:
    image = Image.new("RGB", (64, 48), (seed % 256, 40, 90))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _never(_sha: str) -> bool:
    return False


def _open(data: Path) -> Workbench:
    settings = load_settings(env={"WORKBENCH_DATA_DIR": str(data)},
                             secrets_file=data / "none.toml")
    return open_workbench(settings, idle_close_s=0)


def test_delete_for_good_removes_the_image_and_its_thumbnail(wb: Workbench) -> None:
    gid = generate_sync(wb, GenerateRequest(model=NB, prompt="a quince", seed=5)).id
    wb.images.thumbs.wait_all()
    record = wb.log.get(gid)
    image, thumb = (wb.images.absolute(record.image_path),
                    wb.images.absolute(record.thumb_path))
    assert image.is_file() and thumb.is_file()
    assert history.delete_for_good(wb, gid).files_removed is True
    assert not image.exists() and not thumb.exists()


def test_only_an_image_reference_the_workbench_writes_is_removed(
    wb: Workbench, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.png"
    victim.write_bytes(b"keep me")
    stored = wb.images.put(_png(1))
    wb.images.recorded(stored)
    for hostile in ("../" * 12 + str(victim).lstrip("/"), str(victim), stored.thumb_path,
                    stored.path.replace(stored.sha256[:2] + "/", "zz/"), None):
        with pytest.raises(BadImageRef):
            wb.images.delete(hostile, _never)
    assert victim.read_bytes() == b"keep me"
    assert wb.images.absolute(stored.path).is_file()


def test_an_image_a_generation_still_shows_is_kept(wb: Workbench) -> None:
    gid = generate_sync(wb, GenerateRequest(model=NB, prompt="a medlar", seed=6)).id
    record = wb.log.get(gid)
    path = wb.images.absolute(record.image_path)
    # asked at the moment of removal: a generation recorded after the caller's own check
    assert wb.images.delete(record.image_path, wb.attempts.image_in_use) is False
    assert path.is_file()
    assert wb.images.delete(record.image_path, lambda sha: sha == "another") is True
    assert not path.exists()


def test_an_image_whose_generation_is_not_recorded_yet_is_kept(wb: Workbench) -> None:
    stored = wb.images.put(_png(2))  # a generation's outcome is written after this returns
    path = wb.images.absolute(stored.path)
    assert wb.images.delete(stored.path, _never) is False
    assert path.is_file()
    wb.images.recorded(stored)
    assert wb.images.delete(stored.path, _never) is True
    assert not path.exists()


def test_a_thumbnail_still_being_made_does_not_come_back(wb: Workbench) -> None:
    data = _png(3)
    gate = threading.Event()
    THUMBS.submit(gate.wait, 10)  # the one thumbnail thread is busy: ours waits in line
    try:
        stored = wb.images.put(data, thumbnail_later=True)
        wb.images.recorded(stored, data)  # its thumbnail is asked for, not made yet
        removed: list[bool] = []
        remover = threading.Thread(
            target=lambda: removed.append(wb.images.delete(stored.path, _never)))
        remover.start()
        time.sleep(0.2)
    finally:
        gate.set()
    remover.join(10)
    wb.images.thumbs.wait_all()
    assert removed == [True]
    assert not wb.images.absolute(stored.path, fetch=False).exists()
    assert not (wb.settings.data_dir / stored.thumb_path).exists()


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    server = S3Server().start()
    yield server
    server.stop()


def _keys(server: S3Server, bucket: str) -> list[str]:
    found = server.client().list_objects_v2(Bucket=bucket).get("Contents", [])
    return sorted(o["Key"] for o in found)


def test_delete_for_good_removes_the_objects_from_the_bucket(
    tmp_path: Path, s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3.make_bucket("wb-delete")
    for name, value in s3.env("s3://wb-delete/team").items():
        monkeypatch.setenv(name, value)
    wb = _open(tmp_path / "data")
    try:
        keep = generate_sync(wb, GenerateRequest(model=NB, prompt="a damson", seed=1)).id
        gone = generate_sync(wb, GenerateRequest(model=NB, prompt="a sloe", seed=2)).id
        wb.images.thumbs.wait_all()
        kept, record = wb.log.get(keep), wb.log.get(gone)
        cached = wb.images.absolute(record.image_path)  # the local read cache's copy
        assert cached.is_file()
        assert f"team/{record.image_path}" in _keys(s3, "wb-delete")
        assert f"team/{record.thumb_path}" in _keys(s3, "wb-delete")
        assert history.delete_for_good(wb, gone).files_removed is True
        assert _keys(s3, "wb-delete") == sorted(
            [f"team/{kept.image_path}", f"team/{kept.thumb_path}"])
        assert not cached.exists()
        assert not wb.images.has(record.image_path)
    finally:
        wb.close()


def test_a_spooled_image_is_removed_before_it_is_uploaded(
    tmp_path: Path, s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3.make_bucket("wb-spooled")
    for name, value in s3.env("s3://wb-spooled/p").items():
        monkeypatch.setenv(name, value)
    wb = _open(tmp_path / "data")
    try:
        data = _png(4)
        stored = wb.images.put(data)
        wb.images.recorded(stored)
        wb.images.thumbs.wait_all()
        wb.images.spool.add(stored.path, data)  # as a put the bucket could not take leaves it
        assert wb.images.delete(stored.path, _never) is True
        assert not wb.images.spool.keys()
        assert _keys(s3, "wb-spooled") == []
    finally:
        wb.close()


def test_a_bucket_that_refuses_the_removal_is_one_line_after_the_rows_are_gone(
    tmp_path: Path, s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3.make_bucket("wb-refuses")
    for name, value in s3.env("s3://wb-refuses/team").items():
        monkeypatch.setenv(name, value)
    wb = _open(tmp_path / "data")
    try:
        gone = generate_sync(wb, GenerateRequest(model=NB, prompt="a quince", seed=3)).id
        wb.images.thumbs.wait_all()
        client = s3.client()
        for key in _keys(s3, "wb-refuses"):  # the bucket goes away under the workbench
            client.delete_object(Bucket="wb-refuses", Key=key)
        client.delete_bucket(Bucket="wb-refuses")
        deletion = history.delete_for_good(wb, gone)
        assert deletion.files_removed is False
        assert deletion.problem is not None and "still in the image store" in deletion.problem
        assert "\n" not in deletion.problem
        assert wb.log.get(gone) is None  # the rows went all the same
    finally:
        wb.close()
