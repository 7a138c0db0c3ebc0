"""The hyperpigmentation study's region-of-interest map for face photos.

The map is the HSV brightness (V = max(R, G, B)) minus the grayscale (luma, ITU-R BT.601:
0.299 R + 0.587 G + 0.114 B), both on 0..1: it is 0 on neutral greys and grows with how
far a pixel's strongest channel stands above its luma - brown and red skin patches stand
out against even skin. Pixels above ``threshold`` (0.165 by default, the study's value)
form the region of interest shown to a grader.

Pure: reads the pixels, never writes them; the stored image is never changed (the app
only draws the mask as an overlay).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

DEFAULT_THRESHOLD = 0.165
# BT.601 luma weights: the grayscale OpenCV's COLOR_RGB2GRAY and PIL's "L" use.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class PigmentMap:
    """``difference``: V - gray per pixel (float32, 0..1); ``mask``: difference > threshold."""

    difference: np.ndarray
    mask: np.ndarray
    threshold: float

    @property
    def coverage(self) -> float:
        """Fraction of the pixels in the region of interest (0..1)."""
        return float(self.mask.mean()) if self.mask.size else 0.0


def _top(rgb: np.ndarray, bits_stored: int | None) -> float:
    if rgb.dtype == np.uint8:
        return 255.0
    if np.issubdtype(rgb.dtype, np.integer):
        return float(2 ** int(bits_stored or 16) - 1)
    return 1.0  # float photos are already 0..1


def difference_map(rgb: np.ndarray, bits_stored: int | None = None) -> np.ndarray:
    """V (HSV brightness) minus grayscale, float32 in 0..1, same (h, w) as ``rgb``.

    8- and 16-bit photos stay integer until the end (OpenCV's channel max, its BT.601
    grayscale rounded to a whole level, a saturating subtraction): as fast as OpenCV's own
    HSV + gray chain, and within half a grey level of the exact float difference."""
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError("the hyperpigmentation map needs a colour (h, w, 3) image")
    rgb = np.ascontiguousarray(rgb[..., :3])
    scale = np.float32(1.0 / _top(rgb, bits_stored))
    if rgb.dtype in (np.uint8, np.uint16):
        r, g, b = cv2.split(rgb)
        value = cv2.max(cv2.max(r, g), b)
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        diff = cv2.subtract(value, gray).astype(np.float32)  # V >= gray: never below 0
        diff *= scale
        return np.minimum(diff, np.float32(1.0), out=diff)
    unit = np.clip(rgb.astype(np.float32), 0.0, 1.0)
    out = unit.max(axis=2) - unit @ _LUMA
    return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)


def pigment_map(
    rgb: np.ndarray, threshold: float = DEFAULT_THRESHOLD, bits_stored: int | None = None
) -> PigmentMap:
    """The region-of-interest map of an RGB photo (uint8, uint16 or float 0..1)."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be within 0..1, got {threshold}")
    diff = difference_map(rgb, bits_stored)
    return PigmentMap(diff, diff > np.float32(threshold), float(threshold))
