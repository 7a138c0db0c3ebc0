"""Review next and the active-learning loop, composed into the main window (issue #12).

``install(window)`` makes the two controllers, the "Review next" action (key N, in the
Image menu and on the "Active learning" toolbar), the loop's switch and its K, and the
loop's line in the status bar, and wires them to the window's controllers: the image
list's filters and sort, the detector backend the suggestions use (for scoring), the
training controller (the loop's retraining) and the severity controller (its grader).
The window only calls ``install``; nothing here knows its class.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QInputDialog, QLabel

from app.controllers.active_loop import ActiveLoopController
from app.controllers.review_queue import ReviewQueueController

SHORTCUT = "N"


class ActiveLearningUI:
    def __init__(self, window: Any) -> None:
        self.window = window
        self.queue = ReviewQueueController(
            window.runner,
            lambda: window.suggestions.backend(),
            lambda: dict(window.images.model.filters),
            window,
        )
        self.loop = ActiveLoopController(window.training, self.queue, window.severity, window)
        self.status_label = QLabel()
        window.statusBar().addPermanentWidget(self.status_label)
        self.review_next = QAction("Review next (most informative)", window)
        self.review_next.setShortcut(QKeySequence(SHORTCUT))
        self.review_next.setStatusTip(
            "Open the unreviewed image the active model would learn most from"
        )
        self.review_next.triggered.connect(lambda _c=False: self.queue.review_next(self._current()))
        self.auto = QAction("Retrain automatically after K reviews", window)
        self.auto.setCheckable(True)
        self.auto.toggled.connect(self._toggle_loop)
        self.set_k = QAction("Set K for automatic retraining…", window)
        self.set_k.triggered.connect(lambda _c=False: self._ask_k())
        for action in (self.review_next, self.auto, self.set_k):
            window.addAction(action)
        toolbar = window.addToolBar("Active learning")
        toolbar.setObjectName("toolbar_active_learning")
        toolbar.addAction(self.review_next)
        toolbar.addAction(self.auto)
        self._add_to_menus()
        self._wire()

    def _add_to_menus(self) -> None:
        for action in self.window.menuBar().actions():
            menu = action.menu()
            if menu is None:
                continue
            if action.text() == "&Image":
                menu.insertAction(menu.actions()[0] if menu.actions() else None, self.review_next)
            elif action.text() == "&Model":
                menu.addSeparator()
                menu.addAction(self.auto)
                menu.addAction(self.set_k)

    def _wire(self) -> None:
        w, q, lp = self.window, self.queue, self.loop
        q.message.connect(lambda text, ms: w.statusBar().showMessage(text, ms))
        q.error.connect(w.show_error)
        q.navigate_to.connect(lambda i: w.images.select_image(i))
        q.scores_changed.connect(lambda: w.images.model.set_scores(q.scores()))
        # New scores: repaint the visible rows (not dataChanged over 20,000 rows).
        w.images.model.scores_replaced.connect(w.images.view.viewport().update)
        lp.status.connect(self.status_label.setText)
        lp.message.connect(lambda text, ms: w.statusBar().showMessage(text, ms))
        w.annotations.image_changed.connect(lp.on_reviewed)
        w.training.models_changed.connect(self._on_models_changed)
        w.project_changed.connect(self.set_project)

    def _current(self) -> int | None:
        return self.window.images.current_image_id()

    def set_project(self, project: Any) -> None:
        self.queue.set_project(project)
        self.loop.set_project(project)
        writable = project is not None and not project.read_only
        self.auto.blockSignals(True)
        self.auto.setChecked(bool(self.loop.settings.enabled))
        self.auto.blockSignals(False)
        self.auto.setEnabled(writable)
        self.set_k.setEnabled(writable)
        self.review_next.setEnabled(project is not None)
        self._update_auto_text()
        if project is not None:
            self.queue.invalidate()  # the list's scores, read off the GUI thread
            self.queue.refresh_scores()  # idle lane: only what the active version lacks

    def _on_models_changed(self) -> None:
        if self.queue.project is None:
            return
        self.queue.invalidate()
        self.queue.refresh_scores()

    def _toggle_loop(self, on: bool) -> None:
        self.loop.configure(enabled=on)

    def _ask_k(self) -> None:
        k, ok = QInputDialog.getInt(
            self.window,
            "Automatic retraining",
            "Retrain after this many newly reviewed images (and new grades per scale):",
            self.loop.settings.every,
            1,
            10000,
        )
        if ok:
            self.loop.configure(enabled=self.loop.settings.enabled, every=k)
            self._update_auto_text()

    def _update_auto_text(self) -> None:
        self.auto.setText(f"Retrain automatically after {self.loop.settings.every} reviews")


def install(window: Any) -> ActiveLearningUI:
    return ActiveLearningUI(window)
