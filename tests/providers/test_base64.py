"""Base64 on the wire (`providers.base.to_base64` / `from_base64`, through pybase64): the same
bytes, alphabet rules and errors as the standard library, for the strict reading of a JSON
field (Gemini's `inlineData.data`) and the lenient one of an RFC 2397 data URI."""

from __future__ import annotations

import asyncio
import base64
import binascii
import os

import pytest

from workbench.providers.base import ProviderError, from_base64, to_base64
from workbench.providers.http import ApiClient, HttpPolicy


def test_a_large_image_round_trips_as_the_standard_library_encodes_it() -> None:
    data = os.urandom(3_000_001)  # not a multiple of 3: the padding is exercised
    text = to_base64(data)
    assert text == base64.b64encode(data).decode("ascii")
    assert from_base64(text, strict=True) == data
    assert from_base64(text.encode("ascii"), strict=False) == data


@pytest.mark.parametrize("text", ["aGVs bG8=", "aGVs\nbG8=", "aGVsbG8=!", "aGVsbG8"])
def test_strict_refuses_what_the_standard_library_refuses(text: str) -> None:
    with pytest.raises(binascii.Error):
        base64.b64decode(text, validate=True)
    with pytest.raises(binascii.Error):
        from_base64(text, strict=True)


def test_strict_refuses_text_outside_ascii() -> None:
    with pytest.raises(ValueError):  # binascii.Error is one too
        from_base64("aGVsbG8=é", strict=True)


def test_lenient_skips_line_breaks_as_a_data_uri_may_carry_them() -> None:
    assert from_base64("aGVs\r\nbG8=", strict=False) == b"hello"
    with pytest.raises(binascii.Error):
        from_base64("aGVsbG8", strict=False)  # padding is still checked


def _client() -> ApiClient:
    return ApiClient("fal", key="test-key-0000", policy=HttpPolicy(max_image_bytes=1000))


def test_a_data_uri_result_is_decoded_in_place_with_its_type() -> None:
    client = _client()
    try:
        got = asyncio.run(client.downloader.download("data:image/png;base64,iVBO\nRw0KGgo="))
    finally:
        asyncio.run(client.aclose())
    assert got.data == b"\x89PNG\r\n\x1a\n" and got.mime == "image/png"


def test_a_data_uri_that_is_not_base64_is_malformed() -> None:
    client = _client()
    try:
        with pytest.raises(ProviderError) as caught:
            client.downloader.data_uri("data:image/png;base64,iVBORw0")
        assert caught.value.kind == "malformed" and "not valid base64" in caught.value.message
        with pytest.raises(ProviderError) as too_big:
            client.downloader.data_uri("data:image/png;base64," + "A" * 1400)
        assert too_big.value.kind == "malformed" and "larger than" in too_big.value.message
    finally:
        asyncio.run(client.aclose())
