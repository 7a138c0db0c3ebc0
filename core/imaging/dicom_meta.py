"""Metadata extraction from a parsed DICOM header (pydicom Dataset), pixels not needed.

Kept apart from pixel decoding so ``read_header`` and ``read`` share one interpretation of
the tags. Enhanced multi-frame objects (CT/MR/XA "enhanced" IODs) keep rescale, windows and
spacing in functional groups; those are consulted after the top-level tags.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.valuerep import VR

from core.imaging.raw import PatientTags, VoiWindow

# Identifying tags (after DICOM PS3.15 Annex E, basic profile, trimmed to what files carry).
# They go into RawImage.patient and nowhere else.
PATIENT_KEYWORDS: tuple[str, ...] = (
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "PatientBirthDate",
    "PatientBirthTime",
    "PatientSex",
    "PatientAge",
    "PatientSize",
    "PatientWeight",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "PatientMotherBirthName",
    "PatientComments",
    "OtherPatientIDs",
    "OtherPatientNames",
    "EthnicGroup",
    "MilitaryRank",
    "MedicalRecordLocator",
    "InstitutionName",
    "InstitutionAddress",
    "InstitutionalDepartmentName",
    "ReferringPhysicianName",
    "ReferringPhysicianAddress",
    "PerformingPhysicianName",
    "PhysiciansOfRecord",
    "NameOfPhysiciansReadingStudy",
    "RequestingPhysician",
    "OperatorsName",
    "AccessionNumber",
    "StudyID",
    "StudyDate",
    "StudyTime",
    "SeriesDate",
    "SeriesTime",
    "AcquisitionDate",
    "AcquisitionTime",
    "ContentDate",
    "ContentTime",
    "AcquisitionDateTime",
    "StudyDescription",
    "SeriesDescription",
    "StationName",
    "DeviceSerialNumber",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "FrameOfReferenceUID",
)

VOI_FUNCTIONS = frozenset({"LINEAR", "LINEAR_EXACT", "SIGMOID"})


def patient_tags(ds: Dataset) -> PatientTags:
    tags: dict[str, str] = {}
    for keyword in PATIENT_KEYWORDS:
        try:
            value = ds.get(keyword)
        except Exception:  # a malformed value must not stop the image from opening
            continue
        if value is None or value == "":
            continue
        tags[keyword] = str(value)
    return PatientTags(tags)


def _functional_items(ds: Dataset, frame: int, sequence: str) -> Iterator[Dataset]:
    """Items of ``sequence`` for this frame: per-frame group first, then the shared one."""
    for group_name, index in (
        ("PerFrameFunctionalGroupsSequence", frame),
        ("SharedFunctionalGroupsSequence", 0),
    ):
        groups = ds.get(group_name)
        if not groups or index >= len(groups):
            continue
        items = groups[index].get(sequence)
        if items:
            yield items[0]


def _lookup(ds: Dataset, frame: int, sequence: str, keyword: str) -> Any:
    """A tag at the top level, else from the frame's functional groups (enhanced IODs)."""
    if keyword in ds:
        return ds.get(keyword)
    for item in _functional_items(ds, frame, sequence):
        if keyword in item:
            return item.get(keyword)
    return None


def _as_floats(value: Any) -> list[float]:
    if value is None or value == "":
        return []
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        values: list[Any] = [value]
    else:
        values = list(value)
    out: list[float] = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append(f)
    return out


def _as_strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str | bytes):
        return [str(value)]
    try:
        return [str(v) for v in value]
    except TypeError:
        return [str(value)]


def photometric(ds: Dataset) -> str:
    return str(ds.get("PhotometricInterpretation", "MONOCHROME2") or "MONOCHROME2").strip().upper()


def rescale(ds: Dataset, frame: int) -> tuple[float, float, str | None]:
    """(slope, intercept, type); identity when absent or nonsensical."""
    slope = _as_floats(_lookup(ds, frame, "PixelValueTransformationSequence", "RescaleSlope"))
    intercept = _as_floats(
        _lookup(ds, frame, "PixelValueTransformationSequence", "RescaleIntercept")
    )
    rtype = _lookup(ds, frame, "PixelValueTransformationSequence", "RescaleType")
    s = slope[0] if slope and slope[0] != 0.0 else 1.0
    i = intercept[0] if intercept else 0.0
    return s, i, (str(rtype).strip() or None) if rtype else None


def _lut_from_item(item: Dataset, ds: Dataset) -> tuple[np.ndarray, int, int] | None:
    """(table, first mapped value, bits) from a LUT item, read as pydicom reads it."""
    descriptor = item.get("LUTDescriptor")
    if descriptor is None or "LUTData" not in item or len(descriptor) < 3:
        return None
    nr_entries = int(descriptor[0]) or 2**16
    first_map = int(descriptor[1])
    bits = int(descriptor[2])
    if int(ds.get("PixelRepresentation", 0) or 0) == 1 and first_map >= 2**15:
        first_map -= 2**16  # US-encoded descriptor of a signed image (PS3.3 C.11.1.1.1)
    dtype = np.uint8 if bits <= 8 else np.uint16
    elem = item["LUTData"]
    value = elem.value
    if elem.VR == VR.OW or isinstance(value, bytes | bytearray):
        raw = bytes(value)
        raw = raw[: len(raw) // 2 * 2]
        table = np.frombuffer(raw, dtype="<u2" if _is_little_endian(ds) else ">u2")
    elif isinstance(value, int):
        table = np.asarray([value], dtype=np.int64)
    else:
        table = np.asarray(list(value), dtype=np.int64)
    table = table[:nr_entries].astype(dtype)
    if table.size == 0:
        return None
    return table, first_map, bits


def _is_little_endian(ds: Dataset) -> bool:
    meta = getattr(ds, "file_meta", None)
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    if ts is not None:
        try:
            return bool(ts.is_little_endian)
        except (AttributeError, ValueError):
            pass
    enc = getattr(ds, "original_encoding", (None, True))
    return enc[1] is not False


def modality_lut(ds: Dataset) -> tuple[np.ndarray, int] | None:
    seq = ds.get("ModalityLUTSequence")
    if not seq:
        return None
    lut = _lut_from_item(seq[0], ds)
    return None if lut is None else (lut[0], lut[1])


def voi_lut(ds: Dataset) -> tuple[np.ndarray, int, int] | None:
    seq = ds.get("VOILUTSequence")
    if not seq:
        return None
    return _lut_from_item(seq[0], ds)


def voi_windows(ds: Dataset, frame: int) -> tuple[VoiWindow, ...]:
    """All usable windows (width > 0), in file order, in modality units."""
    centers = _as_floats(_lookup(ds, frame, "FrameVOILUTSequence", "WindowCenter"))
    widths = _as_floats(_lookup(ds, frame, "FrameVOILUTSequence", "WindowWidth"))
    texts = _as_strings(_lookup(ds, frame, "FrameVOILUTSequence", "WindowCenterWidthExplanation"))
    windows = []
    for i, (c, w) in enumerate(zip(centers, widths, strict=False)):
        if w > 0:
            windows.append(VoiWindow(c, w, texts[i] if i < len(texts) else ""))
    return tuple(windows)


def voi_function(ds: Dataset, frame: int) -> str:
    value = _lookup(ds, frame, "FrameVOILUTSequence", "VOILUTFunction")
    name = str(value or "LINEAR").strip().upper()
    return name if name in VOI_FUNCTIONS else "LINEAR"


def pixel_spacing(ds: Dataset, frame: int) -> tuple[tuple[float, float] | None, str | None]:
    """((row mm, column mm), which tag) - patient plane first, then the detector plane."""
    spacing = _as_floats(_lookup(ds, frame, "PixelMeasuresSequence", "PixelSpacing"))
    source = "PixelSpacing"
    if len(spacing) < 2:
        spacing, source = _as_floats(ds.get("ImagerPixelSpacing")), "ImagerPixelSpacing"
    if len(spacing) < 2:
        spacing = _as_floats(ds.get("NominalScannedPixelSpacing"))
        source = "NominalScannedPixelSpacing"
    if len(spacing) >= 2 and spacing[0] > 0 and spacing[1] > 0:
        return (spacing[0], spacing[1]), source
    return None, None


def frame_count(ds: Dataset) -> int:
    try:
        n = int(ds.get("NumberOfFrames", 1) or 1)
    except (TypeError, ValueError):
        n = 1
    return max(n, 1)


def int_tag(ds: Dataset, keyword: str, default: int) -> int:
    try:
        value = ds.get(keyword, default)
        return int(value if value not in (None, "") else default)
    except (TypeError, ValueError):
        return default


def modality(ds: Dataset) -> str | None:
    value = ds.get("Modality")
    return str(value).strip() or None if value else None


def transfer_syntax(ds: Dataset) -> Any:
    meta = getattr(ds, "file_meta", None)
    return meta.get("TransferSyntaxUID") if meta is not None else None
