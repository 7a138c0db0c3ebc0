"""Issue 17 #10: the Severity tab opens on the acne scale, names scales by title, allows
Train only when training can succeed (the reason on the button), puts the suggestion
beside the expert's grade, shows the lesions marked, and the demo has enough faces."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.main_window import MainWindow
from tests.app.test_reading_defects import _write_photo

ACNE_TITLE = "Acne severity (ACNE04 / Hayashi)"


def _photo_project(folder: Path, n_photos: int) -> list[int]:
    from core.annotations import builtin_label_set, builtin_scale
    from core.annotations.scales import scale_from_mapping
    from core.project_io import import_images
    from core.store import Project

    quality = {"title": "Image quality", "values": [{"value": 1}, {"value": 2}]}
    with Project.create(
        folder,
        label_set=builtin_label_set("acne"),
        scales=[scale_from_mapping("quality", quality), builtin_scale("acne4")],
    ) as project:
        paths = [
            _write_photo(folder / "images" / f"face_{i:02d}.png", seed=i) for i in range(n_photos)
        ]
        import_images(project, paths)
        return [project.find_image(path=p).id for p in paths]


@pytest.fixture
def photo_window(qtbot, tmp_path):  # type: ignore[no-untyped-def]
    ids = _photo_project(tmp_path / "faces", 11)
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    with qtbot.waitSignal(w.image_shown, timeout=10000):
        assert w.open_project(tmp_path / "faces")
    yield w, ids
    w.close()


def test_the_tab_opens_on_the_acne_scale_by_its_title(photo_window):
    w, _ids = photo_window
    panel = w.severity_panel
    assert panel.current_scale() == "acne4"  # not the first scale ("quality")
    assert panel.scale.currentText() == ACNE_TITLE
    assert ACNE_TITLE in panel.status.text() and "acne4" not in panel.status.text()


def test_train_is_enabled_only_with_enough_graded_photos_of_two_grades(photo_window):
    w, ids = photo_window
    button = w.severity_panel.train_button
    assert not button.isEnabled()
    assert "at least 10" in button.toolTip() and "0 so far" in button.toolTip()
    for image_id in ids[:10]:
        w.project.grading.set_grade(image_id, "acne4", 1)
    w.severity.refresh_training()
    assert not button.isEnabled()
    assert "same" in button.toolTip()
    # A grade given in the window updates the button at once.
    w.grades.rows["acne4"].buttons[2.0].click()
    assert button.isEnabled(), button.toolTip()


def test_the_suggestion_is_shown_against_the_experts_grade(photo_window):
    w, _ids = photo_window
    image_id = w.annotations.image_id
    w.project.grading.set_grade(image_id, "acne4", 2)
    # What the severity worker answers for one photo (a JSON document).
    result = {
        "model": "severity-acne4:1",
        "label": "Moderate",
        "value": 1.0,
        "group": None,
        "confidence": 0.7,
        "patches": [],
        "method": "whole_face",
        "warnings": [],
        "lesion_count": None,
        "references": [],
    }
    w.severity._on_graded(image_id, (result, {}), "acne4")
    text = w.severity_panel.result.text()
    assert "Your grade: Severe (2)" in text and "-1" in text
    assert text.index("Your grade") < text.index("Model (")


def test_the_lesions_marked_on_the_photo_are_counted(qtbot, photo_window):
    from PySide6.QtCore import QRectF

    w, _ids = photo_window
    w.labels.list.setCurrentRow(w.labels.names().index("papule"))
    for x in (10, 40):
        w.annotations.add_box_from_rect(QRectF(x, 10, 12, 12))
    assert "Lesions marked on this photo: 2 (papule 2)" in w.severity_panel.marked.text()


def test_the_gui_threshold_matches_the_trainers() -> None:
    from app.controllers.severity import MIN_GRADED
    from ml.severity.train import MIN_GRADED as TRAINER_MIN

    assert MIN_GRADED == TRAINER_MIN


@pytest.mark.slow
def test_the_demo_has_enough_graded_faces_to_train_and_one_to_suggest(tmp_path):
    from app.demo_project import build_demo_project
    from core.store import Project
    from core.store.images import GRADED

    folder = build_demo_project(tmp_path / "demo", n_xrays=1)
    with Project.open(folder, read_only=True) as project:
        graded = project.images(grade=("acne4", GRADED))
        assert len(graded) >= 10
        assert len({project.grading.grades(r.id)[0].value for r in graded}) >= 2
        face = project.find_image(path=folder / "images" / "face_astronaut.jpg")
        assert face is not None and face.id not in {r.id for r in graded}
        assert any(r.box_count for r in graded), "some faces show their lesion boxes"
        xray = project.images()[0]
        assert project.grading.image_kind(xray.id) == "xray"
        assert [s.name for s in project.grading.scales_for(xray.id)] == ["quality"]


def test_the_status_lists_graded_scales_as_the_model_module_does(monkeypatch) -> None:
    # The GUI reads them from the registry alone (no numpy at project open, #17).
    from types import SimpleNamespace

    from app.controllers import severity as gui
    from ml import registry
    from ml.severity import model_io

    assert gui.SEVERITY_KIND == model_io.KIND
    entries = [
        SimpleNamespace(status="active", extra={"scale": "iga5"}),
        SimpleNamespace(status="active", extra={"scale": "acne4"}),
        SimpleNamespace(status="active", extra={"scale": "acne4"}),
        SimpleNamespace(status="candidate", extra={"scale": "hyperpig"}),
        SimpleNamespace(status="active", extra=None),
        SimpleNamespace(status="active", extra={"scale": ""}),
    ]
    asked: list[str] = []
    monkeypatch.setattr(
        registry, "list_models", lambda folder, kind: asked.append(kind) or list(entries)
    )
    assert gui.graded_scales("proj") == model_io.graded_scales("proj") == ["acne4", "iga5"]
    assert asked == [model_io.KIND, model_io.KIND]
