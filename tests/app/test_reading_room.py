"""Reading-room tools on the real window (offscreen): mouse window/level, the ruler, the
Boxes panel, the hyperpigmentation overlay and the DICOM tags viewer."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from tests.app.conftest import drag, image_point

SPACING = 0.25  # mm, the phantom's PixelSpacing in these tests


@pytest.fixture(name="rr_window")
def rr_window_fixture(qtbot, tmp_path):  # type: ignore[no-untyped-def]
    """A window on a project with a DICOM phantom (spacing known, patient tags set) and
    the demo face photo."""
    import dataclasses

    from pydicom import dcmread

    from app.main_window import MainWindow
    from core.annotations import Box, builtin_label_set
    from core.demo import face_photo_path, generate_phantom, write_dicom
    from core.project_io import import_images
    from core.store import Project

    folder = tmp_path / "proj"
    phantom = dataclasses.replace(generate_phantom(3, 200, 160), pixel_spacing=(SPACING, SPACING))
    dcm = write_dicom(folder / "images" / "a.dcm", phantom)
    ds = dcmread(dcm)
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = "Secret^Jane", "SECRETID", "19700101"
    ds.save_as(dcm)
    face = folder / "images" / "b_face.jpg"
    shutil.copy(face_photo_path(), face)
    project = Project.create(folder, label_set=builtin_label_set("xray"), scales=[], name="rr")
    import_images(project, [dcm, face])
    first = project.image_ids()[0]
    project.add_box(first, Box(20, 30, 60, 50, label="watch"))
    project.add_box(first, Box(100, 80, 140, 120, label="key"))
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


def _right_drag(window, dx: int, dy: int) -> None:  # type: ignore[no-untyped-def]
    vp = window.canvas.viewport()
    c = vp.rect().center()
    drag(vp, c, QPoint(c.x() + dx, c.y() + dy), button=Qt.MouseButton.RightButton, steps=4)


def test_right_drag_changes_window_and_level_and_double_click_resets(qtbot, rr_window):
    w = rr_window
    from core.filters import resolve_window

    c0, w0 = resolve_window(w.display.raw, w.display.settings)
    flags: list[bool] = []
    w.filters.settings_changed.connect(lambda _s, interactive: flags.append(interactive))
    with qtbot.waitSignal(w.display.frame_shown, timeout=5000):
        _right_drag(w, 120, 0)  # right: wider window, same level
    # previews at the view's size while the mouse moves, then one full render
    assert flags[:-1] and all(flags[:-1]) and flags[-1] is False
    c1, w1 = resolve_window(w.display.raw, w.display.settings)
    assert w1 > w0 and c1 == pytest.approx(c0)
    assert "W " in w.filters.window_info.text() and f"{w1:.6g}" in w.filters.window_info.text()
    _right_drag(w, 0, 80)  # down: higher level
    c2, w2 = resolve_window(w.display.raw, w.display.settings)
    assert c2 > c1 and w2 == pytest.approx(w1)
    w.save_all()
    saved = w.project.filter_settings(w.annotations.image_id)
    assert saved["window_center"] == pytest.approx(c2)  # saved like a slider move
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    from tests.app.conftest import _mouse_event

    vp = w.canvas.viewport()
    QApplication.sendEvent(
        vp,
        _mouse_event(
            QEvent.Type.MouseButtonDblClick,
            vp.rect().center(),
            Qt.MouseButton.RightButton,
            Qt.MouseButton.RightButton,
        ),
    )
    assert resolve_window(w.display.raw, w.display.settings) == pytest.approx((c0, w0))


def test_the_value_shows_while_dragging(qtbot, rr_window):
    w = rr_window
    vp = w.canvas.viewport()
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    from tests.app.conftest import _mouse_event

    c = vp.rect().center()
    right = Qt.MouseButton.RightButton
    QApplication.sendEvent(vp, _mouse_event(QEvent.Type.MouseButtonPress, c, right, right))
    QApplication.sendEvent(
        vp, _mouse_event(QEvent.Type.MouseMove, c + QPoint(40, 0), Qt.MouseButton.NoButton, right)
    )
    overlay = w.reading_room.wl.overlay
    assert overlay.isVisible() and overlay.text().startswith("W ")
    assert w.statusBar().currentMessage() == overlay.text()
    assert w.display.settings is not None
    QApplication.sendEvent(
        vp, _mouse_event(QEvent.Type.MouseButtonRelease, c, right, Qt.MouseButton.NoButton)
    )
    assert not overlay.isVisible()


def test_ruler_measures_in_mm_with_pixel_spacing(qtbot, rr_window):
    w = rr_window
    w.actions_["ruler"].trigger()
    assert w.reading_room.ruler.active and w.actions_["ruler"].isChecked()
    a, b = image_point(w, 20, 40), image_point(w, 180, 40)
    drag(w.canvas.viewport(), a, b)
    length = w.reading_room.ruler.length
    assert length.unit == "mm"
    # 160 px * 0.25 mm, within the pixel grid the mouse lands on
    assert length.value == pytest.approx(160 * SPACING, abs=2 * SPACING * 200 / 150)
    assert "mm" in w.statusBar().currentMessage()
    assert len(w.project.boxes(w.annotations.image_id)) == 2  # measuring drew no box
    w.canvas.set_mode("draw")  # W ends the ruler
    assert not w.reading_room.ruler.active


def test_ruler_says_px_without_spacing_on_the_photo(qtbot, rr_window):
    w = rr_window
    with qtbot.waitSignal(w.image_shown, timeout=10000):
        w.images.select_row(1)
    w.reading_room.toggle_ruler()
    drag(w.canvas.viewport(), image_point(w, 10, 10), image_point(w, 110, 10))
    assert w.reading_room.ruler.length.unit == "px"
    assert "no pixel spacing" in w.reading_room.ruler.length.text()


def test_boxes_panel_lists_selects_hides_and_shows_mm(qtbot, rr_window):
    w = rr_window
    panel = w.boxes_panel
    assert panel.table.rowCount() == 2
    assert panel.table.item(0, 1).text() == "watch"
    assert panel.table.item(0, 2).text() == "human"
    assert panel.table.item(0, 5).text() == "10.0 × 5.0 mm"  # 40 x 20 px at 0.25 mm
    panel.table.selectRow(1)
    assert w.canvas.selected_id == panel._ids[1]  # panel -> canvas
    w.canvas.select_box(panel._ids[0])
    assert panel.selected_id() == panel._ids[0]  # canvas -> panel
    panel.table.item(1, 0).setCheckState(Qt.CheckState.Unchecked)
    assert not w.canvas.items_by_id[panel._ids[1]].isVisible()
    assert w.canvas.box_at(QPointF(120, 100)) is None  # a hidden box is not clickable
    panel.hide_all.setChecked(True)
    assert not any(i.isVisible() for i in w.canvas.items_by_id.values())
    panel.hide_all.setChecked(False)
    assert w.canvas.items_by_id[panel._ids[0]].isVisible()


def test_typed_coordinates_are_saved_and_undone_like_a_drag(qtbot, rr_window):
    w = rr_window
    panel = w.boxes_panel
    box_id = panel._ids[0]
    panel.table.selectRow(0)
    assert panel.corners["x2"].value() == 60 and panel.corners["x2"].isEnabled()
    panel.corners["x2"].setValue(90)
    stored = w.project.box(box_id)
    assert (stored.x1, stored.x2) == (20, 90)
    assert w.canvas.box_rect(box_id).right() == 90  # the canvas shows the stored box
    assert panel.table.item(0, 5).text() == "17.5 × 5.0 mm"
    assert w.annotations.history.can_undo
    w.annotations.undo()
    assert w.project.box(box_id).x2 == 60
    assert panel.corners["x2"].value() == 60
    panel.corners["x2"].setValue(20)  # zero width: refused, nothing saved
    assert w.project.box(box_id).x2 == 60
    assert panel.corners["x2"].value() == 60
    assert "width and a height" in w.statusBar().currentMessage()


def test_digits_typed_in_a_corner_field_stay_there(qtbot, rr_window):
    """The window's label hotkeys (1-9) and Enter (accept) must not take the keys."""
    from PySide6.QtTest import QTest

    w = rr_window
    panel = w.boxes_panel
    panel.table.selectRow(0)
    box_id = panel._ids[0]
    spin = panel.corners["x2"]
    spin.setFocus()
    spin.selectAll()
    QTest.keyClicks(spin, "77")
    QTest.keyClick(spin, Qt.Key.Key_Return)
    box = w.project.box(box_id)
    assert box.x2 == 77
    assert box.label == "watch"  # "7" did not relabel it to label 7


def test_delete_from_the_panel(qtbot, rr_window):
    w = rr_window
    panel = w.boxes_panel
    panel.table.selectRow(0)
    panel.delete_button.click()
    assert len(w.project.boxes(w.annotations.image_id)) == 1
    assert panel.table.rowCount() == 1


def test_hyperpigmentation_overlay_on_the_photo_never_changes_pixels(qtbot, rr_window):
    w = rr_window
    with qtbot.waitSignal(w.image_shown, timeout=10000):
        w.images.select_row(1)
    raw = w.display.raw
    before = raw.pixels.copy()
    settings = w.display.settings
    w.actions_["pigment"].trigger()
    rr = w.reading_room
    assert rr.last_pigment is not None and 0 < rr.last_pigment.coverage < 1
    assert rr._overlay is not None and rr._overlay.scene() is w.canvas.scene()
    assert "%" in w.pigment_panel.coverage.text()
    low = rr.last_pigment.coverage
    w.pigment_panel.threshold.setValue(0.3)
    assert rr.last_pigment.coverage < low
    np.testing.assert_array_equal(w.display.raw.pixels, before)
    assert w.display.settings == settings
    w.actions_["pigment"].trigger()
    assert rr._overlay is None


def test_hyperpigmentation_refuses_grey_images_with_a_reason(qtbot, rr_window):
    w = rr_window
    w.reading_room.toggle_pigment()
    assert w.reading_room._overlay is None
    assert "colour photos" in w.pigment_panel.coverage.text()


def test_dicom_tags_viewer_shows_no_patient_tag(qtbot, rr_window):
    w = rr_window
    assert w.reading_room.show_dicom_tags() is not None  # read in the background
    qtbot.waitUntil(lambda: w.reading_room.tags_dialog is not None, timeout=5000)
    dialog = w.reading_room.tags_dialog
    qtbot.addWidget(dialog)
    assert dialog.isVisible() and "image" in dialog.windowTitle()
    assert "a.dcm" not in dialog.windowTitle()  # file names can carry patient names
    text = dialog.shown_text()
    assert "Modality" in text and "PixelSpacing" in text
    for secret in ("Secret", "SECRETID", "19700101", "PatientName", "PatientID"):
        assert secret not in text
    dialog.filter.setText("spacing")
    assert "PixelSpacing" in dialog.shown_text() and "Modality" not in dialog.shown_text()


def test_dicom_tags_on_a_photo_is_a_message(qtbot, rr_window):
    w = rr_window
    with qtbot.waitSignal(w.image_shown, timeout=10000):
        w.images.select_row(1)
    w.reading_room.show_dicom_tags()
    qtbot.waitUntil(lambda: "not a DICOM file" in w.statusBar().currentMessage(), timeout=5000)
    assert w.reading_room.tags_dialog is None


def test_a_length_does_not_stay_in_the_status_bar_on_the_next_image(qtbot, rr_window):
    w = rr_window
    w.reading_room.toggle_ruler()
    drag(w.canvas.viewport(), image_point(w, 20, 40), image_point(w, 120, 40))
    assert w.statusBar().currentMessage().startswith("Ruler:")
    with qtbot.waitSignal(w.display.image_loaded, timeout=10000):
        w.images.select_row(1)
    assert not w.statusBar().currentMessage().startswith("Ruler:")
    assert w.reading_room.ruler.line is None  # the line belonged to the radiograph


def test_the_pigment_panel_starts_at_the_studys_threshold() -> None:
    from app.docks import pigment_panel
    from core.filters.hyperpigmentation import DEFAULT_THRESHOLD

    assert pigment_panel.DEFAULT_THRESHOLD == DEFAULT_THRESHOLD


def test_the_window_start_imports_no_display_pipeline_for_the_new_tools() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import app.main_window; "
        "print(','.join(m for m in ('pydicom', 'core.filters', 'core.imaging') if m in sys.modules))"
    )
    import os
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root), QT_QPA_PLATFORM="offscreen")
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=root,
        env=env,
    )
    assert out.stdout.strip() == ""


def test_space_drag_still_pans_while_the_ruler_is_on(qtbot, rr_window):
    from PySide6.QtTest import QTest

    w = rr_window
    w.canvas.zoom_by(4.0)
    w.reading_room.toggle_ruler()
    w.canvas.setFocus()
    QTest.keyPress(w.canvas, Qt.Key.Key_Space)
    before = w.canvas.horizontalScrollBar().value()
    drag(w.canvas.viewport(), image_point(w, 100, 80), image_point(w, 60, 80))
    QTest.keyRelease(w.canvas, Qt.Key.Key_Space)
    assert w.reading_room.ruler.length is None  # nothing measured
    assert w.canvas.horizontalScrollBar().value() != before  # panned
