"""Arrow-key nudges are stored at every press, and a run of them undoes as one step.

They used to be saved only once the keys had rested for 300 ms: a process killed in that
time lost a move the window already showed. Now each press is one transaction; History
joins the presses of one run (the canvas's NUDGE_RUN_MS) into one undo step.
"""

from __future__ import annotations

import sqlite3

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.canvas.canvas import NUDGE_RUN_MS
from core.store.opening import DB_NAME
from tests.app.conftest import drag, image_point, window_fixture  # noqa: F401


def _key(window, key, mods=Qt.KeyboardModifier.NoModifier):
    window.activateWindow()
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, key, mods)


def _draw_box(window):
    """W + drag: a new box, selected (so the arrows nudge it); returns its stored copy."""
    _key(window, Qt.Key.Key_W)
    drag(window.canvas.viewport(), image_point(window, 20, 20), image_point(window, 80, 60))
    (box,) = window.project.boxes(window.annotations.image_id)
    assert window.canvas.selected_id == box.id
    return box


def _committed_x1(window, box_id: int) -> float:
    """x1 as another connection reads it: only what is committed (what survives a kill)."""
    path = window.project.folder / DB_NAME
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return float(conn.execute("SELECT x1 FROM boxes WHERE id = ?", (box_id,)).fetchone()[0])
    finally:
        conn.close()


def test_a_nudge_is_committed_before_any_timer_fires(window):
    box = _draw_box(window)
    _key(window, Qt.Key.Key_Right)
    # No event loop has run since the press: no timer can have fired yet.
    assert window.canvas._nudge_timer.isActive()
    assert _committed_x1(window, box.id) == pytest.approx(box.x1 + 1)
    _key(window, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert _committed_x1(window, box.id) == pytest.approx(box.x1 + 11)
    assert window.canvas.box_rect(box.id).left() == pytest.approx(box.x1 + 11)


def test_three_presses_then_one_undo_restore_the_original(window):
    box = _draw_box(window)
    steps = window.annotations.history.undo_count
    for key in (Qt.Key.Key_Right, Qt.Key.Key_Right, Qt.Key.Key_Down):
        _key(window, key)
    moved = window.project.box(box.id)
    assert (moved.x1, moved.y1) == (pytest.approx(box.x1 + 2), pytest.approx(box.y1 + 1))
    assert window.annotations.history.undo_count == steps + 1, "one run, one undo step"
    _key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    back = window.project.box(box.id)
    assert (back.x1, back.y1, back.x2, back.y2) == (box.x1, box.y1, box.x2, box.y2)
    assert window.canvas.box_rect(box.id).left() == pytest.approx(box.x1)
    assert window.annotations.history.undo_text == "add box"


def test_a_pause_longer_than_the_run_interval_makes_two_undo_steps(qtbot, window):
    box = _draw_box(window)
    _key(window, Qt.Key.Key_Right)
    qtbot.wait(NUDGE_RUN_MS + 200)
    _key(window, Qt.Key.Key_Right)
    assert window.project.box(box.id).x1 == pytest.approx(box.x1 + 2)
    _key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.project.box(box.id).x1 == pytest.approx(box.x1 + 1)
    _key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.project.box(box.id).x1 == pytest.approx(box.x1)


def test_a_click_between_presses_ends_the_run(window):
    box = _draw_box(window)
    _key(window, Qt.Key.Key_Left)
    QTest.mouseClick(
        window.canvas.viewport(), Qt.MouseButton.LeftButton, pos=image_point(window, 50, 40)
    )
    assert window.canvas.selected_id == box.id
    _key(window, Qt.Key.Key_Left)
    _key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.project.box(box.id).x1 == pytest.approx(box.x1 - 1)


def test_a_nudge_against_the_border_saves_nothing(window):
    box = _draw_box(window)
    for _ in range(3):  # 30 px left of x1 ~ 20: at the border
        _key(window, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    steps = window.annotations.history.undo_count
    events = len(window.project.audit_events(limit=1000))
    _key(window, Qt.Key.Key_Left)
    assert window.project.box(box.id).x1 == 0
    assert len(window.project.audit_events(limit=1000)) == events
    assert window.annotations.history.undo_count == steps


def test_a_held_key_is_one_step_even_across_the_auto_repeat_delay(qtbot, window):
    """The system waits 250-700 ms before repeating a held key: longer than the run interval,
    yet the repeats still belong to the first press's run."""
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QKeyEvent
    from PySide6.QtWidgets import QApplication

    box = _draw_box(window)
    _key(window, Qt.Key.Key_Down)  # the press
    qtbot.wait(NUDGE_RUN_MS + 200)  # the auto-repeat delay
    for _ in range(3):  # auto-repeats come as release + press pairs, both flagged
        for kind in (QEvent.Type.KeyRelease, QEvent.Type.KeyPress):
            event = QKeyEvent(kind, Qt.Key.Key_Down, Qt.KeyboardModifier.NoModifier, "", True)
            QApplication.sendEvent(window.canvas, event)
    assert window.project.box(box.id).y1 == pytest.approx(box.y1 + 4)
    _key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.project.box(box.id).y1 == pytest.approx(box.y1)
