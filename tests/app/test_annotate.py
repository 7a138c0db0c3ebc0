"""The annotator's core flow in the real main window (offscreen): boxes, labels, undo."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.app.conftest import drag, image_point, window_fixture  # noqa: F401


def _key(window, key, mods=Qt.KeyboardModifier.NoModifier):
    """A key press where the user's focus is (the canvas), shortcuts included."""
    window.activateWindow()
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, key, mods)


def _draw(window, x1, y1, x2, y2):
    _key(window, Qt.Key.Key_W)
    assert window.canvas.mode == "draw"
    drag(window.canvas.viewport(), image_point(window, x1, y1), image_point(window, x2, y2))


def _stored(window):
    return window.project.boxes(window.annotations.image_id)


def test_w_then_drag_saves_a_box_with_the_current_label(window):
    _draw(window, 20, 20, 80, 60)
    boxes = _stored(window)
    assert len(boxes) == 1
    assert boxes[0].label == "zipper"
    assert boxes[0].x1 == pytest.approx(20, abs=1)
    assert boxes[0].y2 == pytest.approx(60, abs=1)
    assert window.project.image(window.annotations.image_id).review_status == "in_progress"


def test_hotkey_picks_label_for_next_box_and_relabels_selected(window):
    _key(window, Qt.Key.Key_2)
    _draw(window, 20, 20, 80, 60)
    assert _stored(window)[0].label == "watch"
    _key(window, Qt.Key.Key_7)  # the new box is selected: relabel it
    assert _stored(window)[0].label == "key"


def test_dragging_a_box_moves_it_in_the_store(window):
    _draw(window, 20, 20, 80, 60)
    drag(window.canvas.viewport(), image_point(window, 50, 40), image_point(window, 90, 70))
    box = _stored(window)[0]
    assert box.x1 == pytest.approx(60, abs=1.5)
    assert box.y1 == pytest.approx(50, abs=1.5)


def test_box_dragged_outside_the_image_is_clamped_not_lost(window):
    _draw(window, 20, 20, 80, 60)
    drag(window.canvas.viewport(), image_point(window, 50, 40), image_point(window, 400, 300))
    box = _stored(window)[0]
    assert box.x2 == pytest.approx(240)
    assert box.y2 == pytest.approx(180)
    assert box.width == pytest.approx(60, abs=1)


def test_resize_handle_changes_the_stored_box(window):
    _draw(window, 20, 20, 80, 60)
    drag(window.canvas.viewport(), image_point(window, 80, 60), image_point(window, 120, 100))
    box = _stored(window)[0]
    assert (box.x1, box.y1) == (pytest.approx(20, abs=1), pytest.approx(20, abs=1))
    assert box.x2 == pytest.approx(120, abs=1.5)


def test_arrow_nudge_is_saved(qtbot, window):
    _draw(window, 20, 20, 80, 60)
    before = _stored(window)[0]
    _key(window, Qt.Key.Key_Right)
    _key(window, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: _stored(window)[0].x1 != before.x1, timeout=3000)
    box = _stored(window)[0]
    assert box.x1 == pytest.approx(before.x1 + 1)
    assert box.y1 == pytest.approx(before.y1 + 10)


def test_delete_then_undo_and_redo(window):
    _draw(window, 20, 20, 80, 60)
    _key(window, Qt.Key.Key_Delete)
    assert _stored(window) == []
    _key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(_stored(window)) == 1
    assert len(window.canvas.items_by_id) == 1, "the canvas shows what the store holds"
    _key(
        window,
        Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert _stored(window) == []


def test_ctrl_d_duplicates_the_selected_box_beside_it(window):
    _draw(window, 20, 20, 80, 60)
    _key(window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    boxes = sorted(_stored(window), key=lambda b: b.id)
    assert len(boxes) == 2
    assert boxes[1].x1 == pytest.approx(boxes[0].x1 + 10)
    assert boxes[1].label == boxes[0].label


def test_difficult_and_truncated_toggles(window):
    _draw(window, 20, 20, 80, 60)
    mods = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    _key(window, Qt.Key.Key_D, mods)
    _key(window, Qt.Key.Key_T, mods)
    box = _stored(window)[0]
    assert box.difficult and box.truncated


def test_copy_boxes_of_the_previous_image(qtbot, window):
    _draw(window, 20, 20, 80, 60)
    with qtbot.waitSignal(window.image_shown, timeout=5000):
        _key(window, Qt.Key.Key_D)
    assert _stored(window) == []
    _key(
        window,
        Qt.Key.Key_V,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert len(_stored(window)) == 1


def test_undo_after_moving_on_goes_back_to_the_edited_image(qtbot, window):
    first = window.annotations.image_id
    _draw(window, 20, 20, 80, 60)
    with qtbot.waitSignal(window.image_shown, timeout=5000):
        _key(window, Qt.Key.Key_D)
    assert window.annotations.image_id != first
    with qtbot.waitSignal(window.image_shown, timeout=5000):
        _key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.annotations.image_id == first
    assert window.project.boxes(first) == []


def test_ctrl_s_says_everything_is_saved(window):
    _key(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert "saved" in window.statusBar().currentMessage()


def test_f1_opens_the_cheat_sheet(window, monkeypatch):
    from app.dialogs import shortcuts

    opened = []
    monkeypatch.setattr(shortcuts.ShortcutsDialog, "exec", lambda self: opened.append(self) or 0)
    _key(window, Qt.Key.Key_F1)
    assert opened and "Duplicate" in opened[0].text.toPlainText()


def test_status_bar_shows_coordinates_and_stored_value(window):
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    pos = QPointF(image_point(window, 70.5, 50.5))  # inside the bright square (60..120, 45..90)
    ev = QMouseEvent(
        QEvent.Type.MouseMove,
        pos,
        pos,
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window.canvas.viewport(), ev)
    text = window.pixel_label.text()
    assert "x 70, y 50" in text
    assert "stored 50000" in text
    assert "%" in window.zoom_label.text()
    assert "16-bit" in window.info_label.text()


def test_redo_after_moving_on_goes_back_to_the_image_it_changes(qtbot, window):
    first = window.annotations.image_id
    _draw(window, 20, 20, 80, 60)
    window.annotations.undo()
    assert window.project.boxes(first) == []
    with qtbot.waitSignal(window.image_shown, timeout=5000):
        _key(window, Qt.Key.Key_D)
    with qtbot.waitSignal(window.image_shown, timeout=5000):
        _key(
            window,
            Qt.Key.Key_Z,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        )
    assert window.annotations.image_id == first
    assert len(window.project.boxes(first)) == 1
