"""A real S3-compatible server on the loopback for the tests: moto's server mode in its own
process (`python -m moto.server`), speaking the S3 REST protocol over a socket. Nothing is mocked:
the workbench's boto3 client signs and sends real HTTP requests to it.

`S3Server.start()` picks a free port, waits until the server answers, and `stop()` ends the
process (a fault test stops it mid-run and starts it again on the same port). Moto keeps its
buckets in memory, so a restarted server is empty.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

ACCESS_KEY = "AKIAWORKBENCHTEST"
# A canary: tests assert it never appears in anything the workbench writes or prints.
SECRET_KEY = "wb-secret-canary-7f3a9c1e5d2b"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class S3Server:
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None
    _fresh: bool = field(default=True, repr=False)  # never started: its port may be re-chosen

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, url: str = "s3://workbench-test/team") -> dict[str, str]:
        return {
            "WORKBENCH_IMAGES_URL": url,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    def start(self, timeout_s: float = 30.0) -> S3Server:
        """Start on `self.port`. On a first start a port that another process (a parallel test
        worker) took between choosing and binding is chosen again; a restart keeps its port."""
        for _ in range(4 if self._fresh else 0):
            if self._launch(timeout_s):
                return self
            self.port = _free_port()
        if not self._launch(timeout_s):
            raise RuntimeError(f"moto server exited at start (port {self.port})")
        return self

    def _launch(self, timeout_s: float) -> bool:
        """Whether a server started here answered (False: it exited at once)."""
        self._fresh = False
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                return False
            try:
                httpx.get(f"{self.endpoint}/moto-api/", timeout=0.5)
            except httpx.HTTPError:
                time.sleep(0.1)
                continue
            if self.process.poll() is None:  # ours answered, not another worker's
                return True
        self.stop()
        raise RuntimeError("moto server did not answer in time")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
        )

    def make_bucket(self, name: str) -> None:
        client = self.client()
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=name)
