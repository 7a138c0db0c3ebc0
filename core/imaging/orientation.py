"""EXIF / TIFF orientation (tag 274) applied to a numpy array, without Pillow.

One implementation for every reader (PNG/JPEG via Pillow or OpenCV, TIFF via tifffile), so
a phone photo shows upright and boxes drawn on it refer to what the clinician saw. The
mapping follows Pillow's ``ImageOps.exif_transpose`` (checked against it in the tests).
"""

from __future__ import annotations

import numpy as np


def apply_orientation(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Return the array as displayed for EXIF orientation 1..8 (other values: unchanged)."""
    if orientation == 2:
        out = arr[:, ::-1]
    elif orientation == 3:
        out = arr[::-1, ::-1]
    elif orientation == 4:
        out = arr[::-1]
    elif orientation == 5:
        out = arr.swapaxes(0, 1)
    elif orientation == 6:
        out = np.rot90(arr, k=-1)
    elif orientation == 7:
        out = np.rot90(arr, k=2).swapaxes(0, 1)
    elif orientation == 8:
        out = np.rot90(arr, k=1)
    else:
        return arr
    return np.ascontiguousarray(out)


def swaps_axes(orientation: int) -> bool:
    """Orientations 5-8 turn the image a quarter: width and height swap."""
    return orientation in (5, 6, 7, 8)
