"""The export dialog's "Pseudonymise file names" box: ticked for a folder outside the
project, unticked inside its exports/, following the folder, and passed to the options."""

from __future__ import annotations

from pathlib import Path


def _dialog(qtbot, project: Path, out: Path, **kwargs):  # type: ignore[no-untyped-def]
    from app.dialogs.export_dialog import ExportDialog

    dialog = ExportDialog(out, **kwargs)
    qtbot.addWidget(dialog)
    return dialog


def test_the_suggested_folder_in_exports_is_not_pseudonymised_by_default(qtbot, tmp_path):
    project = tmp_path / "proj"
    dialog = _dialog(qtbot, project, project / "exports" / "export")
    assert dialog.project_folder == project  # worked out from <project>/exports/<name>
    assert not dialog.pseudonymise.isChecked()
    dialog._accept()
    assert dialog.options is not None and dialog.options.pseudonymise is False


def test_the_box_follows_the_folder_across_the_projects_edge(qtbot, tmp_path):
    project = tmp_path / "proj"
    dialog = _dialog(qtbot, project, project / "exports" / "export")
    dialog.out.setText(str(tmp_path / "usb stick" / "für Dr. Ünal"))
    assert dialog.pseudonymise.isChecked()  # leaving the project: pseudonymised
    dialog._accept()
    assert dialog.options.pseudonymise is True
    dialog.out.setText(str(project / "exports" / "again"))
    assert not dialog.pseudonymise.isChecked()
    # A folder reached through .. or a link counts where it leads.
    (tmp_path / "link").symlink_to(project, target_is_directory=True)
    dialog.out.setText(str(tmp_path / "link" / "exports" / "x"))
    assert not dialog.pseudonymise.isChecked()
    dialog.out.setText(str(project / "exports" / ".." / ".." / "elsewhere"))
    assert dialog.pseudonymise.isChecked()


def test_the_users_choice_stays_while_the_folder_stays_on_one_side(qtbot, tmp_path):
    project = tmp_path / "proj"
    dialog = _dialog(qtbot, project, tmp_path / "out", project_folder=project)
    assert dialog.pseudonymise.isChecked()
    dialog.pseudonymise.setChecked(False)  # the user really wants the names
    dialog.out.setText(str(tmp_path / "out2"))  # still outside: left as chosen
    assert not dialog.pseudonymise.isChecked()
    dialog._accept()
    assert dialog.options.pseudonymise is False
    dialog.out.setText(str(project / "exports" / "x"))  # crossing resets to the default
    dialog.out.setText(str(tmp_path / "out3"))
    assert dialog.pseudonymise.isChecked()


def test_without_a_known_project_the_box_starts_ticked(qtbot, tmp_path):
    dialog = _dialog(qtbot, tmp_path, tmp_path / "x")
    assert dialog.project_folder is None and dialog.pseudonymise.isChecked()
    dialog.out.setText("")
    assert dialog.pseudonymise.isChecked()


def test_the_option_reaches_the_export_the_window_runs(qtbot, tmp_path, monkeypatch):
    from app.controllers.qt_prompts import QtPrompts
    from app.dialogs.export_dialog import ExportDialog

    out = tmp_path / "leaving"

    def fill(dialog: ExportDialog) -> int:
        dialog.out.setText(str(out))
        dialog._accept()
        return 1

    monkeypatch.setattr(ExportDialog, "exec", fill)
    options = QtPrompts().export_options(tmp_path / "proj" / "exports" / "export")
    assert options is not None and options.out == out and options.pseudonymise is True


def test_only_reviewed_images_are_ticked_by_default(qtbot, tmp_path):
    dialog = _dialog(qtbot, tmp_path / "proj", tmp_path / "proj" / "exports" / "export")
    assert [k for k, box in dialog.statuses.items() if box.isChecked()] == ["done"]
    dialog._accept()
    assert dialog.options.statuses == ("done",)


def test_unreviewed_statuses_are_exported_only_when_ticked(qtbot, tmp_path):
    dialog = _dialog(qtbot, tmp_path / "proj", tmp_path / "proj" / "exports" / "export")
    dialog.statuses["in_progress"].setChecked(True)
    dialog._accept()
    assert dialog.options.statuses == ("in_progress", "done")
    for box in dialog.statuses.values():
        box.setChecked(True)
    dialog._accept()
    assert dialog.options.statuses is None  # every status


def test_coco_is_a_choice_and_reaches_the_options(qtbot, tmp_path):
    project = tmp_path / "proj"
    dialog = _dialog(qtbot, project, project / "exports" / "export")
    dialog.fmt.setCurrentIndex(dialog.fmt.findData("coco"))
    assert not dialog.train.isEnabled() and not dialog.tiles.isEnabled()
    dialog._accept()
    assert dialog.options is not None and dialog.options.fmt == "coco"
    assert dialog.options.tiles == 0 and dialog.options.statuses == ("done",)


def test_whose_boxes_reaches_the_options(qtbot, tmp_path):
    dialog = _dialog(qtbot, tmp_path / "proj", tmp_path / "proj" / "exports" / "export")
    dialog._accept()
    assert dialog.options.boxes == "all"
    dialog.boxes.setCurrentText("consensus")
    dialog._accept()
    assert dialog.options.boxes == "consensus"
    dialog.boxes.setCurrentText("dr b")  # one reader, typed in
    dialog._accept()
    assert dialog.options.boxes == "dr b"
