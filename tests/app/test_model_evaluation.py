"""Issue 11 item 7: Model > Evaluate shows the per-class table, the class confusion matrix
and the precision-recall curves of ``model evaluate --json --curves``, computed off the GUI
thread (in the real window: a child process; here a stand-in answers)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from core.errors import ClinLensError

DOC: dict[str, Any] = {
    "model": "detector:3",
    "images": 12,
    "iou": 0.5,
    "conf": 0.31,
    "precision": 0.75,
    "recall": 0.6,
    "f1": 0.6667,
    "ap50": 0.58,
    "tp": 6,
    "fp": 2,
    "fn": 4,
    "per_class": {
        "zipper": {
            "truths": 6,
            "predictions": 5,
            "tp": 4,
            "fp": 1,
            "fn": 2,
            "precision": 0.8,
            "recall": 0.667,
            "f1": 0.727,
            "ap50": 0.7,
        },
        "watch": {
            "truths": 4,
            "predictions": 3,
            "tp": 2,
            "fp": 1,
            "fn": 2,
            "precision": 0.667,
            "recall": 0.5,
            "f1": 0.571,
            "ap50": 0.46,
        },
    },
    "confusion": {
        "labels": ["zipper", "watch", "background"],
        "matrix": [[4, 0, 2], [1, 2, 1], [0, 1, 0]],
        "conf": 0.31,
        "iou": 0.5,
    },
    "pr_curves": {
        "zipper": {"recall": [0.17, 0.5, 0.67], "precision": [1.0, 0.75, 0.8], "ap": 0.7},
        "watch": {"recall": [0.25, 0.5], "precision": [1.0, 0.67], "ap": 0.46},
    },
}


def test_the_dialog_shows_the_table_the_matrix_and_a_curve_per_class(qtbot) -> None:
    from app.dialogs.evaluation_dialog import EvaluationDialog

    dialog = EvaluationDialog(DOC)
    qtbot.addWidget(dialog)
    assert "detector:3 on 12 held-out image(s)" in dialog.summary.text()
    assert "AP50 0.580" in dialog.summary.text()
    table = dialog.per_class
    assert [table.verticalHeaderItem(r).text() for r in range(table.rowCount())] == [
        "zipper",
        "watch",
    ]
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert table.item(1, headers.index("FN")).text() == "2"
    assert table.item(0, headers.index("AP50")).text() == "0.700"
    cm = dialog.confusion
    assert cm.rowCount() == cm.columnCount() == 3
    assert cm.verticalHeaderItem(2).text() == "true background"
    assert [[cm.item(r, c).text() for c in range(3)] for r in range(3)] == [
        ["4", "0", "2"],
        ["1", "2", "1"],
        ["0", "1", "0"],
    ]
    items = dialog.curves.getPlotItem().listDataItems()
    assert len(items) == 2
    x, y = items[0].getData()
    assert list(x) == [0.17, 0.5, 0.67] and list(y) == [1.0, 0.75, 0.8]


def test_the_controller_evaluates_off_the_gui_thread_and_shows_the_answer(qtbot, runner):
    import threading

    from app.controllers.model_evaluation import ModelEvaluationController

    threads: list[str] = []

    def evaluate(folder: str, cancel: Any) -> dict[str, Any]:
        threads.append(threading.current_thread().name)
        assert folder == "/projects/chest"
        return DOC

    controller = ModelEvaluationController(runner, None, evaluate=evaluate)
    controller.set_project(SimpleNamespace(folder="/projects/chest"))
    with qtbot.waitSignal(controller.evaluated, timeout=10000) as got:
        controller.evaluate()
    assert got.args[0]["model"] == "detector:3"
    assert threads and threads[0] != threading.main_thread().name
    assert controller.dialog is not None and controller.dialog.isVisible()
    controller.dialog.close()


def test_a_failed_evaluation_says_why_in_one_line(qtbot, runner):
    from app.controllers.model_evaluation import ModelEvaluationController

    def evaluate(folder: str, cancel: Any) -> dict[str, Any]:
        raise ClinLensError("no reviewed held-out images yet: review some first")

    controller = ModelEvaluationController(runner, None, evaluate=evaluate)
    controller.set_project(SimpleNamespace(folder="/p"))
    with qtbot.waitSignal(controller.error, timeout=10000) as got:
        controller.evaluate()
    assert got.args[0] == "Not evaluated: no reviewed held-out images yet: review some first"
    assert controller.dialog is None


def test_the_model_menu_offers_evaluate(qtbot) -> None:
    from PySide6.QtWidgets import QMenu

    from app.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    model_menu = next(m for m in w.menuBar().findChildren(QMenu) if m.title() == "&Model")
    texts = [a.text() for a in model_menu.actions()]
    assert "Evaluate the detector…" in texts
    w.close()
