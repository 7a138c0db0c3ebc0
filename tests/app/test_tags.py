"""Lesion-type tags in the real main window: filled from the boxes, a click is the
grader's choice (saved, undoable), "Use boxes" goes back; an X-ray project shows none."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.app.conftest import drag, image_point, window_fixture, write_xray  # noqa: F401


@pytest.fixture
def acne_window(qtbot, tmp_path):  # type: ignore[no-untyped-def]
    from app.main_window import MainWindow
    from core.annotations import builtin_label_set, builtin_scale
    from core.project_io import import_images
    from core.store import Project

    folder = tmp_path / "derm"
    project = Project.create(
        folder,
        label_set=builtin_label_set("acne"),
        scales=[dataclasses.replace(builtin_scale("acne4"), required=False)],
        author="tester",
    )
    import_images(project, [write_xray(folder / "images" / f"f{i}.png", seed=i) for i in (1, 2)])
    project.close()
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    with qtbot.waitSignal(w.image_shown, timeout=10000):
        assert w.open_project(folder)
    yield w
    import shiboken6

    if shiboken6.isValid(w):
        w.close()


def _row(w):  # type: ignore[no-untyped-def]
    return w.grades.tag_rows["lesion_types"]


def _stored(w):  # type: ignore[no-untyped-def]
    t = w.project.tags.get(w.annotations.image_id, "lesion_types")
    return t.tags, t.source


def test_tags_follow_the_boxes_and_a_click_wins(acne_window) -> None:  # type: ignore[no-untyped-def]
    w = acne_window
    row = _row(w)
    assert row.source_label.text() == "From the boxes: none" and not row.reset_button.isVisible()
    w.activateWindow()
    w.canvas.setFocus()
    QTest.keyClick(w.canvas, Qt.Key.Key_3)  # papule
    QTest.keyClick(w.canvas, Qt.Key.Key_W)
    drag(w.canvas.viewport(), image_point(w, 20, 20), image_point(w, 80, 60))
    assert w.project.boxes(w.annotations.image_id)[0].label == "papule"
    assert row.buttons["papule"].isChecked() and "From the boxes: papule" in row.source_label.text()
    row.buttons["nodule"].click()
    assert _stored(w) == (("papule", "nodule"), "human")
    assert row.buttons["nodule"].isChecked() and row.reset_button.isVisible()
    assert row.source_label.text() == "Your choice: papule, nodule (boxes say: papule)"
    row.buttons["papule"].click()  # the grader says: no papule after all
    assert _stored(w) == (("nodule",), "human") and not row.buttons["papule"].isChecked()
    w.annotations.undo()
    assert _stored(w) == (("papule", "nodule"), "human")
    row.reset_button.click()
    assert _stored(w) == (("papule",), "auto") and not row.buttons["nodule"].isChecked()


def test_an_xray_project_has_no_tag_row(window) -> None:  # type: ignore[no-untyped-def]
    assert window.grades.tag_rows == {}
