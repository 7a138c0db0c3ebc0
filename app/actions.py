"""Menus, actions and keyboard shortcuts of the main window (LabelImg-compatible keys).

Actions use the window shortcut context, so they work whichever dock has focus, except
where a text field needs the key (Qt gives a focused line edit priority for typed keys).
Each action calls a controller (or one of the window's few own slots, named in
``ActionHost``); nothing here knows the window's class, so no import circle runs through it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Protocol

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu

from app.canvas import Canvas
from app.controllers.annotations import AnnotationController
from app.controllers.model_evaluation import ModelEvaluationController
from app.controllers.project import ProjectController
from app.controllers.reading_room import ReadingRoom
from app.controllers.relocate import RelocateController
from app.controllers.severity import SeverityController
from app.controllers.suggestions import SuggestionController
from app.controllers.training import TrainingController
from app.docks.grade_panel import GradePanel
from app.docks.label_panel import LabelPanel
from app.settings import Preferences


class ActionHost(Protocol):
    """What the actions trigger: the controllers and widgets the window composed, and the
    window's own slots (the ones that coordinate several of them)."""

    projects: ProjectController
    relocator: RelocateController
    annotations: AnnotationController
    suggestions: SuggestionController
    severity: SeverityController
    training: TrainingController
    model_evaluation: ModelEvaluationController
    reading_room: ReadingRoom
    canvas: Canvas
    grades: GradePanel
    labels: LabelPanel
    prefs: Preferences
    docks: dict[str, QDockWidget]

    @property
    def suggest_threshold(self) -> float: ...

    def save_all(self) -> None: ...

    def close(self) -> bool: ...

    def step_image(self, delta: int) -> None: ...

    def copy_previous_boxes(self) -> None: ...

    def import_model_dialog(self) -> None: ...

    def show_shortcuts(self) -> None: ...
    def show_about(self) -> None: ...


def _act(
    window: QMainWindow,
    text: str,
    slot: Callable[[], object],
    shortcut: str | QKeySequence.StandardKey | list[str] | None = None,
    tip: str = "",
) -> QAction:
    action = QAction(text, window)
    if isinstance(shortcut, list):
        action.setShortcuts([QKeySequence(s) for s in shortcut])
    elif shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setStatusTip(tip)
    action.triggered.connect(lambda _checked=False: slot())
    window.addAction(action)  # shortcuts work with menus hidden too
    return action


def build_actions(window: QMainWindow, w: ActionHost) -> dict[str, QAction]:
    """The actions, keyed by name, and the menu bar of ``window`` (usually also ``w``:
    ``window`` is where they live, ``w`` what they trigger)."""
    a: dict[str, QAction] = {}
    act = partial(_act, window)
    ann, pc, rc = w.annotations, w.projects, w.relocator
    # --- File
    a["new"] = act("&New project…", pc.new_project, "Ctrl+N")
    a["open"] = act("&Open project…", pc.open_project_dialog, "Ctrl+O")
    a["add_files"] = act("Add &images…", pc.add_image_files, "Ctrl+I")
    a["add_folder"] = act("Add a &folder…", pc.add_image_folder)
    a["export"] = act("&Export…", pc.export_dialog, "Ctrl+E")
    a["save"] = act("&Save", w.save_all, "Ctrl+S", "Everything is saved as you work")
    a["settings"] = act("Se&ttings…", pc.settings_dialog)
    a["quit"] = act("&Quit", w.close, "Ctrl+Q")
    # --- Edit
    a["undo"] = act("Undo", ann.undo, "Ctrl+Z")
    a["redo"] = act("Redo", ann.redo, ["Ctrl+Shift+Z", "Ctrl+Y"])
    a["draw"] = act("Draw a box", lambda: w.canvas.set_mode("draw"), "W")
    a["delete"] = act("Delete box", ann.delete_selected, "Del")
    a["duplicate"] = act("Duplicate box", ann.duplicate_selected, "Ctrl+D")
    a["copy_previous"] = act(
        "Copy boxes of the previous image", w.copy_previous_boxes, "Ctrl+Shift+V"
    )
    a["difficult"] = act("Toggle difficult", partial(ann.toggle_flag, "difficult"), "Ctrl+Shift+D")
    a["truncated"] = act("Toggle truncated", partial(ann.toggle_flag, "truncated"), "Ctrl+Shift+T")
    a["next_box"] = act("Next box", lambda: w.canvas.select_next_box(1), "Tab")
    a["prev_box"] = act("Previous box", lambda: w.canvas.select_next_box(-1), "Shift+Tab")
    # --- Image / review
    a["prev"] = act("Previous image", lambda: w.step_image(-1), "A")
    a["next"] = act("Next image", lambda: w.step_image(1), "D")
    a["done"] = act("Mark done / in progress", ann.toggle_done, "Space")
    a["grade_cycle"] = act("Next grading scale", w.grades.cycle_active, "Alt+G")
    a["accept_grade"] = act("Accept the suggested grade", w.severity.accept_suggestion, "Alt+A")
    a["suggest_grade"] = act("Suggest a grade for this photo", w.severity.grade_current)
    a["kind_xray"] = act("Grade this image as an X-ray", partial(ann.set_image_kind, "xray"))
    a["kind_photo"] = act("Grade this image as a photo", partial(ann.set_image_kind, "photo"))
    a["kind_auto"] = act("Image kind as the file says", partial(ann.set_image_kind, None))
    a["locate"] = act("Locate the missing file…", rc.locate_file)
    a["search_missing"] = act("Search a folder for missing files…", rc.search_folder)
    for d in range(10):
        a[f"grade_{d}"] = act(f"Grade {d}", partial(w.grades.digit, d), f"Alt+{d}")
    for i in range(9):
        a[f"label_{i + 1}"] = act(f"Label {i + 1}", partial(w.labels.choose_index, i), str(i + 1))
    # --- Suggestions (issue 5)
    a["accept"] = act("Accept suggestion", ann.accept_selected, ["Return", "Enter"])
    a["reject"] = act("Reject suggestion", ann.reject_selected, "R")
    a["accept_all"] = act(
        "Accept all above threshold",
        lambda: ann.accept_all_above(w.suggest_threshold),
        "Ctrl+Return",
    )
    a["suggest"] = act("Suggest boxes for this image", w.suggestions.suggest_current, "Ctrl+M")
    a["suggest_batch"] = act("Suggest for all unreviewed images", w.suggestions.suggest_unreviewed)
    a["import_model"] = act("Import a model…", w.import_model_dialog)
    a["train_detector"] = act("Train detector…", w.training.open_dialog)
    a["evaluate_detector"] = act("Evaluate the detector…", w.model_evaluation.evaluate)
    # --- View
    a["fit"] = act("Fit image", w.canvas.fit, "Ctrl+F")
    a["one_to_one"] = act("1:1 (actual pixels)", w.canvas.one_to_one, "Ctrl+0")
    a["zoom_in"] = act("Zoom in", lambda: w.canvas.zoom_by(1.25), ["Ctrl+=", "Ctrl++"])
    a["zoom_out"] = act("Zoom out", lambda: w.canvas.zoom_by(0.8), "Ctrl+-")
    a["full_screen"] = act("Full screen", partial(toggle_full_screen, window), "F11")
    a["full_screen"].setCheckable(True)
    a["shortcuts"] = act("Keyboard shortcuts", w.show_shortcuts, "F1")
    # --- Reading room (issue 17): right-drag = window/level, right double-click = reset
    rr = w.reading_room
    a["ruler"] = act("Ruler (measure a length)", rr.toggle_ruler, "M")
    a["ruler"].setCheckable(True)
    rr.ruler.toggled.connect(a["ruler"].setChecked)
    a["pigment"] = act("Hyperpigmentation view", rr.toggle_pigment, "H")
    a["reset_window"] = act("Reset window/level", rr.reset_window)
    a["dicom_tags"] = act("DICOM tags…", rr.show_dicom_tags, "Ctrl+Shift+I")
    a["about"] = act("&About ClinLens", w.show_about)
    readers = getattr(w, "readers_ui", None)
    if readers is not None:  # several readers (issue #15)
        # Checkable: ``toggled`` carries the state (``triggered`` does nothing here).
        a["blinded"] = act("&Blinded reading", lambda: None)
        a["blinded"].setCheckable(True)
        a["blinded"].toggled.connect(readers.set_blinded)
        readers.blinded_action = a["blinded"]
        a["adjudication"] = act("&Adjudication queue…", readers.open_adjudication)
        a["agreement"] = act("Reader a&greement…", readers.open_agreement)
        a["assignment_export"] = act("&Export a reading assignment…", readers.export_assignment)
        a["assignment_import"] = act("&Import a reader's results…", readers.import_results)
    _menus(window, w, a)
    return a


def toggle_full_screen(window: QMainWindow) -> None:
    """F11: full screen and back to the size the window had."""
    if window.isFullScreen():
        window.showNormal()
    else:
        window.showFullScreen()


def _add(menu: QMenu, a: dict[str, QAction], keys: Sequence[str | None]) -> None:
    """The named actions in order; None is a separator."""
    for key in keys:
        if key is None:
            menu.addSeparator()
        else:
            menu.addAction(a[key])


def _menus(window: QMainWindow, w: ActionHost, a: dict[str, QAction]) -> None:
    mb = window.menuBar()
    file_menu = mb.addMenu("&File")
    _add(file_menu, a, ("new", "open"))
    recent_menu = QMenu("Open &recent", window)
    recent_menu.aboutToShow.connect(lambda: _fill_recent(recent_menu, w))
    file_menu.addMenu(recent_menu)
    _add(file_menu, a, (None, "add_files", "add_folder", "export", "save", None))
    _add(file_menu, a, ("settings", "quit"))
    edit = mb.addMenu("&Edit")
    _add(edit, a, ("undo", "redo", None, "draw", "delete", "duplicate", "copy_previous"))
    _add(edit, a, ("difficult", "truncated"))
    image = mb.addMenu("&Image")
    _add(image, a, ("prev", "next", "done", "grade_cycle", "suggest_grade", "accept_grade", None))
    _add(image, a, ("locate", "search_missing"))
    _add(image, a, (None, "dicom_tags"))
    _add(image, a, ("kind_xray", "kind_photo", "kind_auto", None, "locate", "search_missing"))
    model_menu = mb.addMenu("&Model")
    _add(
        model_menu,
        a,
        (
            "suggest",
            "suggest_batch",
            None,
            "accept",
            "reject",
            "accept_all",
            None,
            "import_model",
            "train_detector",
            "evaluate_detector",
        ),
    )
    if "agreement" in a:
        readers_menu = mb.addMenu("&Readers")
        _add(readers_menu, a, ("blinded", None, "adjudication", "agreement", None))
        _add(readers_menu, a, ("assignment_export", "assignment_import"))
    view = mb.addMenu("&View")
    _add(view, a, ("fit", "one_to_one", "zoom_in", "zoom_out", None))
    _add(view, a, ("ruler", "pigment", "reset_window", None))
    _add(view, a, ("fit", "one_to_one", "zoom_in", "zoom_out", "full_screen", None))
    for dock in w.docks.values():
        view.addAction(dock.toggleViewAction())
    help_menu = mb.addMenu("&Help")
    help_menu.addAction(a["shortcuts"])
    help_menu.addAction(a["about"])


def _fill_recent(menu: QMenu, w: ActionHost) -> None:
    menu.clear()
    recent = w.prefs.recent_projects()
    if not recent:
        menu.addAction("(none yet)").setEnabled(False)
    for folder in recent:
        item = menu.addAction(Path(folder).name or folder)
        item.setToolTip(folder)
        item.triggered.connect(lambda _c=False, f=folder: w.projects.open_project(f))
