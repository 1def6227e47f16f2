"""The image store on both backends (the data directory and a real S3-compatible server on the
loopback, moto's server mode), its reference checks, its read cache, and its faults: the
store unreachable, credentials refused, a bucket or an object missing, and a put failing
mid-run (the upload spool and its replay)."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from harness.s3_server import SECRET_KEY, S3Server
from workbench.store.images import (
    BadImageRef,
    ImageMissing,
    ImageStore,
    ImageStoreError,
    NotAnImage,
    open_image_store,
    replay_spool,
    store_at,
)

HOSTILE = ["../x", "../../etc/passwd", "/etc/passwd", "images/ab/../../../etc/passwd",
           "images/00/" + "a" * 64 + ".png", "images/aa/" + "a" * 64 + ".exe",
           "images/AA/" + "A" * 64 + ".png", "thumbs/aa/" + "a" * 64 + ".png", "", None]


def png(seed: int = 0, side: int = 64) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (seed % 256, (seed * 7) % 256, 90)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    server = S3Server().start()
    yield server
    server.stop()


_buckets = iter(range(10**6))


def fresh_bucket(server: S3Server) -> str:
    name = f"wb-images-{next(_buckets)}-{os.getpid()}"
    server.make_bucket(name)
    return name


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ImageStore:
    if request.param == "local":
        return open_image_store(tmp_path / "data", env={})
    server: S3Server = request.getfixturevalue("s3")
    env = server.env(f"s3://{fresh_bucket(server)}/team")
    return open_image_store(tmp_path / "data", env=env)


def test_put_then_read_round_trips_and_the_reference_is_content_addressed(
    store: ImageStore,
) -> None:
    data = png(1)
    stored = store.put(data)
    sha = hashlib.sha256(data).hexdigest()
    assert stored.sha256 == sha
    assert stored.path == f"images/{sha[:2]}/{sha}.png"
    assert stored.thumb_path == f"thumbs/{sha[:2]}/{sha}.jpg"
    assert store.read(stored.path) == data
    assert store.absolute(stored.path).read_bytes() == data
    assert store.thumbs.data_uri(stored.thumb_path).startswith("data:image/jpeg;base64,")
    assert store.inventory()[0] == 1


def test_the_inventory_is_counted_again_only_once_it_is_older_than_asked(
    store: ImageStore,
) -> None:
    store.put(png(11))
    store.thumbs.wait_all()
    assert store.inventory(60.0)[0] == 1
    store.put(png(12))
    store.thumbs.wait_all()
    assert store.inventory(60.0)[0] == 1  # the minute-old count answers (Status reruns)
    assert store.inventory()[0] == 2  # asked fresh: walks the store again
    assert store.inventory(60.0)[0] == 2


def test_a_second_put_of_the_same_bytes_writes_nothing(store: ImageStore, s3_client_for) -> None:
    data = png(2)
    first = store.put(data)
    store.thumbs.wait_all()
    before = s3_client_for(store)
    second = store.put(data)
    store.thumbs.wait_all()
    assert second == first
    assert s3_client_for(store) == before  # no new version / no rewritten file


@pytest.fixture
def s3_client_for(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """What a second put could change: the object versions in a versioned bucket (S3), or the
    files' inode and mtime (data directory)."""

    def snapshot(store: ImageStore) -> object:
        if not store.remote:
            root = store.data_dir
            return sorted((str(p), p.stat().st_ino, p.stat().st_mtime_ns)
                          for p in root.rglob("*") if p.is_file())
        backend = store.backend
        client = backend.client  # type: ignore[attr-defined]
        client.put_bucket_versioning(Bucket=backend.bucket,  # type: ignore[attr-defined]
                                     VersioningConfiguration={"Status": "Enabled"})
        found = client.list_object_versions(Bucket=backend.bucket)  # type: ignore[attr-defined]
        return sorted((v["Key"], v["VersionId"]) for v in found.get("Versions", []))

    return snapshot


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_reference_the_workbench_would_not_write_is_refused_everywhere(
    store: ImageStore, hostile: object
) -> None:
    for read in (store.absolute, store.read, store.has):
        with pytest.raises(BadImageRef):
            read(hostile)  # type: ignore[arg-type]
    if hostile:
        uri = store.thumbs.data_uri(hostile)  # type: ignore[arg-type]
        assert uri is not None and uri.startswith("data:image/jpeg;base64,")  # a placeholder
        assert store.problem(hostile) is not None


def test_a_missing_object_reads_as_a_reason_and_a_placeholder(store: ImageStore) -> None:
    sha = hashlib.sha256(b"never stored").hexdigest()
    ref, thumb = f"images/{sha[:2]}/{sha}.png", f"thumbs/{sha[:2]}/{sha}.jpg"
    with pytest.raises(ImageMissing) as caught:
        store.read(ref)
    assert "not in the" in str(caught.value)
    assert not store.absolute(ref).exists()
    assert store.problem(ref)
    placeholder = store.thumbs.data_uri(thumb)
    assert placeholder is not None and placeholder.startswith("data:image/jpeg;base64,")


def test_bytes_that_are_not_an_image_are_refused_and_nothing_is_stored(store: ImageStore) -> None:
    with pytest.raises(NotAnImage):
        store.put(b"<html>502 Bad Gateway</html>")
    assert store.inventory() == (0, 0)


def test_a_page_of_thumbnails_is_read_from_the_local_cache_once_fetched(
    tmp_path: Path,
) -> None:
    server = S3Server().start()
    try:
        env = server.env(f"s3://{fresh_bucket(server)}/team")
        writer = open_image_store(tmp_path / "writer", env=env)
        thumbs = [writer.put(png(i)).thumb_path for i in range(5)]
        reader = open_image_store(tmp_path / "reader", env=env)  # its own, empty cache
        cold = [reader.thumbs.data_uri(t) for t in thumbs]
    finally:
        server.stop()
    warm = [reader.thumbs.data_uri(t) for t in thumbs]  # the server is gone: only the cache
    assert warm == cold
    assert all(u and "base64" in u for u in warm)


def test_the_read_cache_stays_within_its_size(tmp_path: Path, s3: S3Server) -> None:
    env = {**s3.env(f"s3://{fresh_bucket(s3)}/p"), "WORKBENCH_IMAGES_CACHE_MB": "0.05"}
    store = open_image_store(tmp_path / "data", env=env)
    for i in range(40):
        store.put(png(i, side=48))
    assert store.cache is not None
    assert store.cache.size_bytes() <= 0.05 * 2**20
    assert store.read(store.put(png(3, side=48)).path)  # evicted ones are fetched again


# -- faults ---------------------------------------------------------------------------------------


def test_an_unreachable_store_stops_the_start_with_one_line_naming_the_endpoint(
    tmp_path: Path,
) -> None:
    server = S3Server()  # never started: nothing listens on its port
    env = server.env("s3://workbench-test/team")
    with pytest.raises(ImageStoreError) as caught:
        open_image_store(tmp_path, env=env)
    message = str(caught.value)
    assert server.endpoint in message and "\n" not in message
    assert SECRET_KEY not in message


def test_a_missing_bucket_is_named(tmp_path: Path, s3: S3Server) -> None:
    with pytest.raises(ImageStoreError) as caught:
        open_image_store(tmp_path, env=s3.env("s3://no-such-bucket-here/team"))
    assert "no-such-bucket-here does not exist" in str(caught.value)
    assert s3.endpoint in str(caught.value)


class _Refusing(BaseHTTPRequestHandler):
    """Answers every request as S3 does for an unknown access key: 403 with the documented
    error XML (docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html)."""

    BODY = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidAccessKeyId</Code>'
            b"<Message>The AWS Access Key Id you provided does not exist in our records."
            b"</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>")

    def _refuse(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(403)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(self.BODY)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(self.BODY)

    do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = _refuse

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def refusing() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_refused_credentials_are_said_at_start_and_on_a_put(
    tmp_path: Path, refusing: str, caplog: pytest.LogCaptureFixture
) -> None:
    env = {**S3Server().env("s3://workbench-test/team"), "AWS_ENDPOINT_URL": refusing}
    with pytest.raises(ImageStoreError) as caught:
        open_image_store(tmp_path, env=env)
    assert "refused the credentials" in str(caught.value) and refusing in str(caught.value)
    store = store_at("s3://workbench-test/team", tmp_path, env, check=False)
    with caplog.at_level(logging.WARNING):
        stored = store.put(png(5))  # refused mid-run: kept in the spool, not lost
    assert store.spool.get(stored.path) is not None
    assert "refused the credentials" in caplog.text
    assert SECRET_KEY not in caplog.text + str(caught.value)


def test_a_put_failing_mid_run_is_spooled_and_uploaded_on_the_next_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = S3Server().start()
    bucket = "wb-spool-test"
    server.make_bucket(bucket)
    env = server.env(f"s3://{bucket}/team")
    store = open_image_store(tmp_path, env=env)
    before = store.put(png(10))
    server.stop()  # the store goes away mid-run
    with caplog.at_level(logging.WARNING):
        during = store.put(png(11))
    assert store.spool.get(during.path) == png(11)
    assert store.read(during.path) == png(11)  # still shown on this machine
    assert "uploaded by the next start" in caplog.text
    server.start()  # back (moto starts empty: the team's bucket is made again)
    server.make_bucket(bucket)
    again = open_image_store(tmp_path, env=env)  # the next start replays the spool
    assert again.spool.keys() == []
    raw = server.client().get_object(Bucket=bucket, Key=f"team/{during.path}")["Body"].read()
    assert hashlib.sha256(raw).hexdigest() == during.sha256
    assert before.path != during.path
    server.stop()
    assert SECRET_KEY not in caplog.text


def test_a_damaged_spool_file_is_not_uploaded(tmp_path: Path, s3: S3Server) -> None:
    env = s3.env(f"s3://{fresh_bucket(s3)}/team")
    store = open_image_store(tmp_path, env=env)
    sha = hashlib.sha256(b"x").hexdigest()
    store.spool.add(f"images/{sha[:2]}/{sha}.png", b"not x")
    replay = replay_spool(store)
    assert replay.uploaded == 0 and len(replay.damaged) == 1
    assert not store.backend.has(f"images/{sha[:2]}/{sha}.png")


@pytest.mark.parametrize("url", [
    f"s3://AKIA:{SECRET_KEY}@bucket-name/p", f"s3://bucket-name/p?secret={SECRET_KEY}",
    "s3://Bad_Bucket/p", "s3://bucket-name/../p", "https://bucket-name/p",
])
def test_a_malformed_images_url_is_refused_without_repeating_it(
    tmp_path: Path, url: str
) -> None:
    from workbench.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        store_at(url, tmp_path, {})
    assert SECRET_KEY not in str(caught.value)


def test_the_endpoint_is_shown_without_a_user_part(tmp_path: Path, s3: S3Server) -> None:
    env = {**s3.env(f"s3://{fresh_bucket(s3)}/p"),
           "AWS_ENDPOINT_URL": s3.endpoint.replace("http://", f"http://u:{SECRET_KEY}@")}
    store = store_at(env["WORKBENCH_IMAGES_URL"], tmp_path, env, check=False)
    assert SECRET_KEY not in store.location
    assert store.location.endswith(s3.endpoint)


def test_credentials_come_from_a_profile_too(
    tmp_path: Path, s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.s3_server import ACCESS_KEY

    credentials = tmp_path / "credentials"
    credentials.write_text(
        f"[team]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    env = {k: v for k, v in s3.env(f"s3://{fresh_bucket(s3)}/p").items()
           if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    store = open_image_store(tmp_path / "data", env={**env, "AWS_PROFILE": "team"})
    assert store.read(store.put(png(21)).path) == png(21)
