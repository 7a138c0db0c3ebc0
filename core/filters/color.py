"""Colour photos: every contrast operation acts on lightness; hue and chroma stay.

The grey chain (window, CLAHE, brightness/contrast/gamma) runs on L* of CIE Lab, then each
pixel gets its new L* with its own a*, b* (so its Lab hue angle and chroma are unchanged).
Converting (L*', a*, b*) back to RGB can leave the sRGB gamut (a bright skin tone pushed
brighter); OpenCV would then clip each channel on its own, which shifts the hue (bright skin
turns yellow). Instead such pixels keep L*' and hue and lose just enough chroma to fit
(bisection on the chroma scale; grey always fits).

Memory stays bounded on 24-megapixel photos: the colour work runs in row blocks.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

_BLOCK_PIXELS = 1 << 19
_GAMUT_STEPS = 10  # chroma bisection: 2**-10 of the chroma, far below one 8-bit step

# CIE Lab (D65) -> linear sRGB, the constants OpenCV's own conversion uses.
_WHITE = np.array([0.950456, 1.0, 1.088754], dtype=np.float32)
_XYZ_TO_RGB = np.array(
    [
        [3.240479, -1.53715, -0.498535],
        [-0.969256, 1.875991, 0.041556],
        [0.055648, -0.204043, 1.057311],
    ],
    dtype=np.float32,
)
_XYZ_TO_RGB_W = _XYZ_TO_RGB * _WHITE[None, :]  # folds the white point into the matrix


def _blocks(height: int, width: int) -> list[slice]:
    rows = max(1, _BLOCK_PIXELS // max(1, width))
    return [slice(r, min(r + rows, height)) for r in range(0, height, rows)]


def _lab(rgb: np.ndarray) -> np.ndarray:
    """float32 Lab (L 0..100) of an 8/16-bit RGB block."""
    scale = np.float32(1.0 / (255.0 if rgb.dtype == np.uint8 else 65535.0))
    return cv2.cvtColor(rgb.astype(np.float32) * scale, cv2.COLOR_RGB2Lab)


def lightness_code(rgb: np.ndarray) -> np.ndarray:
    """L* in the photo's stored range: uint8 0..255 (8-bit photo) else uint16 0..65535."""
    if rgb.dtype == np.uint8:
        # OpenCV's 8-bit Lab is table-driven (~10x faster than float) and its L is
        # exactly this code: L* * 255 / 100.
        return np.ascontiguousarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)[..., 0])
    out = np.empty(rgb.shape[:2], dtype=np.uint16)
    for sl in _blocks(*rgb.shape[:2]):
        light = _lab(rgb[sl])[..., 0]
        out[sl] = np.clip(light * np.float32(655.35) + np.float32(0.5), 0, 65535).astype(np.uint16)
    return out


def _finv(t: np.ndarray) -> np.ndarray:
    """Inverse of the Lab companding function f."""
    return np.where(t > 6.0 / 29.0, t * t * t, (t - 4.0 / 29.0) * np.float32(3 * (6 / 29) ** 2))


def _lab_to_linear(
    light: np.ndarray, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """1-D L*, a*, b* -> linear sRGB channels, unclipped (may leave 0..1)."""
    fy = (light + np.float32(16.0)) / np.float32(116.0)
    x, y, z = _finv(fy + a / np.float32(500.0)), _finv(fy), _finv(fy - b / np.float32(200.0))
    m = _XYZ_TO_RGB_W
    return tuple(m[i, 0] * x + m[i, 1] * y + m[i, 2] * z for i in range(3))  # type: ignore[return-value]


def _fits(rgb: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    lo, hi = np.float32(-1e-4), np.float32(1 + 1e-4)
    r, g, b = rgb
    return (r >= lo) & (r <= hi) & (g >= lo) & (g <= hi) & (b >= lo) & (b <= hi)


def _fit_chroma(light: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, 3) sRGB 0..1 of colours (L*, s*a*, s*b*) with the largest s <= 1 that fits."""
    lo = np.zeros(light.shape, np.float32)  # chroma scale known to fit (grey)
    hi = np.ones(light.shape, np.float32)  # known not to fit
    for _ in range(_GAMUT_STEPS):
        mid = (lo + hi) * np.float32(0.5)
        ok = _fits(_lab_to_linear(light, a * mid, b * mid))
        lo = np.where(ok, mid, lo)
        hi = np.where(ok, hi, mid)
    lin = np.clip(np.stack(_lab_to_linear(light, a * lo, b * lo), axis=-1), 0.0, 1.0)
    return np.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin ** (1 / 2.4) - 0.055)


def apply_lightness(rgb: np.ndarray, new_l8: np.ndarray) -> np.ndarray:
    """Give every pixel of ``rgb`` the lightness ``new_l8`` (uint8 code: 255 = L* 100),
    keeping its Lab hue and, where the gamut allows, its chroma. Returns uint8 RGB."""
    out = np.empty((*rgb.shape[:2], 3), dtype=np.uint8)
    for sl in _blocks(*rgb.shape[:2]):
        out[sl] = (_relight8 if rgb.dtype == np.uint8 else _relight_float)(rgb[sl], new_l8[sl])
    return out


# OpenCV's conversion is right wherever the new colour fits the gamut (nearly always); where
# it clipped, converting its result back no longer gives the Lab colour we asked for. Those
# pixels (only) get the chroma bisection. Thresholds: summed |dL|+|da|+|db| above what
# rounding alone produces (8-bit: measured <= 4 on natural photos).
_ROUND_TRIP_TOL_8 = 6
_ROUND_TRIP_TOL_F = np.float32(0.75)


def _relight8(rgb: np.ndarray, new_l8: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)  # 8-bit: L*255/100, a+128, b+128
    lab[..., 0] = new_l8
    out = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    error = cv2.absdiff(cv2.cvtColor(out, cv2.COLOR_RGB2Lab), lab).astype(np.int16)
    bad = (error[..., 0] + error[..., 1] + error[..., 2]) > _ROUND_TRIP_TOL_8
    if bad.any():
        sub = lab[bad].astype(np.float32)
        srgb = _fit_chroma(
            sub[:, 0] * np.float32(100.0 / 255.0), sub[:, 1] - 128.0, sub[:, 2] - 128.0
        )
        out[bad] = np.clip(srgb * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out


def _relight_float(rgb: np.ndarray, new_l8: np.ndarray) -> np.ndarray:
    lab = _lab(rgb)
    lab[..., 0] = new_l8.astype(np.float32) * np.float32(100.0 / 255.0)
    srgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    error = cv2.absdiff(cv2.cvtColor(srgb, cv2.COLOR_RGB2Lab), lab)
    bad = (error[..., 0] + error[..., 1] + error[..., 2]) > _ROUND_TRIP_TOL_F
    if bad.any():
        sub = lab[bad]
        srgb[bad] = _fit_chroma(sub[:, 0], sub[:, 1], sub[:, 2])
    return np.clip(srgb * np.float32(255.0) + np.float32(0.5), 0, 255).astype(np.uint8)


def render_color(
    rgb: np.ndarray, grey_chain: Callable[[np.ndarray], np.ndarray], identity: bool, invert: bool
) -> np.ndarray:
    """8-bit display of an RGB photo; ``grey_chain`` maps the L* code image to uint8 L*."""
    if identity:
        out = rgb.copy() if rgb.dtype == np.uint8 else cv2.convertScaleAbs(rgb, alpha=1.0 / 257.0)
    else:
        out = apply_lightness(rgb, grey_chain(lightness_code(rgb)))
    return cv2.bitwise_not(out) if invert else out
