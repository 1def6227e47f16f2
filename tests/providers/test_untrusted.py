"""Nothing read back is trusted with a key, and nothing a provider sends is trusted with memory
or a terminal: a stored status URL that is not the provider's API (or the configured base URL)
gets no request with the key, and the attempt says so; an echoed start of a key is masked;
terminal control characters never reach a message; an image larger than the offer documents is
refused from its header, before anything decodes it, keeping its cost."""

from __future__ import annotations

import io
import os
import struct
import zlib

import pytest
from PIL import Image

from harness.fakes import FAKES, Fault, png_bytes
from tests.providers.conftest import KEY
from tests.providers.test_recovery import _interrupted
from workbench.providers.trust import KeyScope, host_matches
from workbench.services.runs.recovery import recover_jobs_sync

HOSTILE_PATHS = {
    "bfl": "/eu2-cluster/v1/get_result?id=job-0042-7f3a&sig=q1w2",
    "replicate": "/poll-here/predictions/job-0042-7f3a",
    "fal": "/queue-x/fal-ai/flux-2-pro/requests/job-0042-7f3a/status",
}


@pytest.mark.parametrize("provider", ["bfl", "replicate", "fal"])
def test_a_planted_status_url_on_another_host_gets_no_key(make_harness, provider) -> None:
    h = make_harness(provider)
    # A second server speaking the same API with the same key: anything it receives with the
    # key would be the key stolen.
    with FAKES[provider](KEY) as thief:
        where = thief.url
        gid = _interrupted(h, "job-0042-7f3a", where + HOSTILE_PATHS[provider])
        report = recover_jobs_sync(h.wb)
        assert thief.requests == []
    assert report.finished_badly == [gid]
    row = h.wb.log.get(gid)
    assert (row.status, row.error_kind) == ("failed", "untrusted")
    assert "no request was made with your key" in row.error_message
    assert where in row.error_message
    assert not h.fake.requests  # nor at the real one: nothing was sent again


def test_the_key_scope_takes_the_documented_hosts_and_the_base_url_only() -> None:
    bfl = KeyScope("BFL", ("api.bfl.ai", "api.*.bfl.ai"), "https://api.bfl.ai")
    assert bfl.allows("https://api.eu2.bfl.ai/v1/get_result?id=1")
    assert bfl.allows("https://api.bfl.ai/v1/get_result?id=1")
    for url in (
        "http://api.bfl.ai/v1/get_result",  # not https
        "https://api.bfl.ai:8443/v1/get_result",  # another port
        "https://api.bfl.ai.evil.example/v1",  # a suffix is not the host
        "https://evil.example/api.bfl.ai/",
        "https://user@api.bfl.ai/v1",  # credentials in the URL
        "https://api.x.y.bfl.ai/v1",  # `*` is one label
        "file:///etc/passwd",
        "https://[::1/",
    ):
        assert not bfl.allows(url), url
    local = KeyScope("BFL", ("api.bfl.ai",), "http://127.0.0.1:8765")
    assert local.allows("http://127.0.0.1:8765/eu2-cluster/v1/get_result")
    assert not local.allows("http://127.0.0.1:8766/eu2-cluster/v1/get_result")
    assert host_matches("api.eu2.bfl.ai", "api.*.bfl.ai")


@pytest.mark.parametrize("provider", ["gemini", "bfl", "replicate", "fal"])
def test_an_echoed_start_of_the_key_is_masked(make_harness, provider) -> None:
    h = make_harness(provider)
    h.fake.fault("submit", Fault(400, {"detail": f"unknown key {KEY[:10]}... for this account"}))
    outcome, row = h.generate()
    assert row.error_kind in ("bad_request", "auth")
    assert KEY[:8] not in row.error_message and KEY[:8] not in (outcome.error or "")
    assert "[redacted]" in row.error_message


@pytest.mark.parametrize("provider", ["gemini", "bfl", "replicate", "fal"])
def test_terminal_control_characters_from_a_provider_are_not_kept(make_harness, provider) -> None:
    h = make_harness(provider)
    h.fake.fault("submit", Fault(400, {"detail": "bad \x1b[2J\x1b]0;owned\x07 input\x9b1m"}))
    outcome, row = h.generate()
    for text in (row.error_message, outcome.error or ""):
        assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text), repr(text)
    assert "bad" in row.error_message and "input" in row.error_message


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height, with a token of pixel data: decoding it would
    allocate the whole image, reading its header does not."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


@pytest.mark.parametrize(("side", "said"), [(13_000, "169.0 MP"), (20_000, "beyond any")])
def test_an_image_over_the_offers_size_is_refused_before_decoding(
    make_harness, side, said
) -> None:
    h = make_harness("bfl")
    h.fake.image = _png_header(side, side)
    _, row = h.generate("flux-2-pro")
    assert (row.status, row.error_kind) == ("failed", "malformed")
    assert said in row.error_message and "not decoded or stored" in row.error_message
    assert (row.cost_usd, row.cost_kind) == (pytest.approx(0.03), "known")  # BFL billed it
    assert row.image_path is None


def test_an_image_at_the_offers_largest_size_is_kept(make_harness) -> None:
    h = make_harness("gemini")

    h.fake.image = png_bytes(1376, 768)  # Gemini's 1K at 16:9: more than 1024^2 pixels
    outcome, _ = h.generate("nano-banana", aspect_ratio="16:9")
    assert outcome.status == "succeeded", outcome.error


def test_a_gemini_image_over_the_byte_limit_is_refused_before_decoding(make_harness) -> None:
    h = make_harness("gemini", max_image_bytes=1000)
    noise = Image.frombytes("RGB", (64, 64), os.urandom(64 * 64 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, format="PNG")
    h.fake.image = buffer.getvalue()  # noise does not compress: about 12 KB
    _, row = h.generate("nano-banana-2")
    assert (row.status, row.error_kind) == ("failed", "malformed")
    assert "not decoded or stored" in row.error_message
    assert row.cost_usd is not None and row.cost_usd > 0  # the billed tokens are kept
