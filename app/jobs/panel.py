"""Jobs panel (a dock) and the status-bar progress indicator, both fed by the JobRunner."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.jobs.runner import Job, JobRunner

_STATE_TEXT = {
    "queued": "waiting",
    "running": "running",
    "succeeded": "done",
    "failed": "failed",
    "cancelled": "cancelled",
}


class JobRow(QWidget):
    """One job: title, progress bar, state text and a cancel button."""

    def __init__(self, job: Job, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job = job
        self.title = QLabel(job.title)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(10)
        self.state = QLabel()
        self.state.setWordWrap(True)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop this job")
        self.cancel_button.clicked.connect(job.cancel)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.title, 1)
        top.addWidget(self.cancel_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)
        lay.setSpacing(1)
        lay.addLayout(top)
        lay.addWidget(self.bar)
        lay.addWidget(self.state)
        job.progressed.connect(self.refresh)
        job.finished.connect(self.refresh)
        self.refresh()

    def refresh(self, *_args: object) -> None:
        job = self.job
        if job.fraction < 0:
            self.bar.setRange(0, 0)  # busy indicator when the job cannot say how far it is
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(job.fraction * 1000))
        text = _STATE_TEXT.get(job.state, job.state)
        if job.state == "failed" and job.error:
            text = f"failed: {job.error}"
        elif job.message and not job.done:
            text = f"{text} - {job.message}"
        self.state.setText(text)
        self.cancel_button.setEnabled(not job.done)
        self.cancel_button.setVisible(not job.done)
        if job.done:
            self.bar.setRange(0, 1000)
            self.bar.setValue(1000 if job.state == "succeeded" else self.bar.value())


class JobsPanel(QWidget):
    """Lists running and recently finished visible jobs, newest on top."""

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.rows: dict[int, JobRow] = {}
        self._list = QWidget()
        self._list_layout = QVBoxLayout(self._list)
        self._list_layout.setContentsMargins(0, 0, 0, 0)
        self._list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._list)
        self.empty = QLabel("No background jobs yet.")
        self.clear_button = QPushButton("Clear finished")
        self.clear_button.clicked.connect(self.clear_finished)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.empty)
        lay.addWidget(scroll, 1)
        lay.addWidget(self.clear_button)
        runner.job_added.connect(self._on_job_added)
        self._update_empty()

    def _on_job_added(self, job: Job) -> None:
        if not job.visible:
            return
        row = JobRow(job)
        self.rows[job.id] = row
        self._list_layout.insertWidget(0, row)
        self._update_empty()

    def clear_finished(self) -> None:
        for job_id, row in list(self.rows.items()):
            if row.job.done:
                row.setParent(None)
                row.deleteLater()
                del self.rows[job_id]
        self._update_empty()

    def _update_empty(self) -> None:
        self.empty.setVisible(not self.rows)


class JobsStatusIndicator(QWidget):
    """Status-bar widget: a compact progress bar + the running job's title; hidden when idle."""

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setMaximumWidth(140)
        self.bar.setMaximumHeight(14)
        self.bar.setTextVisible(False)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("✕")
        self.cancel_button.setToolTip("Cancel the running job")
        self.cancel_button.clicked.connect(self._cancel_current)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.label)
        lay.addWidget(self.bar)
        lay.addWidget(self.cancel_button)
        runner.job_added.connect(self._on_job_added)
        runner.job_finished.connect(lambda _job: self.refresh())
        self.refresh()

    def _current(self) -> Job | None:
        running = [j for j in self.runner.active_jobs if j.visible]
        return running[-1] if running else None

    def _on_job_added(self, job: Job) -> None:
        if job.visible:
            job.progressed.connect(self.refresh)
        self.refresh()

    def _cancel_current(self) -> None:
        job = self._current()
        if job is not None:
            job.cancel()

    def refresh(self, *_args: object) -> None:
        job = self._current()
        self.setVisible(job is not None)
        if job is None:
            return
        others = len([j for j in self.runner.active_jobs if j.visible]) - 1
        suffix = f" (+{others} more)" if others > 0 else ""
        self.label.setText(f"{job.title}{suffix}")
        if job.fraction < 0:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(job.fraction * 1000))
