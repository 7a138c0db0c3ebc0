"""The window/level drag's arithmetic: direction, sensitivity and clamps."""

from __future__ import annotations

import pytest

from app.canvas.window_drag import PIXELS_PER_RANGE, WindowStart, dragged_window


def test_right_widens_and_down_raises_the_level_by_the_range_per_512_px() -> None:
    start = WindowStart(center=2000.0, width=1000.0, span=4096.0)
    c, w = dragged_window(start, PIXELS_PER_RANGE, 0)
    assert (c, w) == pytest.approx((2000.0, 1000.0 + 4096.0))
    c, w = dragged_window(start, 0, 128)
    assert (c, w) == pytest.approx((2000.0 + 1024.0, 1000.0))


def test_the_width_never_reaches_zero() -> None:
    _c, w = dragged_window(WindowStart(100.0, 50.0, 255.0), -10_000, 0)
    assert w > 0


def test_on_colour_photos_the_drag_is_contrast_and_brightness_within_range() -> None:
    start = WindowStart(center=0.0, width=1.0, span=1.0, colour=True)
    b, c = dragged_window(start, 256, -256)  # right: more contrast; up: brighter
    assert c == pytest.approx(2.0) and b == pytest.approx(0.5)
    b, c = dragged_window(start, 10_000, 10_000)
    assert c == 5.0 and b == -1.0
