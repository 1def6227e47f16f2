"""A reference image made ready for a provider: passed through, converted, downscaled, shrunk to
fit or refused (imaging/reference.py), at the exact limits."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from workbench.domain.catalog import ReferenceInput
from workbench.imaging import reference
from workbench.imaging.reference import ReferenceRefused, prepare_reference

SPEC = ReferenceInput(max_images=1, source="test")


def _image(size: tuple[int, int], fmt: str, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (120, 30, 200) if mode == "RGB" else 3).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_a_listed_format_within_the_limits_is_sent_byte_for_byte(fmt: str) -> None:
    data = _image((64, 48), fmt)
    ref = prepare_reference(data, SPEC, "X")
    assert ref.data == data and ref.converted == ""
    assert ref.sha256 == ref.source_sha256 == hashlib.sha256(data).hexdigest()
    assert (ref.width, ref.height, ref.mime) == (64, 48, f"image/{fmt.lower()}")


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_an_unlisted_format_becomes_png(fmt: str) -> None:
    ref = prepare_reference(_image((40, 30), fmt, "P" if fmt == "GIF" else "RGB"), SPEC, "X")
    assert ref.mime == "image/png" and ref.converted == f"converted from {fmt} to PNG"
    with Image.open(io.BytesIO(ref.data)) as out:
        assert out.format == "PNG" and out.size == (40, 30)


def test_jpeg_only_offers_get_jpeg() -> None:
    spec = ReferenceInput(max_images=1, formats=("image/jpeg",), source="test")
    ref = prepare_reference(_image((40, 30), "PNG"), spec, "X")
    assert ref.mime == "image/jpeg" and Image.open(io.BytesIO(ref.data)).format == "JPEG"


def test_an_offer_whose_formats_cannot_be_written_refuses_with_the_formats_named() -> None:
    spec = ReferenceInput(max_images=1, formats=("image/heic",), source="test")
    with pytest.raises(ReferenceRefused, match="HEIC only"):
        prepare_reference(_image((40, 30), "PNG"), spec, "Y via Z")


def test_over_max_mp_is_downscaled_keeping_the_ratio_and_at_the_limit_is_not() -> None:
    spec = ReferenceInput(max_images=1, max_mp=1.0, source="test")
    at_limit = _image((1024, 1024), "JPEG")
    kept = prepare_reference(at_limit, spec, "X")
    assert kept.data == at_limit and kept.converted == ""
    ref = prepare_reference(_image((2048, 1024), "PNG"), spec, "X")
    assert ref.width * ref.height <= 1024 * 1024
    assert ref.width / ref.height == pytest.approx(2.0, abs=0.01)
    assert "downscaled from 2048×1024" in ref.converted


def test_over_max_bytes_is_re_encoded_to_fit_and_at_the_limit_is_not() -> None:
    noisy = io.BytesIO()
    Image.effect_noise((600, 400), 90).convert("RGB").save(noisy, format="PNG")
    data = noisy.getvalue()
    exact = ReferenceInput(max_images=1, max_bytes=len(data), source="test")
    assert prepare_reference(data, exact, "X").data == data
    spec = ReferenceInput(max_images=1, max_bytes=len(data) - 1, source="test")
    ref = prepare_reference(data, spec, "X")
    assert len(ref.data) <= len(data) - 1 and ref.mime == "image/jpeg"
    assert ref.source_sha256 == hashlib.sha256(data).hexdigest() != ref.sha256


def test_bytes_that_cannot_fit_are_refused() -> None:
    spec = ReferenceInput(max_images=1, max_bytes=100, formats=("image/png",), source="test")
    with pytest.raises(ReferenceRefused, match=r"at most 0\.0001 MB"):
        prepare_reference(_image((300, 300), "PNG"), spec, "X")


@pytest.mark.parametrize("data", [b"", b"not an image", _image((10, 10), "PNG")[:40]])
def test_what_is_not_a_readable_image_is_refused(data: bytes) -> None:
    with pytest.raises(ReferenceRefused, match=r"not a readable image.*Nothing was sent"):
        prepare_reference(data, SPEC, "X")


def test_a_file_over_the_byte_cap_is_refused_before_decoding(monkeypatch) -> None:
    data = _image((64, 48), "PNG")
    monkeypatch.setattr(reference, "MAX_FILE_BYTES", len(data))
    assert prepare_reference(data, SPEC, "X").data == data  # exactly at the cap: fine
    monkeypatch.setattr(reference, "MAX_FILE_BYTES", len(data) - 1)
    with pytest.raises(ReferenceRefused, match="Nothing was sent"):
        prepare_reference(data, SPEC, "X")


def test_an_image_over_the_pixel_cap_is_refused_from_its_header(monkeypatch) -> None:
    data = _image((100, 100), "PNG")
    monkeypatch.setattr(reference, "MAX_PIXELS", 10_000)
    assert prepare_reference(data, SPEC, "X").width == 100
    monkeypatch.setattr(reference, "MAX_PIXELS", 9_999)
    with pytest.raises(ReferenceRefused, match="100×100 px"):
        prepare_reference(data, SPEC, "X")
