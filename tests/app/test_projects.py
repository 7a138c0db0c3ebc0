"""Projects in the GUI: open/create, read-only and locked projects, bad files, import,
export, the demo project and the recent list."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.main_window import MainWindow
from tests.app.conftest import make_project, window_fixture, write_xray  # noqa: F401


@pytest.fixture
def bare_window(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1000, 700)
    w.show()
    yield w
    w.close()


def test_read_only_project_shows_a_banner_and_refuses_edits(qtbot, bare_window, tmp_path):
    from PySide6.QtCore import QRectF

    make_project(tmp_path / "p").close()
    with qtbot.waitSignal(bare_window.image_shown, timeout=5000):
        assert bare_window.open_project(tmp_path / "p", read_only=True)
    assert bare_window.banner.isVisible()
    assert "Read-only" in bare_window.banner.text()
    assert not bare_window.actions_["draw"].isEnabled()
    bare_window.annotations.add_box_from_rect(QRectF(10, 10, 20, 20))
    assert "read-only" in bare_window.statusBar().currentMessage()
    assert bare_window.project.boxes(bare_window.annotations.image_id) == []


def test_project_open_elsewhere_is_offered_read_only(qtbot, bare_window, tmp_path, monkeypatch):
    from core.store import Project

    make_project(tmp_path / "p").close()
    writer = Project.open(tmp_path / "p")  # "another instance" holds the write lock
    try:
        questions = []
        monkeypatch.setattr(bare_window.prompts, "ask", lambda t, q: questions.append(q) or True)
        bare_window.session.ask = bare_window.prompts.ask
        with qtbot.waitSignal(bare_window.image_shown, timeout=5000):
            assert bare_window.open_project(tmp_path / "p")
        assert questions and "read-only" in questions[0]
        assert bare_window.project.read_only
        assert "another ClinLens" in bare_window.banner.text()
    finally:
        writer.close()


def test_declining_read_only_keeps_the_window_as_it_was(bare_window, tmp_path, monkeypatch):
    from core.store import Project

    make_project(tmp_path / "p").close()
    with Project.open(tmp_path / "p"):
        bare_window.session.ask = lambda t, q: False
        assert not bare_window.open_project(tmp_path / "p")
    assert bare_window.project is None


def test_not_a_project_gives_a_clear_message_not_a_traceback(bare_window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a: shown.append(a[2]))
    (tmp_path / "empty").mkdir()
    assert not bare_window.open_project(tmp_path / "empty")
    assert shown and "not a ClinLens project" in shown[0]


def test_missing_image_file_says_so_and_keeps_annotations(qtbot, bare_window, tmp_path):
    from core.annotations import Box

    project = make_project(tmp_path / "p")
    second = project.image_ids()[1]
    project.add_box(second, Box(5, 5, 40, 40, label="zipper"))
    project.close()
    (tmp_path / "p" / "images" / "img_001.png").unlink()
    with qtbot.waitSignal(bare_window.image_shown, timeout=5000):
        bare_window.open_project(tmp_path / "p")
    with qtbot.waitSignal(bare_window.image_shown, timeout=5000):
        bare_window.step_image(1)
    assert bare_window.image_banner.isVisible()
    assert "missing" in bare_window.image_banner.text()
    assert len(bare_window.project.boxes(second)) == 1
    assert bare_window.project.image(second).error


def test_corrupt_image_gets_an_error_badge_and_reason(qtbot, bare_window, tmp_path):
    from app.docks.image_list_model import ErrorRole, SummaryRole

    make_project(tmp_path / "p", n_images=1).close()
    bad = tmp_path / "p" / "images" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 10)
    with qtbot.waitSignal(bare_window.image_shown, timeout=5000):
        bare_window.open_project(tmp_path / "p")
    job = bare_window.projects.start_import([str(bad)])
    with qtbot.waitSignal(job.finished, timeout=10000):
        pass
    model = bare_window.images.model
    assert model.rowCount() == 2
    row = next(r for r in range(model.rowCount()) if "broken" in model.index(r).data())
    assert model.index(row).data(ErrorRole)
    assert "⚠" in model.index(row).data(SummaryRole)
    with qtbot.waitSignal(bare_window.image_shown, timeout=5000):
        bare_window.images.select_row(row)
    assert bare_window.image_banner.isVisible()


def test_adding_a_folder_imports_in_the_background(qtbot, bare_window, tmp_path, monkeypatch):
    make_project(tmp_path / "p", n_images=1).close()
    bare_window.open_project(tmp_path / "p")
    for i in range(3):
        write_xray(tmp_path / "more" / f"new_{i}.png", seed=10 + i)
    monkeypatch.setattr(bare_window.prompts, "inform", lambda *a: None)
    job = bare_window.projects.start_import([str(tmp_path / "more")])
    assert bare_window.jobs_panel.rows[job.id].title.text().startswith("Add")
    with qtbot.waitSignal(job.succeeded, timeout=10000):
        pass
    assert bare_window.images.model.rowCount() == 4


def test_export_dialog_runs_a_voc_export_job(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtCore import QRectF

    from app.dialogs.export_dialog import ExportDialog

    window.annotations.add_box_from_rect(QRectF(10, 10, 30, 30))
    out = tmp_path / "voc_out"

    def fake_exec(dialog: ExportDialog) -> int:
        dialog.out.setText(str(out))
        dialog.no_images.setChecked(True)
        for box in dialog.statuses.values():  # work in progress is exported only when asked
            box.setChecked(True)
        dialog._accept()
        return 1

    monkeypatch.setattr(ExportDialog, "exec", fake_exec)
    job = window.projects.export_dialog()
    with qtbot.waitSignal(job.succeeded, timeout=10000):
        pass
    xmls = list(out.rglob("*.xml"))
    assert len(xmls) == 3
    assert any("<name>zipper</name>" in p.read_text() for p in xmls)
    assert "exported 3 image" in window.statusBar().currentMessage()


def test_export_dialog_refuses_a_split_not_adding_up(qtbot, tmp_path):
    from app.dialogs.export_dialog import ExportDialog

    dialog = ExportDialog(tmp_path / "x")
    qtbot.addWidget(dialog)
    dialog.train.setValue(0.5)
    dialog._accept()
    assert "add up to 1" in dialog.error.text()
    assert dialog.options is None


def test_new_project_dialog_builds_the_spec(qtbot, tmp_path):
    from app.dialogs.new_project import NewProjectDialog

    dialog = NewProjectDialog()
    qtbot.addWidget(dialog)
    dialog._accept()
    assert "folder" in dialog.error.text()
    dialog.folder.setText(str(tmp_path / "new"))
    dialog.label_set.setCurrentIndex(dialog.label_set.findData("acne"))
    use, req = dialog.scale_checks["acne4"]
    use.setChecked(True)
    req.setChecked(False)
    dialog._accept()
    spec = dialog.spec
    assert spec.name == "new"
    assert spec.label_set.name == "acne"
    assert [(s.name, s.required) for s in spec.scales] == [("acne4", False)]


def test_creating_a_project_opens_it_and_remembers_it(qtbot, bare_window, tmp_path, monkeypatch):
    from app.dialogs.new_project import NewProjectDialog

    def fake_exec(dialog):
        dialog.folder.setText(str(tmp_path / "created"))
        dialog._accept()
        return 1

    monkeypatch.setattr(NewProjectDialog, "exec", fake_exec)
    assert bare_window.projects.new_project()
    assert bare_window.project.folder == tmp_path / "created"
    assert str((tmp_path / "created").resolve()) in bare_window.prefs.recent_projects()
    assert "No project" not in bare_window.banner.text() or not bare_window.banner.isVisible()


def test_demo_project_has_annotated_and_new_xrays_and_the_face(tmp_path):
    from app.demo_project import build_demo_project
    from core.store import Project

    folder = build_demo_project(tmp_path / "demo", n_xrays=2)
    with Project.open(folder, read_only=True) as project:
        records = project.images()
        names = [Path(r.path).name for r in records]
        assert any(n.endswith(".jpg") for n in names)
        xrays = [r for r in records if not r.path.endswith(".jpg")]
        assert [r.box_count > 0 for r in xrays] == [True, False]
        assert all(r.error is None for r in records)
        assert {s.name for s in project.scales()} == {"quality", "acne4"}
    assert build_demo_project(tmp_path / "demo") == folder  # idempotent


def test_layout_is_remembered_between_windows(qtbot):
    first = MainWindow()
    qtbot.addWidget(first)
    first.resize(700, 500)
    first.docks["filters"].hide()
    first.show()
    first.close()
    second = MainWindow()
    qtbot.addWidget(second)
    assert second.size().width() == 700
    assert second.docks["filters"].isHidden()
    second.close()


def test_unwritable_project_is_offered_read_only(qtbot, bare_window, tmp_path, monkeypatch):
    from core.errors import ProjectError
    from core.store import Project

    make_project(tmp_path / "p").close()
    real_open = Project.open.__func__

    def refusing_open(cls, folder, *, read_only=False, author=None):
        if not read_only:
            raise ProjectError(f"'{folder}' cannot be written (read-only file system)")
        return real_open(cls, folder, read_only=True, author=author)

    monkeypatch.setattr(Project, "open", classmethod(refusing_open))
    asked = []
    bare_window.session.ask = lambda title, q: asked.append(q) or True
    with qtbot.waitSignal(bare_window.image_shown, timeout=5000):
        assert bare_window.open_project(tmp_path / "p")
    assert "cannot be written" in asked[0]
    assert bare_window.project.read_only
    assert bare_window.banner.isVisible()


def test_export_dialog_maps_every_cli_option(qtbot, tmp_path):
    from app.dialogs.export_dialog import ExportDialog

    dialog = ExportDialog(tmp_path / "x")
    qtbot.addWidget(dialog)
    dialog.fmt.setCurrentIndex(dialog.fmt.findData("yolo"))
    dialog.seed.setValue(7)
    dialog.remap.setCurrentIndex(dialog.remap.findData("agnostic"))
    dialog.tiles.setValue(3)
    dialog.tile_size.setValue(512)
    dialog.tile_overlap.setValue(0.1)
    dialog.tile_min.setValue(0.5)
    assert [k for k, box in dialog.statuses.items() if box.isChecked()] == ["done"]
    dialog.statuses["in_progress"].setChecked(True)
    dialog.statuses["to_review"].setChecked(True)
    dialog.include_suggested.setChecked(True)
    o = dialog.build_options()
    assert (o.fmt, o.seed, o.remap, o.tiles, o.tile_size) == ("yolo", 7, "agnostic", 3, 512)
    assert o.tile_overlap == pytest.approx(0.1) and o.tile_min_fraction == pytest.approx(0.5)
    assert o.statuses == ("in_progress", "to_review", "done")
    assert o.include_suggested and o.images
    for box in dialog.statuses.values():
        box.setChecked(False)
    dialog._accept()
    assert "status" in dialog.error.text()
