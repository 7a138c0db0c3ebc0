"""The readers' views: the adjudication queue sets the final grade, the agreement view
shows the report (and says when there are too few readers), and blinded reading hides
the other reader's boxes on the canvas until this reader has graded the image."""

from __future__ import annotations

from pathlib import Path

from core.annotations import Box
from tests.app.conftest import (  # noqa: F401
    make_project,
    qsettings_fixture,
    runner_fixture,
    window_fixture,
)


def _two_readers(folder: Path):  # type: ignore[no-untyped-def]
    project = make_project(folder, n_images=3)
    ids = [r.id for r in project.images()]
    for image_id, (a, b) in zip(ids, [(0, 2), (1, 1), (3, 2)], strict=True):
        project.set_grade(image_id, "acne4", a, author="dr a")
        project.set_grade(image_id, "acne4", b, author="dr b")
    return project, ids


def test_adjudication_dialog_lists_the_queue_and_sets_the_final_grade(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from app.readers.adjudication_dialog import AdjudicationDialog

    project, ids = _two_readers(tmp_path / "p")
    with project:
        dialog = AdjudicationDialog(project)
        qtbot.addWidget(dialog)
        assert dialog.table.rowCount() == 1  # only 0 vs 2 is more than one step apart
        headers = [dialog.table.horizontalHeaderItem(i).text() for i in range(4)]
        assert headers == ["image", "dr a", "dr b", "spread"]
        assert [dialog.table.item(0, c).text() for c in (1, 2)] == ["0", "2"]
        dialog.value.setCurrentIndex(1)
        dialog.set_final()
        assert project.readers.final_grade(ids[0], "acne4").value == 1.0
        assert dialog.table.rowCount() == 0
        assert "final grade 1 (adjudicated by tester)" in dialog.message.text()


def test_agreement_dialog_shows_the_report_and_too_few_readers(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from app.readers.agreement_dialog import AgreementDialog

    project, _ = _two_readers(tmp_path / "p")
    with project:
        dialog = AgreementDialog(project)
        qtbot.addWidget(dialog)
        assert "readers: dr a, dr b" in dialog.summary.toPlainText()
        assert dialog.pair.count() == 1 and dialog.disagreements.rowCount() == 2
        assert dialog.confusion.item(0, 2).text() == "1"  # dr a 0, dr b 2
    single = make_project(tmp_path / "q", n_images=1)
    with single:
        single.set_grade(single.images()[0].id, "acne4", 1)
        dialog = AgreementDialog(single)
        qtbot.addWidget(dialog)
        assert "agreement needs at least two readers" in dialog.summary.toPlainText()


def test_blinded_reading_hides_the_other_readers_boxes_on_the_canvas(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    project = window.project
    image_id = window.annotations.record.id
    project.add_box(image_id, Box(10, 10, 60, 60, "zipper", author="dr other"))
    window.annotations.refresh()
    assert len(window.annotations.boxes) == 1
    window.actions_["blinded"].setChecked(True)
    assert project.readers.blinded() and window.annotations.boxes == {}
    project.set_grade(image_id, "acne4", 2)  # the window's reader grades the image
    window.annotations.refresh()
    assert len(window.annotations.boxes) == 1


def test_a_readers_results_merge_from_the_readers_menu(
    window, qtbot, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QInputDialog, QMessageBox

    from core.store import Project

    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "information", lambda _p, _t, text: shown.append(text))
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("dr d", True))
    out = tmp_path / "asg"
    monkeypatch.setattr(window.prompts, "pick_folder", lambda *a, **k: str(out))
    with qtbot.waitSignal(window.readers_ui.export_assignment().finished, timeout=20000):
        pass
    assert shown and shown[-1].startswith("Assignment for dr d: 3 image(s)")
    with Project.open(out / "project", author="dr d") as reader:
        reader.set_grade(reader.images()[0].id, "acne4", 3)
    with qtbot.waitSignal(window.readers_ui.import_results().finished, timeout=20000):
        pass
    assert shown[-1].startswith("reader dr d: 1 grade(s) and 0 box(es) merged")
    assert window.project.readers.readers("acne4") == ["dr d"]


def test_under_blinding_another_readers_box_is_not_changed(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    project = window.project
    image_id = window.annotations.record.id
    theirs = project.add_box(image_id, Box(10, 10, 60, 60, "zipper", author="dr other"))
    project.set_grade(image_id, "acne4", 2)  # graded: the other's box is visible
    window.actions_["blinded"].setChecked(True)
    errors: list[str] = []
    window.annotations.error.connect(errors.append)
    window.canvas.select_box(theirs.id)
    window.annotations.delete_selected()
    assert errors == ["This box is dr other's reading; draw your own box instead."]
    assert [b.id for b in project.boxes(image_id)] == [theirs.id]
    window.actions_["blinded"].setChecked(False)
    window.canvas.select_box(theirs.id)
    window.annotations.delete_selected()  # not blinded: the project's own rules
    assert project.boxes(image_id) == []
