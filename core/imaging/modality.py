"""Stored values -> modality values (Hounsfield units for CT, detector units for CR/DX).

The DICOM modality transformation (PS3.3 C.11.1): a Modality LUT Sequence when present,
else the linear rescale. Computed in float32, on demand, so ``RawImage.pixels`` stays the
compact stored array.
"""

from __future__ import annotations

import numpy as np

from core.imaging.raw import RawImage


def to_modality(raw: RawImage, stored: np.ndarray) -> np.ndarray:
    """Map any array of *stored* values of ``raw`` (e.g. a 65,536-entry ramp) to float32.

    Same result as ``pydicom.pixels.apply_modality_lut`` (which the tests check), so a
    display LUT built from a ramp of stored values matches pixel-by-pixel application.
    """
    if raw.modality_lut is not None:
        table, first = raw.modality_lut
        index = np.asarray(stored, dtype=np.int64) - first
        np.clip(index, 0, table.size - 1, out=index)
        return table[index].astype(np.float32)
    out = np.asarray(stored, dtype=np.float32)
    if raw.rescale_slope != 1.0 or raw.rescale_intercept != 0.0:
        # float64 arithmetic then one rounding, as pydicom does (slopes like 3.774114).
        out = (
            np.asarray(stored, dtype=np.float64) * raw.rescale_slope + raw.rescale_intercept
        ).astype(np.float32)
    elif out is stored:
        out = out.copy()  # never hand out a view of raw.pixels
    return out


def modality_values(raw: RawImage) -> np.ndarray:
    """float32 modality values of the whole frame; photos (no rescale): pixels as float32."""
    return to_modality(raw, raw.pixels)


def modality_range(raw: RawImage) -> tuple[float, float]:
    """Smallest and largest modality value the stored bit depth can produce.

    The natural full-scale range of the image (e.g. for a "min-max of the bit depth" view
    or a histogram range), as pydicom's windowing uses for its output range.
    """
    if raw.pixels.dtype.kind == "f":
        return float(np.nanmin(raw.pixels)), float(np.nanmax(raw.pixels))
    signed = raw.pixels.dtype.kind == "i"
    bits = max(1, min(raw.bits_stored, raw.pixels.dtype.itemsize * 8))
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    if raw.modality_lut is not None:
        table = raw.modality_lut[0]
        return float(table.min()), float(table.max())
    ends = to_modality(raw, np.array([lo, hi]))
    return float(ends.min()), float(ends.max())
