"""Canvas gestures: draw, select, move, resize, nudge, clamp, zoom, pan, Space tap."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRectF, Qt
from PySide6.QtTest import QTest

from app.canvas import BoxView, Canvas
from tests.app.conftest import drag, gray_frame


@pytest.fixture
def canvas(qtbot):
    c = Canvas()
    qtbot.addWidget(c)
    c.resize(600, 600)
    c.show()
    qtbot.waitExposed(c)
    c.set_image(200, 100, gray_frame(200, 100))
    return c


def _vp(canvas: Canvas, x: float, y: float) -> QPoint:
    return canvas.map_image_to_view(x, y)


def _with_box(canvas: Canvas, rect: QRectF | None = None, box_id: int = 7) -> None:
    rect = rect if rect is not None else QRectF(50, 20, 40, 30)
    canvas.set_boxes([BoxView(id=box_id, rect=rect, label="zipper", color="#e6194b")])


def test_draw_mode_drag_emits_new_box_in_image_coordinates(qtbot, canvas):
    canvas.set_mode("draw")
    with qtbot.waitSignal(canvas.box_drawn, timeout=2000) as blocker:
        drag(canvas.viewport(), _vp(canvas, 10, 10), _vp(canvas, 60, 40))
    rect: QRectF = blocker.args[0]
    assert rect.left() == pytest.approx(10, abs=1.0)
    assert rect.bottom() == pytest.approx(40, abs=1.0)
    assert canvas.mode == "edit", "W draws one box, then the canvas returns to editing"


def test_drawing_past_the_border_is_clamped_to_the_image(qtbot, canvas):
    canvas.set_mode("draw")
    with qtbot.waitSignal(canvas.box_drawn, timeout=2000) as blocker:
        drag(canvas.viewport(), _vp(canvas, 150, 50), _vp(canvas, 260, 140))
    rect: QRectF = blocker.args[0]
    assert rect.right() == pytest.approx(200)
    assert rect.bottom() == pytest.approx(100)


def test_a_click_in_draw_mode_makes_no_box(qtbot, canvas):
    canvas.set_mode("draw")
    with qtbot.assertNotEmitted(canvas.box_drawn):
        drag(canvas.viewport(), _vp(canvas, 10, 10), _vp(canvas, 10.2, 10.2))


def test_click_selects_the_box_under_the_pointer(qtbot, canvas):
    _with_box(canvas)
    with qtbot.waitSignal(canvas.selection_changed) as blocker:
        QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=_vp(canvas, 70, 35))
    assert blocker.args == [7]
    assert canvas.items_by_id[7].is_selected()


def test_dragging_a_box_moves_it_and_keeps_it_inside_the_image(qtbot, canvas):
    _with_box(canvas)
    with qtbot.waitSignal(canvas.box_changed, timeout=2000) as blocker:
        drag(canvas.viewport(), _vp(canvas, 70, 35), _vp(canvas, 300, 35))
    box_id, rect = blocker.args
    assert box_id == 7
    assert rect.right() == pytest.approx(200)
    assert rect.width() == pytest.approx(40)


def test_dragging_a_corner_handle_resizes(qtbot, canvas):
    _with_box(canvas)
    canvas.select_box(7)
    with qtbot.waitSignal(canvas.box_changed, timeout=2000) as blocker:
        drag(canvas.viewport(), _vp(canvas, 90, 50), _vp(canvas, 120, 80))
    rect = blocker.args[1]
    assert rect.left() == pytest.approx(50)
    assert rect.right() == pytest.approx(120, abs=1.0)
    assert rect.bottom() == pytest.approx(80, abs=1.0)


def test_arrow_keys_nudge_emit_every_press_at_once_with_one_run_number(qtbot, canvas):
    _with_box(canvas)
    canvas.select_box(7)
    canvas.setFocus()
    nudges = []
    canvas.box_nudged.connect(lambda i, r, run: nudges.append((i, r, run)))
    QTest.keyClick(canvas, Qt.Key.Key_Right)
    QTest.keyClick(canvas, Qt.Key.Key_Right)
    QTest.keyClick(canvas, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    assert len(nudges) == 3, "no timer: each press is emitted (and saved) at once"
    assert len({run for _, _, run in nudges}) == 1, "presses close together form one run"
    box_id, rect, _ = nudges[-1]
    assert box_id == 7
    assert rect.topLeft().x() == pytest.approx(52)
    assert rect.topLeft().y() == pytest.approx(30)


def test_nudge_stops_at_the_image_border(qtbot, canvas):
    _with_box(canvas, QRectF(0.5, 0.5, 10, 10))
    canvas.select_box(7)
    canvas.nudge(-5, -5)
    canvas.flush_nudge()
    assert canvas.box_rect(7).topLeft().x() == pytest.approx(0)


def test_wheel_zooms_around_the_cursor(qtbot, canvas):
    before_zoom = canvas.zoom
    anchor = _vp(canvas, 150, 75)
    canvas.zoom_by(2.0, anchor)
    assert canvas.zoom == pytest.approx(before_zoom * 2)
    after = canvas.mapToScene(anchor)
    assert after.x() == pytest.approx(150, abs=0.5)
    assert after.y() == pytest.approx(75, abs=0.5)


def test_one_to_one_shows_one_image_pixel_per_device_pixel(qtbot, canvas):
    canvas.one_to_one()
    assert canvas.zoom == pytest.approx(1.0)
    canvas.fit()
    assert canvas.zoom != pytest.approx(1.0)


def test_middle_button_drag_pans_without_touching_boxes(qtbot, canvas):
    _with_box(canvas)
    canvas.zoom_by(4.0)
    before = canvas.mapToScene(canvas.viewport().rect().center())
    with qtbot.assertNotEmitted(canvas.box_changed):
        drag(canvas.viewport(), QPoint(300, 300), QPoint(200, 250), Qt.MouseButton.MiddleButton)
    after = canvas.mapToScene(canvas.viewport().rect().center())
    assert after.x() > before.x()


def test_space_tap_without_drag_is_reported(qtbot, canvas):
    canvas.setFocus()
    with qtbot.waitSignal(canvas.space_tapped, timeout=2000):
        QTest.keyClick(canvas, Qt.Key.Key_Space)


def test_space_drag_pans_and_is_not_a_tap(qtbot, canvas):
    canvas.zoom_by(4.0)
    canvas.setFocus()
    before = canvas.horizontalScrollBar().value()
    with qtbot.assertNotEmitted(canvas.space_tapped):
        QTest.keyPress(canvas, Qt.Key.Key_Space)
        drag(canvas.viewport(), QPoint(300, 300), QPoint(250, 300))
        QTest.keyRelease(canvas, Qt.Key.Key_Space)
    assert canvas.horizontalScrollBar().value() != before


def test_escape_cancels_a_move_and_restores_the_box(qtbot, canvas):
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    from tests.app.conftest import _mouse_event

    _with_box(canvas)
    vp = canvas.viewport()
    QApplication.sendEvent(
        vp,
        _mouse_event(
            QEvent.Type.MouseButtonPress,
            _vp(canvas, 70, 35),
            Qt.MouseButton.LeftButton,
            Qt.MouseButton.LeftButton,
        ),
    )
    QApplication.sendEvent(
        vp,
        _mouse_event(
            QEvent.Type.MouseMove,
            _vp(canvas, 100, 60),
            Qt.MouseButton.NoButton,
            Qt.MouseButton.LeftButton,
        ),
    )
    QTest.keyClick(canvas, Qt.Key.Key_Escape)
    assert canvas.box_rect(7) == QRectF(50, 20, 40, 30)


def test_read_only_canvas_selects_but_never_moves(qtbot, canvas):
    _with_box(canvas)
    canvas.read_only = True
    with qtbot.assertNotEmitted(canvas.box_changed):
        drag(canvas.viewport(), _vp(canvas, 70, 35), _vp(canvas, 120, 60))
    assert canvas.selected_id == 7
    canvas.set_mode("draw")
    assert canvas.mode == "edit"
