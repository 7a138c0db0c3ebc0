"""The header tags of a DICOM file for the tags viewer, with every patient tag left out.

The rule is the one the reader applies (``dicom_meta.PATIENT_KEYWORDS``: the tags that go
into the hidden ``RawImage.patient`` bag and never into exports), made stricter for a view
a person reads over a clinician's shoulder: the whole patient group (0010,xxxx), every
person name (VR PN: physicians, operators), and private tags (vendors put names and IDs
there) are left out too. Elements are filtered by tag and VR *before* their value is
converted, so a patient tag's value is never even decoded; sequences are walked with the
same rule. Long binary values (OB/OW/UN...) show their size, not their bytes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from core.errors import ImageReadError
from core.imaging._quiet import quiet_pydicom
from core.imaging.dicom_meta import PATIENT_KEYWORDS
from core.imaging.sniff import (
    DICOM,
    _looks_like_headerless_dicom,
    check_file,
    display_name,
    read_head,
    sniff_bytes,
)

_HIDDEN_KEYWORDS = frozenset(PATIENT_KEYWORDS)
_PATIENT_GROUP = 0x0010
_BINARY_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN"})
_PIXEL_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})
MAX_VALUE_CHARS = 200
MAX_DEPTH = 4  # nested sequences shown this deep (deeper ones are summarised)
MAX_ROWS = 5000  # a hostile header cannot make the viewer build millions of rows


@dataclass(frozen=True)
class TagRow:
    """One shown element: "(0028,0030)", "PixelSpacing", "DS", "0.139\\0.139", depth."""

    tag: str
    keyword: str
    vr: str
    value: str
    depth: int = 0


def is_hidden(tag: int, vr: str | None) -> bool:
    """True for the tags the viewer never shows (patient tags, names, private tags)."""
    t = Tag(tag)
    if t.is_private or t.group == _PATIENT_GROUP:
        return True
    if vr == "PN":
        return True
    keyword = keyword_for_tag(t)
    return keyword in _HIDDEN_KEYWORDS


def _vr_of(elem: DataElement | RawDataElement) -> str:
    vr = elem.VR
    if vr:
        return str(vr)
    try:  # implicit VR files: the dictionary's VR
        return str(dictionary_VR(elem.tag))
    except KeyError:
        return "UN"


def _value_text(elem: DataElement) -> str:
    vr = str(elem.VR)
    if vr in _BINARY_VRS or int(elem.tag) in _PIXEL_TAGS:
        value = elem.value
        size = len(value) if isinstance(value, bytes | bytearray) else None
        return f"<{size} bytes>" if size is not None else "<binary>"
    value = elem.value
    if value is None or value == "":
        text = ""
    elif isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        text = "\\".join(str(v) for v in value)
    else:
        text = str(value)
    text = text.replace("\r", " ").replace("\n", " ")
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def tag_rows(ds: Dataset) -> list[TagRow]:
    """The shown elements of ``ds`` (its file meta first), in file order."""
    meta = getattr(ds, "file_meta", None)
    rows = _element_rows(meta, 0) if isinstance(meta, Dataset) else []
    return (rows + _element_rows(ds, 0))[:MAX_ROWS]


def _element_rows(ds: Dataset, depth: int) -> list[TagRow]:
    rows: list[TagRow] = []
    for raw in ds.elements():  # raw elements: nothing decoded yet
        if len(rows) >= MAX_ROWS:
            break
        tag = int(raw.tag)
        vr = _vr_of(raw)
        if is_hidden(tag, vr):
            continue
        elem = ds[tag]  # decodes this (allowed) element only
        label = f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
        keyword = keyword_for_tag(tag) or "(unknown)"
        if str(elem.VR) == "SQ":
            items = elem.value or []
            rows.append(TagRow(label, keyword, "SQ", f"{len(items)} item(s)", depth))
            if depth + 1 < MAX_DEPTH:
                for item in items:
                    rows.extend(_element_rows(item, depth + 1))
            continue
        rows.append(TagRow(label, keyword, str(elem.VR), _value_text(elem), depth))
    return rows


def read_tag_rows(path: str | os.PathLike[str]) -> list[TagRow]:
    """The shown header tags of a DICOM file (pixels not read). Raises ImageReadError."""
    from core.imaging.dicom import _parse  # one parse path for every DICOM read

    name = display_name(path)
    check_file(path)
    head = read_head(path)
    # pydicom's force=True parses anything; only what looks like DICOM is shown.
    if sniff_bytes(head) != DICOM and not _looks_like_headerless_dicom(head):
        raise ImageReadError(f"'{name}' is not a DICOM file: it has no DICOM header to show.")
    with quiet_pydicom():
        return tag_rows(_parse(path, name, defer=False))
