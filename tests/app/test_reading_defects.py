"""Issue 17 ("the reading room"), defects 1, 5, 6, 8, 9, 11 and the F11 / smooth-photo
habits, on the real main window (offscreen)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtTest import QTest

from app.main_window import MainWindow
from tests.app.conftest import make_project, window_fixture, write_xray  # noqa: F401


def _write_photo(path: Path, seed: int = 1) -> Path:
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    img = rng.integers(60, 200, size=(120, 160, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), img)
    return path


def _mixed_project(folder: Path) -> tuple[int, int]:
    """X-ray labels, a required quality grade (any image) and acne4 (photos); one grey
    image the user says is an X-ray, one colour photo. Returns (xray id, photo id)."""
    from core.annotations import builtin_label_set, builtin_scale
    from core.annotations.scales import scale_from_mapping
    from core.project_io import import_images
    from core.store import Project

    quality = {"title": "Image quality", "values": [{"value": 1}, {"value": 2}]}
    with Project.create(
        folder,
        label_set=builtin_label_set("xray"),
        scales=[scale_from_mapping("quality", quality), builtin_scale("acne4")],
    ) as project:
        for name in builtin_label_set("acne").names()[:3]:
            project.add_label(name)
        xray = write_xray(folder / "images" / "a_chest.png")
        photo = _write_photo(folder / "images" / "b_face.png")
        import_images(project, [xray, photo])
        xray_id = project.find_image(path=xray).id
        photo_id = project.find_image(path=photo).id
        project.grading.set_image_kind(xray_id, "xray")
    return xray_id, photo_id


@pytest.fixture
def mixed_window(qtbot, tmp_path):  # type: ignore[no-untyped-def]
    ids = _mixed_project(tmp_path / "mixed")
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    with qtbot.waitSignal(w.image_shown, timeout=10000):
        assert w.open_project(tmp_path / "mixed")
    yield w, ids
    w.close()


def _show(qtbot, w, image_id: int) -> None:  # type: ignore[no-untyped-def]
    if w.annotations.image_id == image_id:
        return
    with qtbot.waitSignal(w.image_shown, timeout=10000):
        w.images.select_image(image_id)


# --- 1. scales and label sets per image kind -------------------------------------------------
def test_an_xray_shows_and_asks_only_the_scales_that_apply(qtbot, mixed_window):
    w, (xray, photo) = mixed_window
    _show(qtbot, w, xray)
    assert w.grades.rows["acne4"].isHidden()
    assert not w.grades.rows["quality"].isHidden()
    w.grades.rows["quality"].buttons[2.0].click()
    w.annotations.toggle_done()
    assert w.project.image(xray).review_status == "done"
    assert w.labels.names()[0] == "zipper"
    _show(qtbot, w, photo)
    assert not w.grades.rows["acne4"].isHidden()
    assert w.grades.missing_required() == ["quality", "acne4"]
    # The acne labels come first on a photo, so keys 1-3 reach them.
    assert w.labels.names()[:3] == ["whitehead comedone", "blackhead comedone", "papule"]
    w.labels.choose_index(0)
    assert w.labels.current() == "whitehead comedone"


def test_the_image_kind_can_be_chosen_per_image(qtbot, mixed_window):
    w, (_xray, photo) = mixed_window
    _show(qtbot, w, photo)
    w.actions_["kind_xray"].trigger()
    assert w.project.grading.chosen_kind(photo) == "xray"
    assert w.grades.rows["acne4"].isHidden()
    w.actions_["kind_auto"].trigger()
    assert not w.grades.rows["acne4"].isHidden()


# --- 5. a focused editor keeps its keys ---------------------------------------------------
def test_enter_in_the_window_field_applies_the_value_and_fires_no_shortcut(qtbot, window):
    fired: list[str] = []
    for name in ("accept", "label_3", "next"):
        window.actions_[name].triggered.connect(lambda _c=False, n=name: fired.append(n))
    label_before = window.labels.current()
    spin = window.filters.window_width.spin
    window.activateWindow()
    spin.setFocus()
    spin.selectAll()
    QTest.keyClicks(spin, "3000")
    QTest.keyClick(spin, Qt.Key.Key_Return)
    assert fired == []
    assert window.filters.settings.window_width == pytest.approx(3000)
    assert window.display.settings.window_width == pytest.approx(3000)
    assert window.labels.current() == label_before
    # Chords and F-keys still reach the window from a field.
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key.Key_D)
    assert fired == ["next"]


# --- 6. the corrupt-file message agrees with the list ------------------------------------------
def test_a_corrupt_file_is_reported_as_the_error_row_the_list_shows(qtbot, tmp_path, monkeypatch):
    make_project(tmp_path / "p", n_images=1).close()
    bad = tmp_path / "p" / "images" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 10)
    w = MainWindow()
    qtbot.addWidget(w)
    told: list[str] = []
    monkeypatch.setattr(w.prompts, "inform", lambda title, text: told.append(text))
    with qtbot.waitSignal(w.image_shown, timeout=5000):
        w.open_project(tmp_path / "p")
    job = w.projects.start_import([str(bad)])
    with qtbot.waitSignal(job.finished, timeout=10000):
        pass
    qtbot.waitUntil(lambda: bool(told), timeout=5000)
    assert w.images.model.rowCount() == 2  # broken.png is listed, as an error row
    text = told[0]
    assert "skipped" not in text
    assert "1 image(s) marked as errors" in text and "broken.png" in text
    assert "1 more kept as errors" in w.statusBar().currentMessage()
    w.close()


# --- 8. the cheat sheet is whole --------------------------------------------------------------
def test_the_cheat_sheet_needs_no_horizontal_scrolling(qtbot, window):
    from app.dialogs.shortcuts import ShortcutsDialog

    dialog = ShortcutsDialog(window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    view = dialog.text
    assert view.horizontalScrollBar().maximum() == 0
    avail = dialog.screen().availableGeometry().height()
    if dialog.wanted_height() < 0.9 * avail:
        assert view.verticalScrollBar().maximum() == 0  # every row visible at once
    assert "F11" in view.toPlainText()


# --- 9. the status bar follows the image and the edit -------------------------------------
def test_the_pixel_readout_is_cleared_when_the_image_changes(qtbot, window):
    window.canvas.mouse_moved.emit(QPointF(20, 20))
    assert window.pixel_label.text()
    with qtbot.waitSignal(window.image_shown, timeout=10000):
        window.step_image(1)
    assert window.pixel_label.text() == ""


def test_relabelling_replaces_the_saved_message(qtbot, window):
    window.labels.choose_index(0)
    box = window.annotations.add_box_from_rect(QRectF(10, 10, 40, 30))
    assert "'zipper' saved" in window.statusBar().currentMessage()
    window.canvas.select_box(box.id)
    window.labels.choose_index(1)
    message = window.statusBar().currentMessage()
    assert "'zipper' saved" not in message
    assert "watch" in message


# --- 11. the export folder and the last image are remembered ---------------------------------
def test_the_export_dialog_starts_in_the_folder_of_the_last_export(qtbot, window, tmp_path):
    from core.project_io import ExportOptions

    seen: list[Path] = []
    out = tmp_path / "exports_here" / "first"
    out.parent.mkdir()
    window.projects.prompts.export_options = lambda default: (  # type: ignore[method-assign]
        seen.append(default) or ExportOptions(fmt="voc", out=out)
    )
    job = window.projects.export_dialog()
    with qtbot.waitSignal(job.finished, timeout=20000):
        pass
    window.projects.prompts.export_options = lambda default: seen.append(default)  # type: ignore[method-assign]
    window.projects.export_dialog()
    assert seen[0].parent == window.project.exports_dir
    assert seen[1].parent == out.parent


def test_reopening_a_project_shows_the_last_image_viewed(qtbot, window, tmp_path):
    with qtbot.waitSignal(window.image_shown, timeout=10000):
        window.images.select_row(2)
    third = window.annotations.image_id
    folder = window.project.folder
    window.close()
    again = MainWindow()
    qtbot.addWidget(again)
    again.show()
    with qtbot.waitSignal(again.image_shown, timeout=10000):
        assert again.open_project(folder)
    assert again.annotations.image_id == third
    again.close()


def test_pickers_start_in_the_project_folder_then_the_last_used_one(window, tmp_path):
    starts: list[str] = []
    window.projects.prompts.pick_folder = lambda caption, start="": (  # type: ignore[method-assign]
        starts.append(start) or None
    )
    window.projects.add_image_folder()
    assert starts[-1] == str(window.project.folder)
    (tmp_path / "scans" / "day1").mkdir(parents=True)
    window.prefs.set_folder("images", tmp_path / "scans")
    window.projects.add_image_folder()
    assert starts[-1] == str(tmp_path / "scans")


# --- habits: F11, smooth photos ------------------------------------------------------------
def test_f11_toggles_full_screen(qtbot, window):
    window.actions_["full_screen"].trigger()
    qtbot.waitUntil(window.isFullScreen, timeout=3000)
    window.actions_["full_screen"].trigger()
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=3000)


def test_photos_are_scaled_smoothly_and_xrays_show_real_pixels(qtbot, mixed_window):
    w, (xray, photo) = mixed_window
    _show(qtbot, w, photo)
    assert w.canvas.image_item.smooth
    _show(qtbot, w, xray)
    assert not w.canvas.image_item.smooth


# --- 7. readable captions -------------------------------------------------------------------
def test_a_dark_label_caption_is_readable_on_the_canvas(window):
    from core.annotations.contrast import contrast_ratio

    window.labels.list.setCurrentRow(window.labels.names().index("zipper head"))
    box = window.annotations.add_box_from_rect(QRectF(10, 10, 40, 30))
    caption = window.canvas.items_by_id[box.id].caption
    assert caption.plate.alpha() == 255  # the image underneath cannot lower the contrast
    assert contrast_ratio(caption.colour.name(), caption.plate.name()) >= 4.5
