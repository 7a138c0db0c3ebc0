"""Issue 16: the Severity tab trains the grader the user picks (ridge on the frozen
features, ridge after fine-tuning the backbone's last blocks, or the most similar faces),
and the choice reaches the severity process's ``train`` request."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from app.canvas import Canvas
from app.controllers.severity import SeverityController
from app.docks.severity_panel import SeverityPanel


class RecordingWorker:
    """Stands in for the severity process: records each request, trains nothing."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        fields.pop("progress", None)
        fields.pop("cancel", None)
        self.requests.append((op, fields))
        return {"summary": {"model": "acne4:1", "training": {"faces": 12}, "metrics": {}}}


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Ridge on features", {"grader": "regression"}),
        ("Ridge, fine-tuned", {"grader": "regression", "fine_tune": True}),
        ("Most similar faces", {"grader": "similarity"}),
    ],
)
def test_the_chosen_grader_reaches_the_train_request(qtbot, runner, label, expected):
    panel = SeverityPanel()
    canvas = Canvas()
    qtbot.addWidget(panel)
    qtbot.addWidget(canvas)
    controller = SeverityController(runner, panel, canvas, annotations=SimpleNamespace())
    controller.refresh_status = lambda: None  # type: ignore[method-assign]
    controller.project = SimpleNamespace(folder="/nowhere")
    worker = RecordingWorker()
    controller.worker = worker
    index = panel.grader_kind.findText(label)
    assert index >= 0, label
    panel.grader_kind.setCurrentIndex(index)
    job = controller.train("acne4")
    with qtbot.waitSignal(job.finished, timeout=10000):
        pass
    assert job.state == "succeeded", job.error
    [(op, fields)] = worker.requests
    assert op == "train" and fields["scale"] == "acne4"
    assert {k: v for k, v in fields.items() if k in ("grader", "fine_tune")} == expected
