"""Images in a bucket, end to end against a real S3-compatible server on the loopback (moto's
server mode): generations store there, Status says where and how much, `workbench images copy`
moves a store both ways (idempotent, sha256-checked, exit 1 on a mismatch), a put failing
mid-run keeps the paid image in the spool until `workbench recover`; and hostile image paths
planted in the database are refused by db copy, the ZIP, the report, the detail view and the
image download. The secret access key appears nowhere."""

from __future__ import annotations

import hashlib
import io
import logging
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from harness.s3_server import SECRET_KEY, S3Server
from tests.arena_data import add_generation
from workbench import cli
from workbench.config import load_settings
from workbench.imaging.provenance import read_metadata
from workbench.services import history
from workbench.services.delivery import exports, report
from workbench.services.runs.generation import GenerateRequest, generate_sync
from workbench.services.team import dbcopy, status
from workbench.services.workbench import Workbench, open_workbench

NB = "nano-banana-2"


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    server = S3Server().start()
    yield server
    server.stop()


_count = iter(range(10**6))


def _bucket(server: S3Server) -> str:
    name = f"wb-team-{next(_count)}"
    server.make_bucket(name)
    return name


def _open(data: Path) -> Workbench:
    settings = load_settings(env={"WORKBENCH_DATA_DIR": str(data)},
                             secrets_file=data / "none.toml")
    return open_workbench(settings, idle_close_s=0)


def _use(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def _keys(server: S3Server, bucket: str) -> list[str]:
    found = server.client().list_objects_v2(Bucket=bucket).get("Contents", [])
    return sorted(o["Key"] for o in found)


def test_generations_store_in_the_bucket_and_status_says_where(
    tmp_path: Path, s3: S3Server, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    bucket = _bucket(s3)
    _use(monkeypatch, s3.env(f"s3://{bucket}/team"))
    wb = _open(tmp_path / "data")
    try:
        with caplog.at_level(logging.DEBUG):
            outcome = generate_sync(wb, GenerateRequest(model=NB, prompt="a red kite", seed=3))
            wb.images.thumbs.wait_all()  # the thumbnail is made once the outcome is written
        assert outcome.status == "succeeded"
        record = wb.log.get(outcome.id)
        assert f"team/{record.image_path}" in _keys(s3, bucket)
        assert f"team/{record.thumb_path}" in _keys(s3, bucket)
        assert not (tmp_path / "data" / "images").exists()  # nothing kept beside the data
        facts = status.status(wb)
        assert facts.images_location == f"s3://{bucket}/team at {s3.endpoint}"
        assert facts.images_count == 1 and facts.images_bytes > record.image_bytes
        stored = s3.client().get_object(
            Bucket=bucket, Key=f"team/{record.image_path}")["Body"].read()
        # the download is read from the bucket and carries its recipe; the pixels are the same
        downloaded = exports.image_file(wb, record).read()
        assert read_metadata(downloaded).workbench["generation_id"] == outcome.id
        assert Image.open(io.BytesIO(downloaded)).tobytes() == Image.open(
            io.BytesIO(stored)).tobytes()
    finally:
        wb.close()
    assert SECRET_KEY not in caplog.text + repr(facts)
    assert SECRET_KEY.encode() not in (tmp_path / "data" / "workbench.duckdb").read_bytes()


def test_images_copy_moves_a_store_both_ways_once_and_checks_every_image(
    data_dir: Path, tmp_path: Path, s3: S3Server, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    wb = _open(data_dir)
    ids = [add_generation(wb, NB, f"a kettle {i}") for i in range(3)]
    paths = [wb.log.get(i).image_path for i in ids]
    wb.close()
    bucket = _bucket(s3)
    env = s3.env(f"s3://{bucket}/p")
    env.pop("WORKBENCH_IMAGES_URL")
    _use(monkeypatch, env)  # the bucket's credentials, but this workbench's images stay local

    assert cli.main(["images", "copy", "--to", f"s3://{bucket}/p"]) == 0
    out = capsys.readouterr().out
    assert "images: 3 copied, 0 already there" in out
    assert len([k for k in _keys(s3, bucket) if k.startswith("p/images/")]) == 3
    assert cli.main(["images", "copy", "--to", f"s3://{bucket}/p"]) == 0
    assert "images: 0 copied, 3 already there" in capsys.readouterr().out

    fresh = tmp_path / "fresh"
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(fresh))
    assert cli.main(["images", "copy", "--from", f"s3://{bucket}/p"]) == 0
    assert "images: 3 copied" in capsys.readouterr().out
    for path in paths:
        assert (fresh / path).read_bytes() == (data_dir / path).read_bytes()

    # an object whose bytes do not match its name: refused, counted, exit 1
    sha = hashlib.sha256(b"the real bytes").hexdigest()
    s3.client().put_object(Bucket=bucket, Key=f"p/images/{sha[:2]}/{sha}.png", Body=b"other")
    assert cli.main(["images", "copy", "--from", f"s3://{bucket}/p"]) == 1
    out = capsys.readouterr().out
    assert "1 corrupt" in out and "3 already there" in out
    assert not (fresh / f"images/{sha[:2]}/{sha}.png").exists()
    everything = out + capsys.readouterr().err
    assert SECRET_KEY not in everything


def test_a_store_that_cannot_be_reached_stops_a_command_with_one_line(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    server = S3Server()  # nothing listens there
    _use(monkeypatch, server.env("s3://wb-team-down/team"))
    assert cli.main(["history"]) == 3
    err = capsys.readouterr().err
    assert server.endpoint in err and len(err.strip().splitlines()) == 1
    assert SECRET_KEY not in err


def test_a_generation_whose_upload_fails_is_kept_and_uploaded_by_recover(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys, caplog
) -> None:
    server = S3Server().start()
    try:
        server.make_bucket("wb-team-spool")
        _use(monkeypatch, server.env("s3://wb-team-spool/team"))
        wb = _open(data_dir)
        try:
            server.stop()  # the store goes away after the start, before the image arrives
            with caplog.at_level(logging.WARNING):
                outcome = generate_sync(wb, GenerateRequest(model=NB, prompt="a kite", seed=4))
            assert outcome.status == "succeeded"  # the bytes are durable: in the spool
            record = wb.log.get(outcome.id)
            assert wb.images.spool.get(record.image_path) is not None
        finally:
            wb.close()
        server.start()
        server.make_bucket("wb-team-spool")
        assert cli.main(["recover"]) == 0
        assert f"team/{record.image_path}" in _keys(server, "wb-team-spool")
        assert not (data_dir / "image-spool" / record.image_path).exists()
    finally:
        server.stop()
    assert SECRET_KEY not in caplog.text + capsys.readouterr().err


# -- hostile image paths planted in the database ----------------------------------------------

def _plant(wb: Workbench, generation_id: str, path: str) -> None:
    sha = wb.log.get(generation_id).image_sha256
    with wb.db.transaction() as cur:
        cur.execute("UPDATE images SET path = ?, thumb_path = ? WHERE sha256 = ?",
                    [path, path, sha])


@pytest.mark.parametrize("hostile", ["../x", "../../etc/passwd"])
def test_a_planted_path_is_refused_by_copy_zip_report_detail_and_download(
    tmp_path: Path, hostile: str
) -> None:
    here, there = tmp_path / "a" / "here", tmp_path / "a" / "there"
    wb = _open(here)
    gid = add_generation(wb, NB, "a kettle")
    # the file a hostile path names, at the source's side: nothing may copy or read it
    (here / hostile).parent.mkdir(parents=True, exist_ok=True)
    if not (here / hostile).exists():
        (here / hostile).write_bytes(b"private")
    _plant(wb, gid, hostile)
    record = wb.log.get(gid)
    assert record.image_path == hostile
    try:
        archive = zipfile.ZipFile(io.BytesIO(exports.images_zip(wb, [gid])))
        assert [n for n in archive.namelist() if n.startswith("images/")] == []
        assert exports.image_file(wb, record) is None
        built = report.build_report(wb, [gid])
        assert built.images == 0 and b"private" not in built.html.encode()
        assert "root:" not in built.html
        shown = history.detail(wb, gid)  # a placeholder and the reason, never the file
        assert shown.image_file is None and shown.image_problem.startswith("refused")
        assert wb.images.thumbs.data_uri(record.thumb_path).startswith("data:image/jpeg")
    finally:
        wb.close()
    before = sorted(p for p in tmp_path.rglob("*"))
    copied = dbcopy.copy(dbcopy.directory_place(here), dbcopy.directory_place(there))
    assert not copied.ok and copied.images.refused == [hostile]
    written = sorted(p for p in tmp_path.rglob("*") if p not in before)
    assert all(there in p.parents or p == there for p in written), written
    assert not any(p.name in ("x", "passwd") for p in written)


def test_db_copy_takes_the_images_out_of_the_bucket_this_process_uses(
    data_dir: Path, tmp_path: Path, s3: S3Server, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    bucket = _bucket(s3)
    _use(monkeypatch, s3.env(f"s3://{bucket}/team"))
    wb = _open(data_dir)
    gid = add_generation(wb, NB, "a lamp")
    path = wb.log.get(gid).image_path
    wb.close()
    backup = tmp_path / "backup"
    assert cli.main(["db", "copy", "--to", str(backup)]) == 0
    assert "images: 1 copied" in capsys.readouterr().out
    raw = s3.client().get_object(Bucket=bucket, Key=f"team/{path}")["Body"].read()
    assert (backup / path).read_bytes() == raw


def test_an_image_neither_the_bucket_nor_the_spool_can_take_is_not_a_success(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = S3Server().start()
    try:
        server.make_bucket("wb-team-nowhere")
        _use(monkeypatch, server.env("s3://wb-team-nowhere/team"))
        wb = _open(data_dir)
    finally:
        server.stop()
    try:
        (data_dir / "image-spool").write_text("a file where the spool folder should be")
        outcome = generate_sync(wb, GenerateRequest(model=NB, prompt="a kite", seed=5))
        assert outcome.status == "failed"
        assert "could not be kept" in (outcome.error or "")
        assert SECRET_KEY not in (outcome.error or "")
    finally:
        wb.close()


def test_db_copy_into_a_team_database_puts_the_images_in_its_bucket(
    data_dir: Path, s3: S3Server, pg_url: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    wb = _open(data_dir)
    gid = add_generation(wb, NB, "a teapot")
    path = wb.log.get(gid).image_path
    wb.close()
    bucket = _bucket(s3)
    env = s3.env(f"s3://{bucket}/team")
    env.pop("WORKBENCH_IMAGES_URL")
    _use(monkeypatch, env)
    args = ["db", "copy", "--to", pg_url, "--images-url", f"s3://{bucket}/team"]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "images: 1 copied" in out and "All rows and checksums match." in out
    raw = s3.client().get_object(Bucket=bucket, Key=f"team/{path}")["Body"].read()
    assert raw == (data_dir / path).read_bytes()
    assert cli.main(args) == 0
    assert "images: 0 copied, 1 already there" in capsys.readouterr().out
