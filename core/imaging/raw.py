"""The in-memory image every part of ClinLens works on.

``RawImage.pixels`` keeps the *stored* values at full bit depth (never normalised to
uint8 at load). Display goes through ``core.filters.render``; models see 8-bit renders made
with recorded ``FilterSettings``. Patient-identifying tags live in ``PatientTags``, whose
``repr`` hides them so they never end up in logs, tracebacks or exports by accident.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class PatientTags(Mapping[str, str]):
    """Read-only bag of patient tags (name, id, birth date, ...). Never printed."""

    def __init__(self, tags: Mapping[str, str] | None = None) -> None:
        self._tags = dict(tags or {})

    def __getitem__(self, key: str) -> str:
        return self._tags[key]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._tags)

    def __len__(self) -> int:
        return len(self._tags)

    def __repr__(self) -> str:
        return f"PatientTags(<{len(self._tags)} hidden>)"

    __str__ = __repr__


@dataclass(frozen=True, eq=False)
class VoiWindow:
    """One VOI window (DICOM Window Center/Width), in modality units."""

    center: float
    width: float
    explanation: str = ""


@dataclass(frozen=True, eq=False)
class RawImage:
    """A decoded image at full bit depth plus the metadata display and export need.

    pixels: stored values. Grey: (H, W); colour: (H, W, 3) RGB. dtype as stored
        (uint8, uint16, int16, ...). For photos EXIF orientation is already applied.
    modality_lut: when the DICOM has a Modality LUT Sequence, the LUT (indexed by stored
        value - first_mapped) and its first mapped value; else None and the linear
        rescale (slope/intercept) applies.
    voi_windows: the file's own windows (multi-valued Window Center/Width), in modality
        units; first one is the default.
    voi_lut: (lut array, first mapped value, bits) from a VOI LUT Sequence, or None.
    """

    pixels: np.ndarray
    source_format: str  # "dicom" | "tiff" | "png" | "jpeg"
    bits_stored: int
    photometric: str  # "MONOCHROME1" | "MONOCHROME2" | "RGB"
    path: str | None = None
    modality: str | None = None
    rescale_slope: float = 1.0
    rescale_intercept: float = 0.0
    rescale_type: str | None = None  # e.g. "HU"
    modality_lut: tuple[np.ndarray, int] | None = None
    voi_windows: tuple[VoiWindow, ...] = ()
    voi_lut_function: str = "LINEAR"  # LINEAR | LINEAR_EXACT | SIGMOID
    voi_lut: tuple[np.ndarray, int, int] | None = None  # (table, first mapped, bits)
    pixel_spacing: tuple[float, float] | None = None  # (row mm, column mm)
    frame_index: int = 0
    frame_count: int = 1
    transfer_syntax: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # non-PHI facts (e.g. exif orientation)
    patient: PatientTags = field(default_factory=PatientTags, repr=False)

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def samples_per_pixel(self) -> int:
        return 1 if self.pixels.ndim == 2 else int(self.pixels.shape[2])

    @property
    def is_color(self) -> bool:
        return self.samples_per_pixel >= 3

    @property
    def window_center(self) -> float | None:
        return self.voi_windows[0].center if self.voi_windows else None

    @property
    def window_width(self) -> float | None:
        return self.voi_windows[0].width if self.voi_windows else None
