"""Colour photos: contrast operations act on lightness only, so hues stay true."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.filters import PRESETS, FilterSettings, histogram, render
from core.imaging.raw import RawImage


def photo(dtype: type = np.uint8, n: int = 240) -> np.ndarray:
    """Shaded background with three saturated patches (skin, red lesion, blue), RGB."""
    top = 255 if dtype == np.uint8 else 65535
    y, x = np.mgrid[0:n, 0:n] / n
    shade = 0.35 + 0.4 * x + 0.1 * np.sin(8 * y)
    img = np.stack([shade * 0.9, shade * 0.8, shade * 0.7], axis=-1)
    img[40:100, 40:100] = (0.85, 0.62, 0.50)  # skin
    img[140:200, 40:100] = (0.70, 0.15, 0.15)  # red lesion
    img[140:200, 140:200] = (0.15, 0.25, 0.75)  # blue
    rng = np.random.default_rng(1)
    img = np.clip(img + rng.normal(0, 0.01, img.shape), 0, 1)
    return np.floor(img * top + 0.5).astype(dtype)


def as_raw(rgb: np.ndarray) -> RawImage:
    return RawImage(
        pixels=rgb, source_format="png", bits_stored=8 * rgb.itemsize, photometric="RGB"
    )


def hue_chroma(rgb8: np.ndarray) -> tuple[float, float]:
    """Lab hue angle (degrees) and chroma of the mean colour of a patch (float Lab)."""
    f = np.ascontiguousarray(rgb8).astype(np.float32) / 255.0
    lab = cv2.cvtColor(f, cv2.COLOR_RGB2Lab)
    a, b = float(lab[..., 1].mean()), float(lab[..., 2].mean())
    return float(np.degrees(np.arctan2(b, a))), float(np.hypot(a, b))


PATCHES = {
    "skin": np.s_[50:90, 50:90],
    "red": np.s_[150:190, 50:90],
    "blue": np.s_[150:190, 150:190],
}


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize(
    "settings",
    [
        FilterSettings(clahe=True, clahe_clip=3.0),
        FilterSettings(contrast=1.6, brightness=0.1),
        FilterSettings(gamma=1.8),
        PRESETS["face_photo"],
        FilterSettings(normalise="percentile", norm_low_pct=2, norm_high_pct=98),
    ],
)
def test_hue_of_coloured_patches_is_kept(dtype: type, settings: FilterSettings) -> None:
    rgb = photo(dtype)
    out = render(as_raw(rgb), settings)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    ref8 = rgb if dtype == np.uint8 else (rgb // 257).astype(np.uint8)
    checked = 0
    for name, sl in PATCHES.items():
        (before, _), (after, chroma) = hue_chroma(ref8[sl]), hue_chroma(out[sl])
        if chroma < 8:  # pushed to white or black: no hue left to keep
            continue
        checked += 1
        diff = abs((after - before + 180) % 360 - 180)
        assert diff < 3.0, f"{name}: hue {before:.1f} -> {after:.1f}"
    assert checked >= 2
    # and the operation did something to the lightness
    assert np.abs(out.astype(int) - ref8.astype(int)).mean() > 1


def test_identity_settings_return_the_photo_unchanged_as_a_copy() -> None:
    rgb = photo()
    out = render(as_raw(rgb), FilterSettings())
    np.testing.assert_array_equal(out, rgb)
    assert not np.shares_memory(out, rgb)


def test_16_bit_photo_identity_is_scaled_to_8_bits() -> None:
    rgb = photo(np.uint16)
    out = render(as_raw(rgb), FilterSettings())
    assert np.abs(out.astype(int) - rgb.astype(int) / 257.0).max() <= 1


def test_invert_makes_a_colour_negative() -> None:
    rgb = photo()
    out = render(as_raw(rgb), FilterSettings(invert=True))
    np.testing.assert_array_equal(out, 255 - rgb)


def test_colour_preview_respects_size_and_leaves_input_alone() -> None:
    rgb = photo()
    before = rgb.copy()
    out = render(as_raw(rgb), PRESETS["face_photo"], out_size=60)
    assert out.shape == (60, 60, 3)
    np.testing.assert_array_equal(rgb, before)


def test_rgba_alpha_is_ignored() -> None:
    rgb = photo()
    rgba = np.concatenate([rgb, np.full((*rgb.shape[:2], 1), 128, np.uint8)], axis=-1)
    out = render(as_raw(rgba), FilterSettings())
    np.testing.assert_array_equal(out, rgb)


def test_colour_histogram_is_on_lightness() -> None:
    counts, edges = histogram(as_raw(photo()), bins=32)
    assert counts.sum() > 0 and edges[0] >= 0 and edges[-1] <= 255
