"""Grades, review status and navigation in the main window."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.app.conftest import window_fixture  # noqa: F401


def _key(window, key, mods=Qt.KeyboardModifier.NoModifier):
    window.activateWindow()
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, key, mods)


def _grades(window):
    return {g.scale: g.value for g in window.project.grades(window.annotations.image_id)}


def _status(window):
    return window.project.image(window.annotations.image_id).review_status


def test_one_click_sets_a_grade_and_a_second_click_clears_it(window):
    row = window.grades.rows["acne4"]
    row.buttons[2.0].click()
    assert _grades(window) == {"acne4": 2.0}
    assert row.buttons[2.0].isChecked()
    row.buttons[2.0].click()
    assert _grades(window) == {}


def test_alt_digit_grades_the_marked_scale(window):
    _key(window, Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)
    assert _grades(window) == {"acne4": 3.0}


def test_space_refuses_done_without_required_grade_and_says_why(window):
    _key(window, Qt.Key.Key_Space)
    assert _status(window) != "done"
    assert window.grades.message.isVisible()
    assert "grade" in window.grades.message.text().lower()
    assert "Acne" in window.statusBar().currentMessage()


def test_space_marks_done_once_graded_and_again_reopens(window):
    window.grades.rows["acne4"].buttons[1.0].click()
    _key(window, Qt.Key.Key_Space)
    assert _status(window) == "done"
    assert not window.grades.message.isVisible()
    _key(window, Qt.Key.Key_Space)
    assert _status(window) == "in_progress"


def test_undo_reverts_mark_done(window):
    window.grades.rows["acne4"].buttons[1.0].click()
    _key(window, Qt.Key.Key_Space)
    _key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _status(window) != "done"


def test_a_and_d_navigate_and_stop_at_the_ends(qtbot, window):
    ids = window.project.image_ids()
    assert window.annotations.image_id == ids[0]
    with qtbot.waitSignal(window.image_shown, timeout=5000):
        _key(window, Qt.Key.Key_D)
    assert window.annotations.image_id == ids[1]
    with qtbot.waitSignal(window.image_shown, timeout=5000):
        _key(window, Qt.Key.Key_A)
    assert window.annotations.image_id == ids[0]
    _key(window, Qt.Key.Key_A)
    assert "first image" in window.statusBar().currentMessage()


def test_list_row_shows_status_boxes_and_grade(window):
    from app.docks.image_list_model import SummaryRole

    window.grades.rows["acne4"].buttons[2.0].click()
    idx = window.images.model.index(0)
    assert "acne4 2" in idx.data(SummaryRole)
    assert "in progress" in idx.data(SummaryRole)


def test_clicking_a_row_opens_that_image(qtbot, window):
    ids = window.project.image_ids()
    with qtbot.waitSignal(window.image_shown, timeout=5000):
        window.images.select_row(2)
    assert window.annotations.image_id == ids[2]
