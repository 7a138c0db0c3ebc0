"""Severity grading in the annotator: train through the job runner, suggest a grade for the
photo on screen (beside the expert's, accepted with one key), patches overlay, lesion-count
grade and the strip of similar graded faces."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

pytest.importorskip("skimage.data")

from app.main_window import MainWindow

GRADES = [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 3.0, 3.0]


@pytest.fixture(scope="module")
def faces_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ml.severity.synthetic import make_project

    folder = tmp_path_factory.mktemp("faces")
    make_project(folder, GRADES, seed=3, lesion_boxes=True)
    return folder


@pytest.fixture
def face_window(qtbot, tmp_path, faces_template):
    folder = tmp_path / "faces"
    shutil.copytree(faces_template, folder)
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    with qtbot.waitSignal(w.image_shown, timeout=10000):
        assert w.open_project(folder)
    yield w
    w.close()


@pytest.mark.slow
def test_train_then_suggest_accept_overlay_and_references(qtbot, face_window):
    w = face_window
    panel = w.severity_panel
    assert panel.current_scale() == "acne4"
    assert "No Acne severity (ACNE04 / Hayashi) grader" in panel.status.text()
    assert not panel.grade_button.isEnabled()

    # The built-in descriptor keeps this test fast; EfficientNet-Lite0 through the same
    # severity process is measured by benchmarks/severity_gui.py.
    w.severity.train_backbone = "builtin"
    train = w.severity.train("acne4")
    with qtbot.waitSignal(train.finished, timeout=180000):
        pass
    assert train.state == "succeeded", train.error
    assert "ready" in panel.status.text()
    assert "Trained" in w.statusBar().currentMessage()

    with qtbot.waitSignal(w.image_shown, timeout=10000):
        w.images.select_row(len(GRADES) - 1)  # grade 3: a face with many lesion boxes
    image_id = w.annotations.image_id
    assert w.project.boxes(image_id)
    human_before = [g for g in w.project.grades(image_id) if g.source == "human"]
    job = w.severity.grade_current()
    with qtbot.waitSignal(job.finished, timeout=60000):
        pass
    assert job.state == "succeeded", job.error
    model = [g for g in w.project.grades(image_id) if g.source == "model"]
    assert len(model) == 1 and model[0].confidence is not None
    assert [g for g in w.project.grades(image_id) if g.source == "human"] == human_before
    assert "Model (" in panel.result.text()
    assert "Hayashi" in panel.lesions.text(), "the photo has lesion boxes"
    row = w.grades.rows["acne4"]
    assert row.accept_button.isVisible() or not row.accept_button.isHidden()
    assert "Suggested" in row.suggestion_label.text()
    assert len(w.canvas.overlay_items) >= 1
    panel.overlay.setChecked(False)
    assert w.canvas.overlay_items == []
    panel.overlay.setChecked(True)
    assert panel.references.count() >= 1

    # Alt+A: the expert takes the model's grade (a human grade row, the model row stays).
    w.project.clear_grade(image_id, "acne4")
    w.annotations.refresh()
    w.activateWindow()
    w.canvas.setFocus()
    QTest.keyClick(w.canvas, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)
    human = [g for g in w.project.grades(image_id) if g.source == "human"]
    assert human and human[0].value == model[0].value

    # A reference face opens that image.
    item = panel.references.item(0)
    target = item.data(Qt.ItemDataRole.UserRole)
    with qtbot.waitSignal(w.image_shown, timeout=10000):
        panel.references.itemClicked.emit(item)
    assert w.annotations.image_id == target
    assert w.canvas.overlay_items == [], "overlays belong to the photo they were made for"


def test_without_a_grader_the_panel_explains_and_training_needs_grades(qtbot, tmp_path):
    from tests.app.conftest import make_project

    make_project(tmp_path / "p", n_images=2).close()
    w = MainWindow()
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.image_shown, timeout=10000):
        w.open_project(tmp_path / "p")
    assert "No Acne severity (ACNE04 / Hayashi) grader yet" in w.severity_panel.status.text()
    assert not w.severity_panel.train_button.isEnabled()  # 0 graded photos
    assert "at least 10" in w.severity_panel.train_button.toolTip()
    job = w.severity.train("acne4")
    with qtbot.waitSignal(job.finished, timeout=60000):
        pass
    assert job.state == "failed"
    assert "Not trained" in w.statusBar().currentMessage()
    w.close()
