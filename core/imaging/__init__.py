"""Image readers returning the full-bit-depth array and metadata.

Public API (other packages import only these names):

- ``read(path, frame=0) -> RawImage``: DICOM, TIFF, PNG, JPEG, recognised by content.
- ``read_header(path) -> ImageHeader``: cheap metadata, pixels not decoded.
- ``check_image(path) -> CheckedImage``: the header plus why the pixels could not be
  decoded (``problem``, or None), found without decoding them (what an import runs).
- ``modality_values(raw) -> np.ndarray`` float32 after the modality LUT / rescale (HU for CT);
  ``to_modality(raw, stored)`` maps any array of stored values (e.g. a LUT ramp) the same way.
- ``apply_voi(raw, values, index=0) -> float32 in [0, 1]``: the file's VOI (VOI LUT Sequence,
  else Window Center/Width with its VOI LUT Function) on modality values; ``has_voi``,
  ``voi_labels``, ``voi_count``, ``voi_window``; ``apply_window(values, c, w, function)``
  for a user window. MONOCHROME1 inversion is left to the filters.
- ``RawImage``, ``PatientTags``, ``VoiWindow``, ``ImageHeader``, ``CheckedImage``,
  ``SUPPORTED_SUFFIXES``.

Errors: core.errors.ImageReadError and its subclasses (UnsupportedFormatError,
MissingCodecError, NoPixelDataError, ImageTooLargeError).
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.imaging.header import ImageHeader
    from core.imaging.modality import modality_range, modality_values, to_modality
    from core.imaging.raw import PatientTags, RawImage, VoiWindow
    from core.imaging.reader import read, read_header
    from core.imaging.sniff import SUPPORTED_SUFFIXES
    from core.imaging.verify import CheckedImage, check_image
    from core.imaging.voi import (
        apply_voi,
        apply_window,
        has_voi,
        voi_count,
        voi_labels,
        voi_window,
    )

# Loaded on first use (PEP 562), not with the package: the window's start needs RawImage
# and the VOI functions, not pydicom and tifffile (~45 % of the start's imports, measured
# with -X importtime). A DICOM's reader loads pydicom when the first DICOM is read.
_WHERE = {
    "ImageHeader": "header",
    "modality_range": "modality",
    "modality_values": "modality",
    "to_modality": "modality",
    "PatientTags": "raw",
    "RawImage": "raw",
    "VoiWindow": "raw",
    "read": "reader",
    "read_header": "reader",
    "SUPPORTED_SUFFIXES": "sniff",
    "CheckedImage": "verify",
    "check_image": "verify",
    "apply_voi": "voi",
    "apply_window": "voi",
    "has_voi": "voi",
    "voi_count": "voi",
    "voi_labels": "voi",
    "voi_window": "voi",
}


def __getattr__(name: str) -> object:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{where}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


__all__ = [
    "SUPPORTED_SUFFIXES",
    "CheckedImage",
    "ImageHeader",
    "PatientTags",
    "RawImage",
    "VoiWindow",
    "apply_voi",
    "apply_window",
    "check_image",
    "has_voi",
    "modality_range",
    "modality_values",
    "read",
    "read_header",
    "to_modality",
    "voi_count",
    "voi_labels",
    "voi_window",
]
