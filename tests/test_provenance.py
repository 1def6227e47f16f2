"""Provenance in image files: A1111 layout, PNG chunks, JPEG XMP/EXIF, refusing bad files."""

from __future__ import annotations

import hashlib
import io
import json
import random
import re
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import ExifTags, Image
from PIL.PngImagePlugin import PngInfo

from workbench.imaging.provenance import (
    MAX_FILE_BYTES,
    MAX_PARAMETERS_CHARS,
    USER_COMMENT,
    ProvenanceError,
    embed,
    format_parameters,
    parse_parameters,
    read_metadata,
)

RECORD = {"generation_id": "gen_1", "model": "flux-2-pro", "prompt": "a kite, red", "parent": None}


def _image(fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format=fmt)
    return out.getvalue()


def _pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


# -- the A1111 layout ------------------------------------------------------------------------------
def test_parameters_round_trip_quotes_values_that_would_break_the_line() -> None:
    text = format_parameters(
        "a lighthouse, at dusk\nsecond line",
        {"Steps": None, "Seed": 42, "Size": "1024x768", "Model": "FLUX.2 [pro], BFL"},
    )
    lines = text.split("\n")
    assert lines[-1] == 'Seed: 42, Size: 1024x768, Model: "FLUX.2 [pro], BFL"'
    parsed = parse_parameters(text)
    assert parsed.prompt == "a lighthouse, at dusk\nsecond line"
    assert parsed.fields["Model"] == "FLUX.2 [pro], BFL"
    assert parsed.seed == 42 and parsed.size == (1024, 768)
    assert "Steps" not in parsed.fields


def test_a_pairs_line_with_fewer_than_three_pairs_is_prompt_text() -> None:
    """A1111 reads the last line as settings only when it holds three pairs or more."""
    parsed = parse_parameters("a cat\nSeed: 1, Size: 64x64")
    assert parsed.prompt == "a cat\nSeed: 1, Size: 64x64"
    assert parsed.fields == {}


def test_a_typical_a1111_infotext_is_parsed() -> None:
    text = (
        "portrait of a sailor, oil painting, (dramatic light:1.2)\n"
        "Negative prompt: blurry, extra fingers\n"
        "Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 6.5, Seed: 3141592653, "
        "Size: 832x1216, Model hash: 31e35c80fc, Model: sd_xl_base_1.0, Version: v1.9.4"
    )
    parsed = parse_parameters(text)
    assert parsed.prompt == "portrait of a sailor, oil painting, (dramatic light:1.2)"
    assert parsed.negative_prompt == "blurry, extra fingers"
    assert parsed.seed == 3141592653
    assert parsed.size == (832, 1216)
    assert parsed.fields["Sampler"] == "DPM++ 2M Karras"
    assert parsed.fields["Model"] == "sd_xl_base_1.0"


# AUTOMATIC1111's own `re_param_code` (modules/infotext_utils.py), read with `findall`: the
# oracle the linear reader must agree with on every line.
A1111_PAIR = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


def test_the_pairs_are_read_exactly_as_a1111s_own_pattern_reads_them() -> None:
    from workbench.imaging.provenance import _pairs

    rng = random.Random(19)
    alphabet = ["a", "Z", "1", "_", " ", "\t", ":", ",", '"', "\\", "-", "/", ".", "é", "["]
    lines = [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(30_000)
    ]
    lines += ['Steps: 30, Model: "FLUX.2 [pro], BFL", Seed: 1', 'k: "a\\"b", k2: "x", y']
    for line in lines:
        assert _pairs(line) == A1111_PAIR.findall(line), repr(line)


def test_a_text_over_the_cap_is_refused_before_it_is_parsed() -> None:
    line = "a" * 40_960  # one 40 KB line of word characters: 19 s in the pattern above
    cap = f"{MAX_PARAMETERS_CHARS:,}"
    with pytest.raises(ProvenanceError, match=f"40,966 characters long; at most {cap} are read"):
        parse_parameters(f"a cat\n{line}")


def test_a_long_last_line_is_read_in_linear_time() -> None:
    """A last line of word characters at the cap, read by a process that must finish within
    5 s: A1111's pattern retried at every position takes about 12 s, the linear reader a few ms."""
    code = (
        "from workbench.imaging.provenance import MAX_PARAMETERS_CHARS, parse_parameters\n"
        "line = 'ab cd' * ((MAX_PARAMETERS_CHARS - 20) // 5)\n"
        "parsed = parse_parameters('a cat\\n' + line)\n"
        "assert parsed.prompt.endswith('ab cd') and parsed.fields == {}\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=5)
    assert done.returncode == 0, done.stderr


# -- writing and reading back ----------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_embed_leaves_the_original_alone_and_keeps_the_pixels(fmt: str) -> None:
    original = _image(fmt)
    before = hashlib.sha256(original).hexdigest()
    parameters = format_parameters("a kite, red", {"Seed": 7, "Size": "64x48", "Model": "x"})
    exported = embed(original, parameters, RECORD)
    assert hashlib.sha256(original).hexdigest() == before
    assert exported.data != original
    assert exported.mime == ("image/png" if fmt == "PNG" else "image/jpeg")
    # Metadata goes in beside the image data: the decoded pixels are exactly the original's.
    assert np.array_equal(_pixels(exported.data), _pixels(original))
    found = read_metadata(exported.data)
    assert found.parameters == parameters
    assert found.workbench == RECORD
    assert (found.width, found.height) == (64, 48)


def test_non_latin_text_goes_into_an_itxt_chunk() -> None:
    exported = embed(_image("PNG"), "夕暮れの灯台\nSeed: 1, Size: 64x48, Model: x", RECORD)
    assert b"iTXt" in exported.data
    assert read_metadata(exported.data).parameters.startswith("夕暮れの灯台")


def test_jpeg_carries_the_parameters_in_exif_user_comment_as_a1111_does() -> None:
    exported = embed(_image("JPEG"), "a kite\nSeed: 1, Size: 64x48, Model: x", RECORD)
    with Image.open(io.BytesIO(exported.data)) as image:
        comment = image.getexif().get_ifd(ExifTags.IFD.Exif)[USER_COMMENT]
    assert comment == b"UNICODE\x00" + "a kite\nSeed: 1, Size: 64x48, Model: x".encode("utf-16-be")


def test_a_jpeg_recipe_too_long_for_one_segment_becomes_a_png_copy() -> None:
    long_prompt = "word " * 20_000
    exported = embed(_image("JPEG"), long_prompt, {**RECORD, "prompt": long_prompt})
    assert exported.mime == "image/png"
    assert read_metadata(exported.data).workbench["prompt"] == long_prompt


def test_webp_is_exported_as_png() -> None:
    exported = embed(_image("WEBP"), "a\nSeed: 1, Size: 1x1, Model: x", RECORD)
    assert exported.mime == "image/png"
    assert read_metadata(exported.data).workbench == RECORD


def test_a1111_png_from_another_tool_is_read() -> None:
    """A1111 saves with Pillow's PngInfo.add_text("parameters", infotext)."""
    info = PngInfo()
    info.add_text("parameters", "a red fox\nSteps: 20, Sampler: Euler a, Seed: 5, Size: 64x48")
    out = io.BytesIO()
    Image.new("RGB", (64, 48)).save(out, format="PNG", pnginfo=info)
    found = read_metadata(out.getvalue())
    assert found.workbench is None
    assert parse_parameters(found.parameters).prompt == "a red fox"


def test_an_image_without_metadata_reads_as_empty() -> None:
    found = read_metadata(_image("PNG"))
    assert found.parameters is None and found.workbench is None


def test_a_tampered_chunk_is_refused_as_corrupt() -> None:
    exported = embed(_image("PNG"), "a\nSeed: 1, Size: 1x1, Model: x", RECORD)
    broken = exported.data.replace(json.dumps(RECORD, sort_keys=True).encode()[:12], b"[1, 2, 3, ")
    # The CRC no longer matches: the file is refused as corrupt rather than half-read.
    with pytest.raises(ProvenanceError, match=r"corrupt|not a readable"):
        read_metadata(broken)


# -- refusing bad files ----------------------------------------------------------------------------
def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a size; its one IDAT is tiny (never decoded by the reader)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0"))
            + chunk(b"IEND", b""))


def test_exactly_100_megapixels_is_read_and_one_more_row_is_refused() -> None:
    assert read_metadata(_png_header_only(10_000, 10_000)).width == 10_000
    with pytest.raises(ProvenanceError, match="megapixels"):
        read_metadata(_png_header_only(10_000, 10_001))


def test_a_decompression_bomb_is_refused_before_decoding() -> None:
    with pytest.raises(ProvenanceError, match="megapixels"):
        read_metadata(_png_header_only(40_000, 40_000))


def test_a_file_over_50_mb_is_refused_before_opening() -> None:
    with pytest.raises(ProvenanceError, match="50 MB"):
        read_metadata(b"\x89PNG" + b"\0" * (MAX_FILE_BYTES - 3))


def test_garbage_and_truncated_files_are_refused_with_a_message() -> None:
    with pytest.raises(ProvenanceError, match="not a readable image"):
        read_metadata(b"<html>502 Bad Gateway</html>")
    png = _image("PNG")
    with pytest.raises(ProvenanceError):
        read_metadata(png[: len(png) // 2])


def test_a_providers_own_xmp_and_exif_do_not_hide_the_recipe() -> None:
    """Provider JPEGs may carry XMP (e.g. content credentials) and EXIF of their own."""
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"  # Make
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 20, 30)).save(
        out, format="JPEG", exif=exif.tobytes(),
        xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>',
    )
    original = out.getvalue()
    exported = embed(original, "a kite\nSeed: 1, Size: 32x32, Model: x", RECORD)
    found = read_metadata(exported.data)
    assert found.workbench == RECORD
    assert found.parameters == "a kite\nSeed: 1, Size: 32x32, Model: x"
    assert np.array_equal(_pixels(exported.data), _pixels(original))
    with Image.open(io.BytesIO(exported.data)) as image:
        assert image.getexif()[0x010F] == "Camera maker"  # theirs kept, not doubled


def test_a_png_that_already_has_parameters_reads_back_ours() -> None:
    info = PngInfo()
    info.add_text("parameters", "someone else's prompt\nSteps: 20, Seed: 1, Size: 8x8")
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="PNG", pnginfo=info)
    exported = embed(out.getvalue(), "ours\nSeed: 2, Size: 8x8, Model: x", RECORD)
    found = read_metadata(exported.data)
    assert found.parameters == "ours\nSeed: 2, Size: 8x8, Model: x"
    assert found.workbench == RECORD


def test_an_xmp_packet_of_repeated_opening_tags_is_read_in_linear_time() -> None:
    """20,000 opening tags and no closing one (440 KB, inside the file-size cap): over two minutes
    for a lazy pattern retried at each tag; the reader must finish within 5 s."""
    from workbench.imaging.provenance import _xmp_field

    assert _xmp_field("<workbench:recipe>a &amp; b</workbench:recipe>", "recipe") == "a & b"
    assert _xmp_field("<workbench:recipe>x<workbench:recipe>y</workbench:recipe>", "recipe") == (
        "x<workbench:recipe>y"
    )
    assert _xmp_field("<workbench:recipe>never closed", "recipe") is None
    code = (
        "from workbench.imaging.provenance import _xmp_field\n"
        "assert _xmp_field('<workbench:parameters>' * 20_000, 'parameters') is None\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=5)
    assert done.returncode == 0, done.stderr
