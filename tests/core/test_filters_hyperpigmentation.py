"""The hyperpigmentation ROI map: V (HSV) minus grayscale, thresholded; pixels untouched."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from core.filters.hyperpigmentation import DEFAULT_THRESHOLD, difference_map, pigment_map


def _photo(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(40, 50, 3), dtype=np.uint8)


def test_float_photos_use_the_exact_bt601_luma() -> None:
    rgb = _photo(6).astype(np.float32) / 255
    exact = rgb.max(axis=2) - (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2])
    np.testing.assert_allclose(difference_map(rgb), np.clip(exact, 0, 1), atol=1e-6)
    # and the integer path is within half a grey level of it
    np.testing.assert_allclose(difference_map(_photo(6)), np.clip(exact, 0, 1), atol=0.51 / 255)


def test_difference_is_opencv_hsv_value_minus_opencv_gray() -> None:
    rgb = _photo()
    value = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV_FULL)[..., 2].astype(np.float32) / 255
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    # OpenCV rounds its gray to whole levels: agree within half a level.
    np.testing.assert_allclose(difference_map(rgb), np.clip(value - gray, 0, 1), atol=0.6 / 255)


def test_mask_is_the_difference_above_the_threshold_default_0_165() -> None:
    rgb = _photo(1)
    m = pigment_map(rgb)
    assert m.threshold == DEFAULT_THRESHOLD == 0.165
    np.testing.assert_array_equal(m.mask, difference_map(rgb) > 0.165)
    assert 0.0 < m.coverage < 1.0


def test_neutral_grey_is_never_in_the_map_and_saturated_patches_are() -> None:
    rgb = np.full((20, 20, 3), 128, np.uint8)
    rgb[5:10, 5:10] = (150, 60, 30)  # a brown-red patch: V 0.59, gray 0.36
    m = pigment_map(rgb)
    assert m.mask[5:10, 5:10].all()
    assert m.mask.sum() == 25


def test_a_higher_threshold_never_adds_pixels() -> None:
    rgb = _photo(2)
    masks = [pigment_map(rgb, t).mask for t in (0.05, 0.1, 0.165, 0.3, 0.6)]
    for low, high in itertools.pairwise(masks):
        assert not (high & ~low).any()


def test_sixteen_bit_photo_matches_its_eight_bit_version() -> None:
    rgb8 = _photo(4)
    rgb16 = rgb8.astype(np.uint16) * 257
    # each rounds its grayscale to its own whole levels: within one 8-bit level
    np.testing.assert_allclose(
        difference_map(rgb16, bits_stored=16), difference_map(rgb8), atol=1.0 / 255
    )


def test_the_stored_pixels_are_never_changed() -> None:
    rgb = _photo(5)
    before = rgb.copy()
    pigment_map(rgb, 0.2)
    np.testing.assert_array_equal(rgb, before)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        pigment_map(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError):
        pigment_map(_photo(), threshold=1.5)
