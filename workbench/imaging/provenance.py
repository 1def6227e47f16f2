"""Provenance inside image files: how an exported image says how it was made, and reading it back.

Writing (`embed`) never re-encodes pixels when it need not: PNG copies get text chunks inserted
before the first `IDAT`, JPEG copies get APP1 segments inserted after the file's own APPn
segments (both after what the file already carries, so a reader keeping the last record of a
name finds ours). Other formats (WebP, GIF) are decoded once and saved as PNG. Two records go in:

- `parameters`: the layout AUTOMATIC1111's web UI writes and its "PNG Info" tab reads
  (`modules/infotext_utils.py` in AUTOMATIC1111/stable-diffusion-webui): the prompt line(s), an
  optional "Negative prompt: …" line, then one line of `Key: value` pairs separated by ", ",
  a value holding ",", ":" or a newline being JSON-quoted. The reader treats the last line as
  the pairs line only when it holds at least three pairs, so exports write three or more
  (Size, Model, Provider, and Seed when known; no "Steps" for hosted models).
- `workbench`: one JSON object (generation id, model, provider, provider model id, prompt as
  sent, template, slots, seed, size, cost, parent).

PNG: both as `tEXt` chunks (`iTXt` when the text is not Latin-1), as Pillow's `PngInfo.add_text`
does (PNG spec §11.3.4). JPEG: both in an XMP packet (APP1, "http://ns.adobe.com/xap/1.0/") and
`parameters` in EXIF UserComment with the "UNICODE" prefix, which is where A1111 writes JPEG
infotext (via piexif's `UserComment.dump(..., encoding="unicode")`).

Reading (`read_metadata`) refuses files over `MAX_FILE_BYTES` before opening them and images over
`MAX_PIXELS` from the header alone, before any pixel is decoded. Pillow only, no other adapter.
"""

from __future__ import annotations

import io
import json
import re
import struct
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import unescape as xml_unescape

from PIL import ExifTags, Image, UnidentifiedImageError

from workbench.errors import InvalidInput

PARAMETERS_KEY = "parameters"
WORKBENCH_KEY = "workbench"
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_PIXELS = 100_000_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
XMP_NAMESPACE = "urn:prompt-workbench:provenance:1"
EXIF_HEADER = b"Exif\x00\x00"
USER_COMMENT = 0x9286  # EXIF 2.32 §4.6.5, tag UserComment in the Exif IFD
# A JPEG segment's length field counts itself: at most 65535 - 2 bytes of payload.
MAX_SEGMENT_PAYLOAD = 65533
# The longest `parameters` text read: twice the longest prompt the builder takes (a prompt and a
# negative prompt of `prompt_checks.MAX_PROMPT_CHARS` each) plus 12 KB of pairs. It is checked
# before anything is parsed; a longer text is refused with one sentence.
MAX_PARAMETERS_CHARS = 32_768
# The pairs of the last line, read as A1111's `re_param_code`
# (`\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)`, modules/infotext_utils.py) with
# `findall` reads them, but in linear time: `findall` retries that pattern at every position, and
# from each one the key rescans the rest of a long run of word characters (a 40,000-character
# last line took 19 s). `_pairs` tries a key where `findall` would and, when the key fails,
# resumes where its run of key characters ended (every start inside the run fails the same
# way). Possessive and atomic pieces keep each try from backtracking.
_KEY = re.compile(r"\s*(\w[\w \-/]*+)")
_SPACES = re.compile(r"\s*+")
_QUOTED = re.compile(r'"(?>(?:\\.|[^\\"])+)"(?=,|$)')
_PLAIN = re.compile(r"[^,]*+")
_SIZE = re.compile(r"^(\d+)x(\d+)$")


class ProvenanceError(InvalidInput):
    """An image that cannot be read for provenance (too large, corrupt, not an image)."""


@dataclass(frozen=True)
class Parameters:
    """An A1111 `parameters` text, parsed."""

    prompt: str
    negative_prompt: str = ""
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def size(self) -> tuple[int, int] | None:
        m = _SIZE.match(self.fields.get("Size", ""))
        return (int(m.group(1)), int(m.group(2))) if m else None

    @property
    def seed(self) -> int | None:
        value = self.fields.get("Seed", "").strip()
        return int(value) if re.fullmatch(r"-?\d{1,19}", value) else None


@dataclass(frozen=True)
class Metadata:
    """What an image file carries: the raw `parameters` text and `workbench` object, if any."""

    format: str
    width: int
    height: int
    parameters: str | None = None
    workbench: dict[str, Any] | None = None


@dataclass(frozen=True)
class Exported:
    data: bytes
    mime: str
    extension: str


# -- the A1111 layout ------------------------------------------------------------------------------
def _quote(value: str) -> str:
    """A1111's `quote`: JSON-quote a value that would break the pairs line."""
    if "," not in value and "\n" not in value and ":" not in value:
        return value
    return json.dumps(value, ensure_ascii=False)


def _loads(text: str, kind: type) -> Any:
    """`text` as JSON when it is valid JSON of `kind`, else None (never trusted as more)."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, kind) else None


def _unquote(value: str) -> str:
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    loaded = _loads(value, str)
    return value if loaded is None else loaded


def format_parameters(
    prompt: str, fields: dict[str, Any], negative_prompt: str = ""
) -> str:
    """The A1111 infotext: prompt, optional negative prompt line, then the pairs (None skipped)."""
    pairs = ", ".join(
        f"{key}: {_quote(str(value))}" for key, value in fields.items() if value is not None
    )
    negative = f"\nNegative prompt: {negative_prompt}" if negative_prompt else ""
    return f"{prompt}{negative}\n{pairs}".strip()


def _pairs(line: str) -> list[tuple[str, str]]:
    """(key, raw value) pairs of one line, as `re.findall(re_param_code, line)` gives them."""
    found: list[tuple[str, str]] = []
    at, end = 0, len(line)
    while at < end:
        key = _KEY.match(line, at)
        if key is None:  # no word character after the spaces here, nor from inside them
            spaces = _SPACES.match(line, at)
            at = (spaces.end() if spaces else at) + 1
            continue
        stop = key.end()
        if stop >= end or line[stop] != ":" or len(key.group(1)) < 2:
            at = max(stop, at + 1)
            continue
        spaces = _SPACES.match(line, stop + 1)
        start = spaces.end() if spaces else stop + 1
        value = _QUOTED.match(line, start) or _PLAIN.match(line, start)
        assert value is not None  # _PLAIN matches the empty string
        found.append((key.group(1), value.group(0)))
        at = value.end() + 1  # past the comma (or the end)
    return found


def parse_parameters(text: str) -> Parameters:
    """Parse an A1111 infotext as its own `parse_generation_parameters` does, in time linear in
    its length; a text over `MAX_PARAMETERS_CHARS` is refused before any parsing."""
    if len(text) > MAX_PARAMETERS_CHARS:
        raise ProvenanceError(
            f"The image's 'parameters' text is {len(text):,} characters long; at most "
            f"{MAX_PARAMETERS_CHARS:,} are read. Nothing was changed."
        )
    *lines, last = text.strip().split("\n")
    pairs = _pairs(last)
    if len(pairs) < 3:  # not a pairs line: part of the prompt
        lines.append(last)
        pairs = []
    prompt: list[str] = []
    negative: list[str] = []
    in_negative = False
    for line in lines:
        line = line.strip()
        if line.startswith("Negative prompt:"):
            in_negative = True
            line = line[len("Negative prompt:"):].strip()
        (negative if in_negative else prompt).append(line)
    fields = {key.strip(): _unquote(value.strip()) for key, value in pairs}
    return Parameters("\n".join(prompt), "\n".join(negative), fields)


# -- writing ---------------------------------------------------------------------------------------
def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(
        ">I", zlib.crc32(kind + body) & 0xFFFFFFFF
    )


def _png_text(key: str, text: str) -> bytes:
    try:
        return _png_chunk(b"tEXt", key.encode("latin-1") + b"\x00" + text.encode("latin-1"))
    except UnicodeEncodeError:
        # iTXt: keyword, NUL, compression flag 0, method 0, empty language, NUL, empty
        # translated keyword, NUL, UTF-8 text.
        body = key.encode("latin-1") + b"\x00\x00\x00\x00\x00" + text.encode("utf-8")
        return _png_chunk(b"iTXt", body)


def _embed_png(data: bytes, texts: dict[str, str]) -> bytes:
    if not data.startswith(PNG_SIGNATURE):
        raise ProvenanceError("not a PNG file")
    # Just before the first IDAT: after any text the file already holds, so a reader that keeps
    # the last chunk of a name (Pillow does) finds ours, and before the image data, where
    # readers look for text without decoding pixels.
    at = 8
    while at + 8 <= len(data) and data[at + 4:at + 8] != b"IDAT":
        (length,) = struct.unpack(">I", data[at:at + 4])
        at += 12 + length  # length, type, body, CRC
    chunks = b"".join(_png_text(key, text) for key, text in texts.items())
    return data[:at] + chunks + data[at:]


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _xmp_packet(parameters: str, record_json: str) -> bytes:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" xmlns:workbench="{XMP_NAMESPACE}">'
        f"<workbench:parameters>{xml_escape(parameters)}</workbench:parameters>"
        f"<workbench:recipe>{xml_escape(record_json)}</workbench:recipe>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    ).encode()


def _exif_user_comment(text: str) -> bytes:
    exif = Image.Exif()
    exif.get_ifd(ExifTags.IFD.Exif)[USER_COMMENT] = b"UNICODE\x00" + text.encode("utf-16-be")
    return exif.tobytes()  # starts with "Exif\0\0"


def _jpeg_has_exif(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as image:
        return "exif" in image.info


def _embed_jpeg(data: bytes, parameters: str, record_json: str) -> bytes | None:
    """The JPEG with XMP (and EXIF UserComment) segments, or None when they do not fit."""
    xmp = XMP_HEADER + _xmp_packet(parameters, record_json)
    exif = _exif_user_comment(parameters)
    if len(xmp) > MAX_SEGMENT_PAYLOAD or len(exif) > MAX_SEGMENT_PAYLOAD:
        return None
    segments = _jpeg_segment(0xE1, xmp)
    if not _jpeg_has_exif(data):  # one EXIF block per file: an existing one stays as it is
        segments = _jpeg_segment(0xE1, exif) + segments
    at = _after_app_segments(data)
    return data[:at] + segments + data[at:]


def _after_app_segments(data: bytes) -> int:
    """Where the SOI and the APPn/COM segments that follow it end. Ours go there: JFIF's APP0
    stays first (JFIF 1.02 §4), and when a provider's JPEG has an XMP packet of its own, ours
    comes after it, so a reader that keeps the last packet (Pillow does) finds ours."""
    at = 2
    while at + 4 <= len(data) and data[at] == 0xFF and (
        0xE0 <= data[at + 1] <= 0xEF or data[at + 1] == 0xFE
    ):
        (length,) = struct.unpack(">H", data[at + 2:at + 4])
        at += 2 + length
    return at


def _as_png(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        out = io.BytesIO()
        image.save(out, format="PNG")
    return out.getvalue()


def embed(data: bytes, parameters: str, record: dict[str, Any]) -> Exported:
    """A copy of `data` carrying both records. The input bytes are not modified."""
    record_json = json.dumps(record, ensure_ascii=False, sort_keys=True, default=str)
    texts = {PARAMETERS_KEY: parameters, WORKBENCH_KEY: record_json}
    if data.startswith(b"\xff\xd8"):
        jpeg = _embed_jpeg(data, parameters, record_json)
        if jpeg is not None:
            return Exported(jpeg, "image/jpeg", "jpg")
        # Too long for one JPEG segment: a lossless PNG copy keeps every character.
    png = data if data.startswith(PNG_SIGNATURE) else _as_png(data)
    return Exported(_embed_png(png, texts), "image/png", "png")


# -- reading ---------------------------------------------------------------------------------------
def _user_comment(raw: Any) -> str | None:
    """EXIF UserComment: an 8-byte character code, then the text (EXIF 2.32 table 9)."""
    if isinstance(raw, str):
        return raw or None
    if not isinstance(raw, bytes) or len(raw) < 8:
        return None
    code, body = raw[:8], raw[8:]
    if code == b"UNICODE\x00":
        # piexif writes big-endian UTF-16; some writers use little-endian with a BOM.
        if body.startswith(b"\xff\xfe"):
            return body[2:].decode("utf-16-le", "replace")
        return body.decode("utf-16-be", "replace")
    return body.rstrip(b"\x00").decode("utf-8", "replace") or None


def _xmp_field(xmp: str, name: str) -> str | None:
    """The text of our first `<workbench:NAME>` element, found with two `str.find`s: linear in
    the packet's length (a lazy regex retried at each of 20,000 repeated opening tags without a
    closing one took over two minutes on 440 KB)."""
    opening, closing = f"<workbench:{name}>", f"</workbench:{name}>"
    start = xmp.find(opening)
    if start < 0:
        return None
    start += len(opening)
    end = xmp.find(closing, start)
    return None if end < 0 else xml_unescape(xmp[start:end])


def _json_object(text: str | None) -> dict[str, Any] | None:
    return _loads(text, dict) if text else None


def read_metadata(data: bytes) -> Metadata:
    """The provenance an image file carries, read from its header without decoding pixels.

    Raises `ProvenanceError` with a sentence a person can act on for files too large, images
    over `MAX_PIXELS`, and bytes that are not a readable image."""
    if len(data) > MAX_FILE_BYTES:
        raise ProvenanceError(
            f"The file is {len(data) / 1024 / 1024:.1f} MB; images over "
            f"{MAX_FILE_BYTES // 1024 // 1024} MB are refused."
        )
    try:
        with warnings.catch_warnings():
            # Pillow warns from ~89 MP; our own limit (below) decides, from the header alone.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ProvenanceError(
            f"The image is too large to open safely (over {MAX_PIXELS // 1_000_000} megapixels)."
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ProvenanceError(
            "The file is not a readable image (corrupt, or not an image at all)."
        ) from exc
    with image:
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise ProvenanceError(
                f"The image is {width}×{height} ({width * height / 1e6:.0f} megapixels); images "
                f"over {MAX_PIXELS // 1_000_000} megapixels are refused."
            )
        fmt = image.format or ""
        info = dict(image.info)
        # Only JPEG's EXIF comes from the header; PNG's `getexif` would decode the pixels.
        exif = image.getexif() if fmt == "JPEG" else None
        try:
            image.verify()  # checks the structure (PNG chunk CRCs) without decoding pixels
        except Exception as exc:
            raise ProvenanceError("The image file is corrupt or cut short.") from exc
    parameters = info.get(PARAMETERS_KEY)
    record = _json_object(info.get(WORKBENCH_KEY))
    xmp_raw = info.get("xmp")
    if xmp_raw:
        xmp = xmp_raw.decode("utf-8", "replace") if isinstance(xmp_raw, bytes) else str(xmp_raw)
        parameters = parameters or _xmp_field(xmp, PARAMETERS_KEY)
        record = record or _json_object(_xmp_field(xmp, "recipe"))
    if parameters is None and exif is not None:
        parameters = _user_comment(exif.get_ifd(ExifTags.IFD.Exif).get(USER_COMMENT))
    return Metadata(
        fmt, width, height, parameters if isinstance(parameters, str) else None, record
    )
