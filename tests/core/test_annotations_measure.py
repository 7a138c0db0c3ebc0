"""Ruler lengths and box sizes in mm from the pixel spacing; px (said so) without it."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from core.annotations.measure import (
    Calibration,
    box_size,
    calibration_of,
    line_length,
    size_text,
)


def test_length_uses_column_spacing_across_and_row_spacing_down() -> None:
    # rows 0.2 mm apart (vertical step), columns 0.1 mm apart (horizontal step)
    cal = Calibration((0.2, 0.1), "PixelSpacing")
    assert line_length(0, 0, 100, 0, cal).value == pytest.approx(10.0)
    assert line_length(0, 0, 0, 100, cal).value == pytest.approx(20.0)
    diag = line_length(10, 20, 40, 60, cal)
    assert diag.unit == "mm"
    assert diag.value == pytest.approx(math.hypot(30 * 0.1, 40 * 0.2))
    assert diag.text() == f"{math.hypot(3.0, 8.0):.1f} mm"


def test_lengths_match_numpy_on_random_segments() -> None:
    rng = np.random.default_rng(3)
    pts = rng.uniform(0, 3000, size=(50, 4))
    cal = Calibration((0.143, 0.139), "PixelSpacing")
    expected = np.linalg.norm((pts[:, 2:] - pts[:, :2]) * np.array([0.139, 0.143]), axis=1)
    got = [line_length(*p, cal).value for p in pts]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_without_spacing_the_length_is_in_pixels_and_says_so() -> None:
    length = line_length(0, 0, 3, 4, Calibration())
    assert (length.value, length.unit) == (5.0, "px")
    assert length.text() == "5.0 px (no pixel spacing)"


def test_imager_spacing_is_labelled_at_the_detector() -> None:
    raw = SimpleNamespace(
        pixel_spacing=(0.15, 0.15), extra={"pixel_spacing_source": "ImagerPixelSpacing"}
    )
    cal = calibration_of(raw)
    assert cal.known and cal.source == "ImagerPixelSpacing"
    assert line_length(0, 0, 100, 0, cal).text() == "15.0 mm (at the detector)"


def test_box_size_in_mm_and_in_px() -> None:
    cal = Calibration((0.2, 0.1), "PixelSpacing")
    w, h = box_size(10, 10, 60, 35, cal)
    assert (w.value, h.value, w.unit) == (pytest.approx(5.0), pytest.approx(5.0), "mm")
    assert size_text(w, h) == "5.0 × 5.0 mm"
    pw, ph = box_size(10, 10, 60, 35, Calibration())
    assert size_text(pw, ph) == "50.0 × 25.0 px (no pixel spacing)"


@pytest.mark.parametrize("spacing", [None, (0.0, 0.1), (float("nan"), 0.1), (-1.0, 0.1)])
def test_missing_or_nonsense_spacing_is_unknown(spacing) -> None:  # type: ignore[no-untyped-def]
    assert not calibration_of(SimpleNamespace(pixel_spacing=spacing, extra={})).known
    assert not calibration_of(None).known
