"""The S3-compatible backend (`WORKBENCH_IMAGES_URL=s3://bucket/prefix`), on boto3.

Endpoint, region and credentials are found the way the AWS SDKs find them, so Cloudflare R2,
MinIO or Google Cloud Storage's S3 interface work by setting an endpoint: `AWS_ENDPOINT_URL_S3`
or `AWS_ENDPOINT_URL`, `AWS_REGION` or `AWS_DEFAULT_REGION`, `AWS_ACCESS_KEY_ID` +
`AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`), or a profile (`AWS_PROFILE`, ~/.aws). Sources:
boto3's credentials guide (boto3.amazonaws.com/v1/documentation/api/latest/guide/credentials.html)
and the AWS SDKs and Tools reference, "Service-specific endpoints"
(docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html).

Objects are keyed `<prefix>/images/ab/<sha256>.<ext>` and `<prefix>/thumbs/ab/<sha256>.jpg`:
content-addressed, so a key is written once (a HEAD finds it there and the PUT is skipped).

Failures are told by their S3 error code
(docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html):
`AccessDenied`, `InvalidAccessKeyId`, `SignatureDoesNotMatch` (HTTP 403) are refused credentials,
`NoSuchBucket` (404) a missing bucket, `NoSuchKey` (404; a HEAD answers a bare 404) a missing
object. Messages name the endpoint (scheme, host and port only) and the bucket, never a
credential and never the server's own message text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from workbench.errors import ConfigError
from workbench.store.images.backend import ImageMissing, ImageStoreError, ImageUnavailable

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")  # S3's bucket naming rules
_PREFIX_PART = re.compile(r"[A-Za-z0-9._\-]+")
CREDENTIAL_CODES = frozenset({
    "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken",
    "ExpiredToken", "AllAccessDisabled", "403", "Forbidden",
})
MISSING_BUCKET_CODES = frozenset({"NoSuchBucket"})
MISSING_KEY_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}


def parse_s3_url(url: str) -> tuple[str, str]:
    """(bucket, prefix without outer slashes) of `s3://bucket/prefix`, else ConfigError. The
    message never repeats the URL (a key pasted into it would be a secret)."""
    parts = urlsplit(url.strip())
    if parts.scheme != "s3":
        raise ConfigError("WORKBENCH_IMAGES_URL must look like s3://bucket/prefix.")
    if "@" in parts.netloc or ":" in parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            "WORKBENCH_IMAGES_URL holds only s3://bucket/prefix; give credentials through "
            "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or a profile (AWS_PROFILE)."
        )
    bucket = parts.netloc
    if not _BUCKET.fullmatch(bucket):
        raise ConfigError(f"WORKBENCH_IMAGES_URL: {bucket!r} is not a valid S3 bucket name.")
    pieces = [p for p in parts.path.split("/") if p]
    if any(p in (".", "..") or not _PREFIX_PART.fullmatch(p) for p in pieces):
        raise ConfigError(
            "WORKBENCH_IMAGES_URL: the prefix may hold letters, digits, '.', '_' and '-' "
            "between slashes."
        )
    return bucket, "/".join(pieces)


def shown_endpoint(url: str | None) -> str:
    """scheme://host[:port] of an endpoint, without any user part, path or query."""
    if not url:
        return "the default AWS endpoint"
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or "")
    return ""


class S3Backend:
    def __init__(
        self,
        url: str,
        env: Mapping[str, str] | None = None,
        *,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 30.0,
        max_attempts: int = 3,
    ) -> None:
        import boto3  # loads only when images live in a bucket
        from botocore.config import Config

        env = os.environ if env is None else env
        self.bucket, prefix = parse_s3_url(url)
        self.prefix = prefix + "/" if prefix else ""
        self.url = f"s3://{self.bucket}/{prefix}"
        endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or None
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
        config = Config(
            connect_timeout=connect_timeout_s,
            read_timeout=read_timeout_s,
            retries={"max_attempts": max_attempts, "mode": "standard"},
            # A custom endpoint (MinIO, R2, a loopback server) is addressed by path: its host
            # name does not take a bucket in front of it.
            s3={"addressing_style": "path" if endpoint else "auto"},
        )
        try:
            # Keys given in `env` win; without them boto3's own chain looks (profile, ~/.aws,
            # instance roles). The secret only ever goes into the client's signer.
            session = boto3.session.Session(
                aws_access_key_id=env.get("AWS_ACCESS_KEY_ID") or None,
                aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
                aws_session_token=env.get("AWS_SESSION_TOKEN") or None,
                profile_name=env.get("AWS_PROFILE") or None,
            )
            self.client: Any = session.client(
                "s3", endpoint_url=endpoint, region_name=region, config=config
            )
        except Exception as exc:  # a missing profile, a malformed endpoint: say which, no value
            raise ConfigError(
                f"The S3 settings for WORKBENCH_IMAGES_URL cannot be used ({type(exc).__name__}); "
                "check AWS_ENDPOINT_URL, AWS_REGION and AWS_PROFILE."
            ) from None
        self.endpoint = shown_endpoint(self.client.meta.endpoint_url)

    @property
    def location(self) -> str:
        return f"{self.url} at {self.endpoint}"

    @property
    def local_root(self) -> None:
        return None

    def failure(self, exc: Exception, doing: str) -> ImageStoreError:
        """One line for a failed call, from the error's class and S3 code only."""
        from botocore.exceptions import (
            ClientError,
            ConnectionError,
            HTTPClientError,
            NoCredentialsError,
            PartialCredentialsError,
        )

        where = f"the image store at {self.endpoint}"
        if isinstance(exc, NoCredentialsError | PartialCredentialsError):
            return ImageStoreError(
                f"No credentials for {where}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "or AWS_PROFILE."
            )
        if isinstance(exc, ConnectionError | HTTPClientError):
            return ImageStoreError(
                f"Cannot reach {where} ({type(exc).__name__}) while {doing}; check "
                "AWS_ENDPOINT_URL and that the service is up."
            )
        if isinstance(exc, ClientError):
            code = _code(exc)
            if code in CREDENTIAL_CODES:
                return ImageStoreError(
                    f"The image store at {self.endpoint} refused the credentials for bucket "
                    f"{self.bucket} ({code}) while {doing}; check AWS_ACCESS_KEY_ID / "
                    "AWS_SECRET_ACCESS_KEY or AWS_PROFILE, and the bucket's permissions."
                )
            if code in MISSING_BUCKET_CODES:
                return ImageStoreError(self._no_bucket())
            return ImageStoreError(
                f"The image store at {self.endpoint} answered {code or 'an error'} while {doing}."
            )
        return ImageStoreError(
            f"The image store at {self.endpoint} failed while {doing} ({type(exc).__name__})."
        )

    def _no_bucket(self) -> str:
        return (f"The bucket {self.bucket} does not exist at {self.endpoint}: create it, or fix "
                "WORKBENCH_IMAGES_URL.")

    def check(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if _code(exc) in ("404", "NoSuchBucket", "NotFound"):
                raise ImageStoreError(self._no_bucket()) from None
            raise self.failure(exc, "opening the bucket") from None
        except BotoCoreError as exc:
            raise self.failure(exc, "opening the bucket") from None

    def has(self, key: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.prefix + key)
        except ClientError as exc:
            if _code(exc) in MISSING_KEY_CODES:
                return False
            raise self.failure(exc, "looking for an image") from None
        except BotoCoreError as exc:
            raise self.failure(exc, "looking for an image") from None
        return True

    def read(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)
            return bytes(answer["Body"].read())
        except ClientError as exc:
            code = _code(exc)
            if code in MISSING_KEY_CODES:
                raise ImageMissing("not in the image store") from None
            if code in MISSING_BUCKET_CODES:
                raise ImageUnavailable("the image store's bucket is missing") from None
            if code in CREDENTIAL_CODES:
                raise ImageUnavailable("the image store refused the credentials") from None
            raise ImageUnavailable(f"the image store answered {code or 'an error'}") from None
        except BotoCoreError:
            raise ImageUnavailable("the image store cannot be reached") from None

    def write(self, key: str, data: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        if self.has(key):
            return  # content-addressed: the same key holds the same bytes
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self.prefix + key, Body=data,
                ContentType=CONTENT_TYPES.get(key.rsplit(".", 1)[-1], "application/octet-stream"),
            )
        except (ClientError, BotoCoreError) as exc:
            raise self.failure(exc, "storing an image") from None

    def delete(self, key: str) -> None:
        """DeleteObject: S3 answers 204 whether or not the key was there
        (docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)
        except (ClientError, BotoCoreError) as exc:
            raise self.failure(exc, "removing an image") from None

    def entries(self, folder: str) -> Iterator[tuple[str, int]]:
        from botocore.exceptions import BotoCoreError, ClientError

        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}{folder}/"
        )
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    yield str(item["Key"])[len(self.prefix):], int(item["Size"])
        except (ClientError, BotoCoreError) as exc:
            raise self.failure(exc, "listing images") from None
