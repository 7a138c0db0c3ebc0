"""Lengths and box sizes in millimetres from a DICOM image's pixel spacing.

Spacing is ``RawImage.pixel_spacing``: (row spacing, column spacing) in mm, as DICOM
stores it - the row spacing is the distance between the centres of two adjacent *rows*
(a vertical step), the column spacing that between two adjacent *columns* (a horizontal
step). So a horizontal run of ``dx`` pixels is ``dx * column`` mm and a vertical run of
``dy`` pixels ``dy * row`` mm; the two differ on non-square pixels.

Which tag gave the spacing matters: PixelSpacing is in the patient plane, while
ImagerPixelSpacing is at the detector (a projection radiograph magnifies the body by the
source-to-detector / source-to-object ratio, typically 1.1-1.2), so a length from it is
labelled "at the detector". Without spacing a length is in pixels, and says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

Spacing = tuple[float, float]  # (row mm, column mm)

# What each spacing tag measures, for the label beside a length.
SPACING_NOTES = {
    "PixelSpacing": "",
    "ImagerPixelSpacing": "at the detector",
    "NominalScannedPixelSpacing": "scanned film",
}


@dataclass(frozen=True)
class Length:
    """A distance: ``value`` in ``unit`` ("mm" or "px"), and what it is based on."""

    value: float
    unit: str
    note: str = ""  # e.g. "at the detector"; "no pixel spacing" for px

    def text(self) -> str:
        number = f"{self.value:.1f} {self.unit}"
        return f"{number} ({self.note})" if self.note else number


@dataclass(frozen=True)
class Calibration:
    """The spacing of one image (None: unknown) and the tag it came from."""

    spacing: Spacing | None = None
    source: str | None = None

    @property
    def known(self) -> bool:
        return self.spacing is not None

    @property
    def note(self) -> str:
        if self.spacing is None:
            return "no pixel spacing"
        return SPACING_NOTES.get(self.source or "", "")


def calibration_of(raw: Any) -> Calibration:
    """The calibration of a ``RawImage`` (its pixel spacing and the tag it came from)."""
    spacing = getattr(raw, "pixel_spacing", None) if raw is not None else None
    if spacing is None:
        return Calibration()
    row, col = float(spacing[0]), float(spacing[1])
    if not (math.isfinite(row) and math.isfinite(col)) or row <= 0 or col <= 0:
        return Calibration()
    extra = getattr(raw, "extra", None) or {}
    source = extra.get("pixel_spacing_source") if hasattr(extra, "get") else None
    return Calibration((row, col), str(source) if source else "PixelSpacing")


def line_length(x1: float, y1: float, x2: float, y2: float, cal: Calibration) -> Length:
    """Length of the segment between two image points (continuous image coordinates)."""
    dx, dy = x2 - x1, y2 - y1
    if cal.spacing is None:
        return Length(math.hypot(dx, dy), "px", cal.note)
    row, col = cal.spacing
    return Length(math.hypot(dx * col, dy * row), "mm", cal.note)


def box_size(x1: float, y1: float, x2: float, y2: float, cal: Calibration) -> tuple[Length, Length]:
    """(width, height) of a box: mm when the spacing is known, else px."""
    w, h = abs(x2 - x1), abs(y2 - y1)
    if cal.spacing is None:
        return Length(w, "px", cal.note), Length(h, "px", cal.note)
    row, col = cal.spacing
    return Length(w * col, "mm", cal.note), Length(h * row, "mm", cal.note)


def size_text(width: Length, height: Length) -> str:
    """``"12.3 × 4.5 mm"`` (the note, if any, once at the end)."""
    text = f"{width.value:.1f} × {height.value:.1f} {width.unit}"
    return f"{text} ({width.note})" if width.note else text
