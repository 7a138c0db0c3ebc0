"""ProjectController without a main window: a real job runner, a real session, and a fake
prompts object that answers at once (no dialog is ever shown)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.controllers.project import ProjectController, free_export_folder
from app.controllers.project_session import ProjectSession
from app.dialogs.new_project import NewProjectSpec
from app.jobs import JobRunner
from app.settings import Preferences
from core.project_io import ExportOptions
from tests.app.conftest import make_project, runner_fixture, write_xray  # noqa: F401


@dataclass
class FakePrompts:
    """``ProjectPrompts`` with scripted answers; records everything it was shown."""

    answer: bool = True
    file: str | None = None
    files: list[str] = field(default_factory=list)
    folder: str | None = None
    spec: NewProjectSpec | None = None
    options: ExportOptions | None = None
    settings: Any = None  # fn(prefs) -> bool, else the form is cancelled
    questions: list[str] = field(default_factory=list)
    reports: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)

    def ask(self, title: str, question: str) -> bool:
        self.questions.append(question)
        return self.answer

    def inform(self, title: str, text: str) -> None:
        self.reports.append((title, text))

    def warn(self, title: str, text: str) -> None:
        self.warnings.append((title, text))

    def pick_file(self, caption: str, start: str = "", filter: str = "") -> str | None:
        self.captions.append(caption)
        return self.file

    def pick_files(self, caption: str, start: str = "", filter: str = "") -> list[str]:
        self.captions.append(caption)
        return list(self.files)

    def pick_folder(self, caption: str, start: str = "") -> str | None:
        self.captions.append(caption)
        return self.folder

    def new_project_spec(self) -> NewProjectSpec | None:
        return self.spec

    def export_options(self, default_out: Path) -> ExportOptions | None:
        self.captions.append(str(default_out))
        return self.options

    def edit_settings(self, prefs: Preferences) -> bool:
        return bool(self.settings(prefs)) if self.settings is not None else False


@dataclass
class Seen:
    """What the controller told the window, signal by signal."""

    opened: list[Any] = field(default_factory=list)
    added: int = 0
    jobs: list[Any] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    flushes: int = 0


@pytest.fixture
def prompts() -> FakePrompts:
    return FakePrompts()


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
def controller(runner: JobRunner, prompts: FakePrompts, seen: Seen) -> Iterator[ProjectController]:
    session = ProjectSession(Preferences(), prompts.ask)

    def flush() -> None:
        seen.flushes += 1

    c = ProjectController(session, runner, prompts, flush_edits=flush)
    c.project_opened.connect(seen.opened.append)
    c.images_added.connect(lambda: setattr(seen, "added", seen.added + 1))
    c.job_started.connect(seen.jobs.append)
    c.message.connect(lambda text, _ms: seen.messages.append(text))
    c.error.connect(seen.errors.append)
    yield c
    session.close()


# --- open / new ---------------------------------------------------------------------------
def test_opening_a_project_hands_it_to_the_window_and_remembers_it(controller, seen, tmp_path):
    make_project(tmp_path / "p").close()
    assert controller.open_project(tmp_path / "p")
    assert seen.opened == [controller.project]
    assert controller.project.folder == tmp_path / "p"
    assert str((tmp_path / "p").resolve()) in controller.session.prefs.recent_projects()


def test_open_dialog_opens_the_picked_folder_and_cancel_opens_nothing(
    controller, prompts, seen, tmp_path
):
    make_project(tmp_path / "p").close()
    assert not controller.open_project_dialog()  # the fake picks nothing: cancelled
    assert seen.opened == []
    prompts.folder = str(tmp_path / "p")
    assert controller.open_project_dialog()
    assert prompts.captions == ["Open project folder", "Open project folder"]
    assert len(seen.opened) == 1


def test_not_a_project_is_a_warning_not_a_traceback(controller, prompts, seen, tmp_path):
    (tmp_path / "empty").mkdir()
    assert not controller.open_project(tmp_path / "empty")
    assert prompts.warnings[0][0] == "Cannot open the project"
    assert "not a ClinLens project" in prompts.warnings[0][1]
    assert seen.opened == [] and controller.project is None


def test_a_locked_project_declined_read_only_stays_closed(controller, prompts, seen, tmp_path):
    from core.store import Project

    make_project(tmp_path / "p").close()
    prompts.answer = False
    with Project.open(tmp_path / "p"):  # another instance holds the write lock
        assert not controller.open_project(tmp_path / "p")
    assert prompts.questions and "read-only" in prompts.questions[0]
    assert seen.opened == [] and controller.project is None


def test_a_locked_project_accepted_read_only_opens_read_only(controller, prompts, tmp_path):
    from core.store import Project

    make_project(tmp_path / "p").close()
    with Project.open(tmp_path / "p"):
        assert controller.open_project(tmp_path / "p")
        assert controller.project.read_only
        assert controller.session.read_only_reason == "another ClinLens is editing it"


def _spec(folder: Path) -> NewProjectSpec:
    from core.annotations import builtin_label_set

    return NewProjectSpec(
        folder=folder, name="fresh", label_set=builtin_label_set("xray"), scales=[]
    )


def test_new_project_creates_and_opens_it_and_cancel_creates_nothing(
    controller, prompts, seen, tmp_path
):
    assert not controller.new_project()  # the form was cancelled
    prompts.spec = _spec(tmp_path / "created")
    assert controller.new_project()
    assert seen.opened == [controller.project]
    assert controller.project.name == "fresh" and not controller.project.read_only
    assert (tmp_path / "created").is_dir()


def test_new_project_over_an_existing_one_is_warned_and_keeps_the_open_one(
    controller, prompts, seen, tmp_path
):
    make_project(tmp_path / "p").close()
    assert controller.open_project(tmp_path / "p")
    prompts.spec = _spec(tmp_path / "p")
    assert not controller.new_project()
    assert prompts.warnings[0][0] == "Cannot create the project"
    assert "already holds a ClinLens project" in prompts.warnings[0][1]
    assert controller.project is seen.opened[0]


# --- import -------------------------------------------------------------------------------
def test_adding_images_needs_a_project_that_can_be_written(controller, prompts, seen, tmp_path):
    prompts.files = [str(write_xray(tmp_path / "a.png"))]
    assert controller.add_image_files() is None
    make_project(tmp_path / "p").close()
    assert controller.open_project(tmp_path / "p", read_only=True)
    assert controller.add_image_files() is None
    assert seen.errors == ["Open a project you can edit before adding images."] * 2
    assert seen.jobs == []


def test_adding_a_folder_imports_in_a_job_then_the_list_re_reads(
    qtbot, controller, prompts, seen, tmp_path
):
    make_project(tmp_path / "p", n_images=1).close()
    assert controller.open_project(tmp_path / "p")
    assert controller.add_image_folder() is None  # folder picker cancelled
    for i in range(2):
        write_xray(tmp_path / "more" / f"new_{i}.png", seed=10 + i)
    prompts.folder = str(tmp_path / "more")
    job = controller.add_image_folder()
    assert seen.jobs == [job] and job.title == "Add more"
    with qtbot.waitSignal(job.succeeded, timeout=10000):
        pass
    assert seen.added == 1
    assert seen.messages[-1].startswith("imported 2 image(s)")
    assert len(controller.project.image_ids()) == 3


def test_several_files_are_one_import_job(qtbot, controller, prompts, seen, tmp_path):
    make_project(tmp_path / "p", n_images=1).close()
    assert controller.open_project(tmp_path / "p")
    prompts.files = [str(write_xray(tmp_path / f"x{i}.png", seed=i + 5)) for i in range(3)]
    job = controller.add_image_files()
    assert job.title == "Add 3 items"
    with qtbot.waitSignal(job.finished, timeout=10000):
        pass
    assert job.state == "succeeded"
    assert len(controller.project.image_ids()) == 4


# --- export -------------------------------------------------------------------------------
def test_export_stores_pending_edits_first_and_reports_in_the_status_bar(
    qtbot, controller, prompts, seen, tmp_path
):
    make_project(tmp_path / "p").close()
    assert controller.open_project(tmp_path / "p")
    out = tmp_path / "voc"
    prompts.options = ExportOptions(fmt="voc", out=out, images=False, statuses=None)
    job = controller.export_dialog()
    assert seen.flushes == 1
    assert prompts.captions == [str(tmp_path / "p" / "exports" / "export")]
    assert job.title == "Export VOC to voc" and seen.jobs == [job]
    with qtbot.waitSignal(job.succeeded, timeout=10000):
        pass
    assert len(list(out.rglob("*.xml"))) == 3
    assert "exported 3 image" in seen.messages[-1]


def test_export_cancelled_in_the_form_or_without_a_project_runs_nothing(
    controller, prompts, seen, tmp_path
):
    assert controller.export_dialog() is None  # no project
    make_project(tmp_path / "p").close()
    assert controller.open_project(tmp_path / "p")
    assert controller.export_dialog() is None  # the form was cancelled
    assert seen.jobs == [] and seen.flushes == 0


def test_the_suggested_export_folder_never_reuses_an_earlier_export(tmp_path):
    assert free_export_folder(tmp_path) == tmp_path / "export"
    (tmp_path / "export").mkdir()
    (tmp_path / "export-2").mkdir()
    assert free_export_folder(tmp_path) == tmp_path / "export-3"


# --- settings -----------------------------------------------------------------------------
def test_saved_settings_set_the_author_of_the_open_project(controller, prompts, tmp_path):
    make_project(tmp_path / "p").close()
    assert controller.open_project(tmp_path / "p")
    assert not controller.settings_dialog()  # cancelled: nothing changes
    before = controller.project.author

    def edit(prefs: Preferences) -> bool:
        prefs.author = "Dr. Grace"
        return True

    prompts.settings = edit
    assert controller.settings_dialog()
    assert controller.project.author == "Dr. Grace" != before


# --- the Qt prompts the window passes in ----------------------------------------------------
def test_qt_prompts_return_what_the_forms_hold_or_none_when_cancelled(qtbot, monkeypatch, tmp_path):
    from app.controllers.qt_prompts import QtPrompts
    from app.dialogs.export_dialog import ExportDialog
    from app.dialogs.new_project import NewProjectDialog
    from app.dialogs.settings_dialog import SettingsDialog

    qt = QtPrompts()
    for dialog in (NewProjectDialog, ExportDialog, SettingsDialog):
        monkeypatch.setattr(dialog, "exec", lambda self: 0)
    prefs = Preferences()
    assert qt.new_project_spec() is None
    assert qt.export_options(tmp_path / "out") is None
    assert not qt.edit_settings(prefs)

    def fill_new(dialog: NewProjectDialog) -> int:
        dialog.folder.setText(str(tmp_path / "new"))
        dialog._accept()
        return 1

    def fill_export(dialog: ExportDialog) -> int:
        dialog._accept()
        return 1

    def fill_settings(dialog: SettingsDialog) -> int:
        dialog.author.setText("Dr. Grace")
        return 1

    monkeypatch.setattr(NewProjectDialog, "exec", fill_new)
    monkeypatch.setattr(ExportDialog, "exec", fill_export)
    monkeypatch.setattr(SettingsDialog, "exec", fill_settings)
    assert qt.new_project_spec().folder == tmp_path / "new"
    assert qt.export_options(tmp_path / "out").out == tmp_path / "out"
    assert qt.edit_settings(prefs) and prefs.author == "Dr. Grace"


def test_qt_prompts_pickers_give_none_or_empty_when_cancelled(monkeypatch):
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    from app.controllers.qt_prompts import QtPrompts

    qt = QtPrompts()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a: ("", ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a: ([], ""))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a: "")
    assert qt.pick_file("x") is None and qt.pick_files("x") == [] and qt.pick_folder("x") is None
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a: "/data/scans")
    assert qt.pick_folder("x") == "/data/scans"
    answers = iter([QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No])
    monkeypatch.setattr(QMessageBox, "question", lambda *a: next(answers))
    assert qt.ask("t", "q?") is True and qt.ask("t", "q?") is False
