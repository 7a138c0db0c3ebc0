"""Menus, actions and keyboard shortcuts of the main window (LabelImg-compatible keys).

Actions use the window shortcut context, so they work whichever dock has focus, except
where a text field needs the key (Qt gives a focused line edit priority for typed keys).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from app import project_actions as pa
from app.controllers import relocate

if TYPE_CHECKING:
    from app.main_window import MainWindow


def _act(
    window: MainWindow,
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


def build_actions(w: MainWindow) -> dict[str, QAction]:
    a: dict[str, QAction] = {}
    ann = w.annotations
    # --- File
    a["new"] = _act(w, "&New project…", lambda: pa.new_project(w), "Ctrl+N")
    a["open"] = _act(w, "&Open project…", lambda: pa.open_project_dialog(w), "Ctrl+O")
    a["add_files"] = _act(w, "Add &images…", lambda: pa.add_image_files(w), "Ctrl+I")
    a["add_folder"] = _act(w, "Add a &folder…", lambda: pa.add_image_folder(w))
    a["export"] = _act(w, "&Export…", lambda: pa.export_dialog(w), "Ctrl+E")
    a["save"] = _act(w, "&Save", w.save_all, "Ctrl+S", "Everything is saved as you work")
    a["settings"] = _act(w, "Se&ttings…", lambda: pa.settings_dialog(w))
    a["quit"] = _act(w, "&Quit", w.close, "Ctrl+Q")
    # --- Edit
    a["undo"] = _act(w, "Undo", ann.undo, "Ctrl+Z")
    a["redo"] = _act(w, "Redo", ann.redo, ["Ctrl+Shift+Z", "Ctrl+Y"])
    a["draw"] = _act(w, "Draw a box", lambda: w.canvas.set_mode("draw"), "W")
    a["delete"] = _act(w, "Delete box", ann.delete_selected, "Del")
    a["duplicate"] = _act(w, "Duplicate box", ann.duplicate_selected, "Ctrl+D")
    a["copy_previous"] = _act(
        w, "Copy boxes of the previous image", w.copy_previous_boxes, "Ctrl+Shift+V"
    )
    a["difficult"] = _act(
        w, "Toggle difficult", partial(ann.toggle_flag, "difficult"), "Ctrl+Shift+D"
    )
    a["truncated"] = _act(
        w, "Toggle truncated", partial(ann.toggle_flag, "truncated"), "Ctrl+Shift+T"
    )
    a["next_box"] = _act(w, "Next box", lambda: w.canvas.select_next_box(1), "Tab")
    a["prev_box"] = _act(w, "Previous box", lambda: w.canvas.select_next_box(-1), "Shift+Tab")
    # --- Image / review
    a["prev"] = _act(w, "Previous image", lambda: w.step_image(-1), "A")
    a["next"] = _act(w, "Next image", lambda: w.step_image(1), "D")
    a["done"] = _act(w, "Mark done / in progress", ann.toggle_done, "Space")
    a["grade_cycle"] = _act(w, "Next grading scale", w.grades.cycle_active, "Alt+G")
    a["accept_grade"] = _act(w, "Accept the suggested grade", w.severity.accept_suggestion, "Alt+A")
    a["suggest_grade"] = _act(w, "Suggest a grade for this photo", w.severity.grade_current)
    a["locate"] = _act(w, "Locate the missing file…", lambda: relocate.locate_file(w))
    a["search_missing"] = _act(
        w, "Search a folder for missing files…", lambda: relocate.search_folder(w)
    )
    for d in range(10):
        a[f"grade_{d}"] = _act(w, f"Grade {d}", partial(w.grades.digit, d), f"Alt+{d}")
    for i in range(9):
        a[f"label_{i + 1}"] = _act(
            w, f"Label {i + 1}", partial(w.labels.choose_index, i), str(i + 1)
        )
    # --- Suggestions (issue 5)
    a["accept"] = _act(w, "Accept suggestion", ann.accept_selected, ["Return", "Enter"])
    a["reject"] = _act(w, "Reject suggestion", ann.reject_selected, "R")
    a["accept_all"] = _act(
        w,
        "Accept all above threshold",
        lambda: ann.accept_all_above(w.suggest_threshold),
        "Ctrl+Return",
    )
    a["suggest"] = _act(w, "Suggest boxes for this image", w.suggestions.suggest_current, "Ctrl+M")
    a["suggest_batch"] = _act(
        w, "Suggest for all unreviewed images", w.suggestions.suggest_unreviewed
    )
    a["import_model"] = _act(w, "Import a model…", w.import_model_dialog)
    # --- View
    a["fit"] = _act(w, "Fit image", w.canvas.fit, "Ctrl+F")
    a["one_to_one"] = _act(w, "1:1 (actual pixels)", w.canvas.one_to_one, "Ctrl+0")
    a["zoom_in"] = _act(w, "Zoom in", lambda: w.canvas.zoom_by(1.25), ["Ctrl+=", "Ctrl++"])
    a["zoom_out"] = _act(w, "Zoom out", lambda: w.canvas.zoom_by(0.8), "Ctrl+-")
    a["shortcuts"] = _act(w, "Keyboard shortcuts", lambda: pa.show_shortcuts(w), "F1")
    _menus(w, a)
    return a


def _menus(w: MainWindow, a: dict[str, QAction]) -> None:
    mb = w.menuBar()
    file_menu = mb.addMenu("&File")
    for key in ("new", "open"):
        file_menu.addAction(a[key])
    w.recent_menu = QMenu("Open &recent", w)
    w.recent_menu.aboutToShow.connect(lambda: _fill_recent(w))
    file_menu.addMenu(w.recent_menu)
    file_menu.addSeparator()
    for key in ("add_files", "add_folder", "export", "save"):
        file_menu.addAction(a[key])
    file_menu.addSeparator()
    file_menu.addAction(a["settings"])
    file_menu.addAction(a["quit"])
    edit = mb.addMenu("&Edit")
    for key in (
        "undo",
        "redo",
        None,
        "draw",
        "delete",
        "duplicate",
        "copy_previous",
        "difficult",
        "truncated",
    ):
        edit.addSeparator() if key is None else edit.addAction(a[key])
    image = mb.addMenu("&Image")
    for key in ("prev", "next", "done", "grade_cycle", "suggest_grade", "accept_grade", None):
        image.addSeparator() if key is None else image.addAction(a[key])
    image.addAction(a["locate"])
    image.addAction(a["search_missing"])
    w.model_menu = mb.addMenu("&Model")
    for key in (
        "suggest",
        "suggest_batch",
        None,
        "accept",
        "reject",
        "accept_all",
        None,
        "import_model",
    ):
        w.model_menu.addSeparator() if key is None else w.model_menu.addAction(a[key])
    view = mb.addMenu("&View")
    for key in ("fit", "one_to_one", "zoom_in", "zoom_out"):
        view.addAction(a[key])
    view.addSeparator()
    for dock in w.docks.values():
        view.addAction(dock.toggleViewAction())
    help_menu = mb.addMenu("&Help")
    help_menu.addAction(a["shortcuts"])


def _fill_recent(w: MainWindow) -> None:
    w.recent_menu.clear()
    recent = w.prefs.recent_projects()
    if not recent:
        w.recent_menu.addAction("(none yet)").setEnabled(False)
    for folder in recent:
        act = w.recent_menu.addAction(Path(folder).name or folder)
        act.setToolTip(folder)
        act.triggered.connect(lambda _c=False, f=folder: w.open_project(f))
