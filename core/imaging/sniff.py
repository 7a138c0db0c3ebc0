"""Recognise an image file by its first bytes (not only its suffix) and check it exists.

Content decides the reader: X-ray exports are often named ``IMG0001`` with no suffix, and a
``.png`` that is really a JPEG should still open. The suffix is only a tie-breaker for
DICOM files written without the 128-byte preamble.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.errors import ImageReadError, UnsupportedFormatError

DICOM = "dicom"
TIFF = "tiff"
PNG = "png"
JPEG = "jpeg"

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {".dcm", ".dicom", ".dic", ".tif", ".tiff", ".png", ".jpg", ".jpeg", ".jpe"}
)
_DICOM_SUFFIXES = frozenset({".dcm", ".dicom", ".dic"})

# Formats we recognise but do not read, so the message can name what the file is.
_OTHER_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"BM", "a BMP image"),
    (0, b"GIF8", "a GIF image"),
    (0, b"\x00\x00\x00\x0cjP  \r\n\x87\n", "a JPEG 2000 image"),
    (0, b"\xff\x4f\xff\x51", "a JPEG 2000 codestream"),
    (0, b"%PDF", "a PDF document"),
    (0, b"PK\x03\x04", "a ZIP archive"),
    (0, b"\x1f\x8b", "a gzip archive"),
    (0, b"<?xml", "an XML file"),
    (8, b"WEBP", "a WebP image"),
    (4, b"ftypheic", "a HEIC photo"),
    (4, b"ftypmif1", "a HEIF photo"),
    (344, b"n+1\x00", "a NIfTI volume"),
)

# First tag groups of a DICOM data set written without preamble (File Meta, Identifying,
# Patient, Acquisition, Relationship, Image Presentation), little- or big-endian.
_HEADERLESS_DICOM_GROUPS = frozenset({0x0002, 0x0008, 0x0010, 0x0018, 0x0020, 0x0028})


def display_name(path: str | os.PathLike[str]) -> str:
    """The file name shown in messages (the name only: folders can be long and private)."""
    return Path(path).name or str(path)


def check_file(path: str | os.PathLike[str]) -> int:
    """Return the size in bytes; raise ImageReadError if it cannot be read at all."""
    name = display_name(path)
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise ImageReadError(f"'{name}' does not exist.") from None
    except OSError as exc:
        raise ImageReadError(f"'{name}' cannot be opened: {exc.strerror or exc}.") from None
    if p.is_dir():
        raise ImageReadError(f"'{name}' is a folder, not an image file.")
    if st.st_size == 0:
        raise ImageReadError(f"'{name}' is empty (0 bytes); the copy or export probably failed.")
    return int(st.st_size)


def read_head(path: str | os.PathLike[str], n: int = 512) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except OSError as exc:
        raise ImageReadError(
            f"'{display_name(path)}' cannot be opened: {exc.strerror or exc}."
        ) from None


def sniff(path: str | os.PathLike[str]) -> str:
    """Return DICOM, TIFF, PNG or JPEG for a readable file, else raise a typed error."""
    check_file(path)
    head = read_head(path)
    kind = sniff_bytes(head)
    if kind is not None:
        return kind
    suffix = Path(path).suffix.lower()
    if suffix in _DICOM_SUFFIXES or _looks_like_headerless_dicom(head):
        return DICOM
    name = display_name(path)
    for offset, magic, what in _OTHER_SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            raise UnsupportedFormatError(
                f"'{name}' is {what}; ClinLens reads DICOM, TIFF, PNG and JPEG images."
            )
    if suffix in SUPPORTED_SUFFIXES:
        # The suffix promises an image but the content does not match it.
        raise ImageReadError(
            f"'{name}' is damaged or not really a {suffix.lstrip('.').upper()} file "
            "(its content does not start like one)."
        )
    raise UnsupportedFormatError(
        f"'{name}' is not an image format ClinLens reads (DICOM, TIFF, PNG or JPEG)."
    )


def sniff_bytes(head: bytes) -> str | None:
    if len(head) >= 132 and head[128:132] == b"DICM":
        return DICOM
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return TIFF
    return None


def _looks_like_headerless_dicom(head: bytes) -> bool:
    """A data set without preamble starts with a tag of a low group and a known VR or length."""
    if len(head) < 8:
        return False
    little = int.from_bytes(head[0:2], "little")
    big = int.from_bytes(head[0:2], "big")
    if little not in _HEADERLESS_DICOM_GROUPS and big not in _HEADERLESS_DICOM_GROUPS:
        return False
    vr = head[4:6]
    # Explicit VR has two upper-case letters; implicit VR has a 4-byte length instead.
    return (vr.isalpha() and vr.isupper()) or int.from_bytes(head[4:8], "little") < 0x10000
