"""Display filters: every control re-renders the view; presets; keep-for-next; reset."""

from __future__ import annotations

import numpy as np
import pytest

from tests.app.conftest import window_fixture  # noqa: F401


def _frame(window, kind=None):
    frames = window.canvas.image_item.frames
    frame = frames.get(kind) if kind else (frames.get("full") or frames.get("preview"))
    return None if frame is None else frame.array[:, :, 0].copy()


def _rendered_after(qtbot, window, action):
    """Run ``action`` and wait for the display to show a new picture."""
    with qtbot.waitSignal(window.display.frame_shown, timeout=5000):
        action()
    return _frame(window)


def test_gamma_slider_changes_the_picture_and_is_saved_for_the_image(qtbot, window):
    before = _frame(window)
    after = _rendered_after(qtbot, window, lambda: window.filters.gamma.spin.setValue(2.4))
    assert not np.array_equal(before, after)
    window.save_all()  # pending per-image settings are written now
    saved = window.project.filter_settings(window.annotations.image_id)
    assert saved["gamma"] == pytest.approx(2.4)


def test_window_width_narrows_contrast(qtbot, window):
    before = _frame(window)
    after = _rendered_after(qtbot, window, lambda: window.filters.window_width.spin.setValue(3000))

    # A narrow window saturates: more pixels at black or white than before.
    def extremes(a):
        return int(np.count_nonzero((a == 0) | (a == 255)))

    assert extremes(after) > extremes(before)


def test_invert_flips_the_picture(qtbot, window):
    before = _frame(window)
    after = _rendered_after(qtbot, window, lambda: window.filters.invert.setChecked(True))
    assert np.allclose(after.astype(int), 255 - before.astype(int), atol=2)


def test_slider_drag_renders_previews_then_full_resolution_when_released(qtbot, window):
    kinds = []
    window.display.frame_shown.connect(kinds.append)
    slider = window.filters.brightness.slider
    slider.setSliderDown(True)
    with qtbot.waitSignal(window.display.frame_shown, timeout=5000):
        slider.setValue(slider.value() + 100)
    assert kinds[-1] == "preview"
    slider.setSliderDown(False)
    qtbot.waitUntil(lambda: kinds and kinds[-1] == "full", timeout=5000)


def test_preset_applies_its_settings(qtbot, window):
    before = _frame(window)
    index = window.filters.preset.findData("bone")
    after = _rendered_after(qtbot, window, lambda: window.filters.preset.setCurrentIndex(index))
    assert window.display.settings.preset == "bone"
    assert window.display.settings.clahe
    assert not np.array_equal(before, after)


def test_clahe_checkbox_and_normalisation_change_the_view(qtbot, window):
    before = _frame(window)
    after = _rendered_after(qtbot, window, lambda: window.filters.clahe.setChecked(True))
    assert not np.array_equal(before, after)
    idx = window.filters.normalise.findData("minmax")
    _rendered_after(qtbot, window, lambda: window.filters.normalise.setCurrentIndex(idx))
    assert window.display.settings.normalise == "minmax"
    assert window.display.settings.window_center is None


def test_reset_returns_to_the_image_defaults(qtbot, window):
    default = window.display.settings
    _rendered_after(qtbot, window, lambda: window.filters.gamma.spin.setValue(3.0))
    _rendered_after(qtbot, window, window.filters.reset)
    assert window.display.settings == default


def test_keep_for_next_carries_settings_to_the_next_image(qtbot, window):
    _rendered_after(qtbot, window, lambda: window.filters.gamma.spin.setValue(2.0))
    window.filters.keep.setChecked(True)
    with qtbot.waitSignal(window.image_shown, timeout=5000):
        window.step_image(1)
    assert window.display.settings.gamma == pytest.approx(2.0)
    window.filters.keep.setChecked(False)
    with qtbot.waitSignal(window.image_shown, timeout=5000):
        window.step_image(1)
    assert window.display.settings.gamma == pytest.approx(1.0)


def test_saved_settings_come_back_when_the_image_is_reopened(qtbot, window):
    first = window.annotations.image_id
    _rendered_after(qtbot, window, lambda: window.filters.gamma.spin.setValue(1.7))
    with qtbot.waitSignal(window.image_shown, timeout=5000):
        window.step_image(1)
    with qtbot.waitSignal(window.image_shown, timeout=5000):
        window.images.select_image(first)
    assert window.display.settings.gamma == pytest.approx(1.7)


def test_histogram_marks_the_current_window(window):
    hist = window.filters.histogram
    assert hist.counts is not None
    assert hist.window_band is not None
    assert hist.window_band[1] == pytest.approx(window.display.settings.window_width, rel=1e-6)


def test_display_settings_are_saved_once_the_sliders_rest(qtbot, window):
    image_id = window.annotations.image_id
    _rendered_after(qtbot, window, lambda: window.filters.gamma.spin.setValue(1.3))
    qtbot.waitUntil(lambda: window.project.filter_settings(image_id) is not None, timeout=5000)
    assert window.project.filter_settings(image_id)["gamma"] == pytest.approx(1.3)
