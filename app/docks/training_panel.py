"""Training dock: the live plot, Cancel, and the result beside the active version.

Only widgets and signals; the TrainingController runs the training and says what to show.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from app.docks.training_plot import TrainingPlot

KEYS = (("precision", "Precision"), ("recall", "Recall"), ("f1", "F1"), ("ap50", "AP50"))


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{float(value):.3f}"


def summary_html(result: dict[str, Any]) -> str:
    """The new and the previous active version side by side, with the gate's verdict."""
    new, prev = result.get("heldout") or {}, result.get("previous")
    head = f"<tr><th></th><th>{result['model']} (new)</th>"
    head += f"<th>{prev['model']} (active before)</th></tr>" if prev else "</tr>"
    rows = []
    for key, text in (("images", "Held-out images"), *KEYS):
        cells = f"<td>{new.get(key) if key == 'images' else _fmt(new.get(key))}</td>"
        if prev:
            cells += f"<td>{prev.get(key) if key == 'images' else _fmt(prev.get(key))}</td>"
        rows.append(f"<tr><td>{text}</td>{cells}</tr>")
    if result.get("status") == "active":
        verdict = f"{result['model']} passed the held-out gate and is now the active detector."
    else:
        verdict = (
            f"{result['model']} did not beat the active detector on the held-out images; it "
            "is kept as a candidate."
        )
    return f"<table cellspacing='6'>{head}{''.join(rows)}</table><p>{verdict}</p>"


class TrainingPanel(QWidget):
    cancel_requested = Signal()
    promote_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = TrainingPlot()
        self.state = QLabel("No training yet. Model ▸ Train detector… starts one.")
        self.state.setWordWrap(True)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.cancel_button = QPushButton("Cancel training")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.promote_button = QPushButton("Promote")
        self.promote_button.hide()
        self.promote_button.clicked.connect(self._promote)
        self._model: str | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.state)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.cancel_button)
        lay.addWidget(self.summary)
        lay.addWidget(self.promote_button)

    def training_started(self) -> None:
        self.plot.prefetch()
        self.plot.clear()
        self.summary.setText("")
        self.promote_button.hide()
        self.cancel_button.setEnabled(True)
        self.state.setText("Training…")

    def training_stopped(self, outcome: str) -> None:
        self.cancel_button.setEnabled(False)
        texts = {"cancelled": "Training cancelled.", "failed": "Training failed."}
        if outcome in texts:
            self.state.setText(texts[outcome])

    def show_result(self, result: dict[str, Any]) -> None:
        self.state.setText(
            f"Trained {result['model']} in {float(result.get('seconds') or 0):.0f} s"
        )
        self.summary.setText(summary_html(result))
        self._model = str(result["model"])
        candidate = result.get("status") == "candidate"
        self.promote_button.setText(f"Promote {self._model}")
        self.promote_button.setVisible(candidate)

    def promoted(self, ref: str) -> None:
        if ref == self._model:
            self.promote_button.hide()
            self.summary.setText(self.summary.text() + f"<p>{ref} promoted by hand.</p>")

    def _promote(self) -> None:
        if self._model:
            self.promote_requested.emit(self._model)
