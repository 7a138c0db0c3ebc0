"""Copy a JPEG or PNG without the metadata that can identify a patient.

A face photo's EXIF/XMP/IPTC blocks and PNG text chunks may hold the camera owner, GPS
position, capture date, a serial number or a free-text comment with the patient's name;
none of it may reach an export (the same rule as DICOM patient tags). The pixels are kept
byte for byte (no re-encoding, so no JPEG generation loss): only the metadata segments
are dropped. What decoding needs stays: JFIF (APP0), the ICC colour profile (APP2
``ICC_PROFILE``), Adobe's colour-transform flag (APP14, needed for CMYK/YCCK), tables,
frames and scans. EXIF orientation is not an issue here: a rotated file is never copied
(``eightbit.can_copy``), it is re-encoded from the oriented pixels.

The parsers are bounded by the file (every length is checked against what is left) and
raise ``MetadataStripError`` on anything malformed; the caller then re-encodes the pixels.
"""

from __future__ import annotations

import struct
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Text, time and EXIF chunks: everything a PNG can say about who, where and when.
PNG_DROPPED_CHUNKS = frozenset({b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"})

_SOI, _EOI, _SOS = 0xD8, 0xD9, 0xDA
_APP0, _APP2, _APP14, _COM = 0xE0, 0xE2, 0xEE, 0xFE
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and the restart markers RST0-7


class MetadataStripError(ValueError):
    """The file is not a well-formed JPEG/PNG, so its metadata could not be dropped."""


def _keep_jpeg_segment(marker: int, payload: bytes) -> bool:
    if marker == _COM:
        return False
    if 0xE0 <= marker <= 0xEF:  # APPn
        if marker == _APP0:
            return payload.startswith((b"JFIF\x00", b"JFXX\x00"))
        if marker == _APP2:
            return payload.startswith(b"ICC_PROFILE\x00")  # not MPF (it embeds images)
        if marker == _APP14:
            return payload.startswith(b"Adobe")
        return False  # EXIF and XMP (APP1), IPTC (APP13), vendor blocks
    return True


def strip_jpeg(data: bytes) -> bytes:
    """The JPEG ``data`` without its EXIF/XMP/IPTC/comment segments; bytes after EOI are
    dropped too (phones append thumbnails and vendor trailers there)."""
    if data[:2] != b"\xff\xd8":
        raise MetadataStripError("not a JPEG (no start-of-image marker)")
    out = bytearray(b"\xff\xd8")
    pos, n = 2, len(data)
    in_scan = False
    while pos < n:
        if in_scan:
            # Entropy-coded data: copy up to the next marker that is not a stuffed 0xFF00,
            # a restart marker or fill bytes.
            start = pos
            while True:
                ff = data.find(b"\xff", pos)
                if ff < 0 or ff + 1 >= n:
                    raise MetadataStripError("JPEG ends inside a scan (no end-of-image)")
                nxt = data[ff + 1]
                if nxt == 0x00 or nxt in _STANDALONE or nxt == 0xFF:
                    pos = ff + 1 if nxt == 0xFF else ff + 2
                    continue
                out += data[start:ff]
                pos = ff
                in_scan = False
                break
            continue
        if data[pos] != 0xFF:
            raise MetadataStripError(f"JPEG marker expected at byte {pos}")
        while pos < n and data[pos] == 0xFF:  # fill bytes before a marker
            pos += 1
        if pos >= n:
            raise MetadataStripError("JPEG ends after a fill byte")
        marker = data[pos]
        pos += 1
        if marker == _EOI:
            out += b"\xff\xd9"
            return bytes(out)
        if marker in _STANDALONE or marker == _SOI:
            out += bytes((0xFF, marker))
            continue
        if pos + 2 > n:
            raise MetadataStripError("JPEG segment length is cut off")
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        if length < 2 or pos + length > n:
            raise MetadataStripError(f"JPEG segment 0x{marker:02X} runs past the end")
        payload = data[pos + 2 : pos + length]
        if _keep_jpeg_segment(marker, payload):
            out += bytes((0xFF, marker)) + data[pos : pos + length]
        pos += length
        in_scan = marker == _SOS
    raise MetadataStripError("JPEG has no end-of-image marker")


def strip_png(data: bytes) -> bytes:
    """The PNG ``data`` without its text, time and EXIF chunks (CRCs of kept chunks are
    copied as they are: the chunks themselves are unchanged)."""
    if not data.startswith(PNG_SIGNATURE):
        raise MetadataStripError("not a PNG (bad signature)")
    out = bytearray(PNG_SIGNATURE)
    pos, n = len(PNG_SIGNATURE), len(data)
    while pos + 12 <= n:
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > n:
            raise MetadataStripError(f"PNG chunk {kind!r} runs past the end")
        if kind not in PNG_DROPPED_CHUNKS:
            out += data[pos:end]
        pos = end
        if kind == b"IEND":
            return bytes(out)
    raise MetadataStripError("PNG has no IEND chunk")


def strip_metadata(data: bytes, suffix: str) -> bytes:
    """``data`` of a file named ``*suffix`` (.jpg/.jpeg/.png) without identifying metadata."""
    if suffix.lower() in (".jpg", ".jpeg"):
        return strip_jpeg(data)
    if suffix.lower() == ".png":
        return strip_png(data)
    raise MetadataStripError(f"no metadata stripper for {suffix!r} files")


def copy_without_metadata(src: Path, dst: Path) -> None:
    """Write ``src`` to ``dst`` with its metadata dropped (raises ``MetadataStripError``)."""
    dst.write_bytes(strip_metadata(src.read_bytes(), src.suffix))
