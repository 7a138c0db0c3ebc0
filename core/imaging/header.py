"""Cheap per-file metadata for importing many files without decoding their pixels."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ImageHeader:
    """What ``read_header`` learns from a file's header (no patient tags, ever).

    width/height are the *displayed* size, i.e. after EXIF/TIFF orientation, so they match
    ``read(path).pixels.shape`` exactly. samples_per_pixel is that of ``read()``'s output
    (palette images become RGB, alpha is dropped).
    """

    path: str
    source_format: str  # "dicom" | "tiff" | "png" | "jpeg"
    width: int
    height: int
    bits_stored: int
    samples_per_pixel: int
    photometric: str  # "MONOCHROME1" | "MONOCHROME2" | "RGB"
    modality: str | None = None
    window_center: float | None = None
    window_width: float | None = None
    frame_count: int = 1
    transfer_syntax: str | None = None
    pixel_spacing: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
