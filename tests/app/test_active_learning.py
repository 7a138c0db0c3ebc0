"""Review next and the active-learning loop in the annotator, with stand-ins for the
training controller and the detector process: the loop starts a retraining after K reviews
and not before, pauses (saying why) when it fails, refreshes the scores after a promotion;
review next follows the stored scores of the active version, the list's filters and the
held-out rule, within 100 ms."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QObject, Signal

from core.active import loop
from core.annotations import builtin_label_set
from core.store import NewImage, Project
from core.store.scores import StoredScore
from tests.app.conftest import runner_fixture, window_fixture  # noqa: F401


class FakeJob(QObject):
    failed = Signal(str)
    succeeded = Signal(object)
    cancelled = Signal()


class FakeTraining(QObject):
    epoch = Signal(object)
    trained = Signal(object)
    stopped = Signal(str)
    error = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Any] = []
        self.job: FakeJob | None = None
        self.refuse: str | None = None

    @property
    def running(self) -> bool:
        return self.job is not None

    def start(self, request: Any) -> Any:
        if self.refuse:
            self.error.emit(f"Cannot train: {self.refuse}")
            return None
        self.requests.append(request)
        self.job = FakeJob()
        return self.job

    def finish(self, status: str) -> None:
        self.job = None
        self.trained.emit({"model": "detector:2", "status": status})
        self.stopped.emit("succeeded")

    def fail(self, text: str) -> None:
        job, self.job = self.job, None
        self.stopped.emit("failed")
        assert job is not None
        job.failed.emit(text)


class FakeQueue:
    def __init__(self) -> None:
        self.refreshed = 0
        self.invalidated = 0

    def refresh_scores(self) -> None:
        self.refreshed += 1

    def invalidate(self) -> None:
        self.invalidated += 1


def _project(tmp_path: Path, n: int = 10) -> Project:
    p = Project.create(tmp_path / "proj", label_set=builtin_label_set("xray"), scales=[])
    p.add_images([NewImage(str(tmp_path / "proj" / f"im{i:05d}.png"), 64, 64) for i in range(n)])
    return p


def _loop(project: Project) -> tuple[Any, FakeTraining, FakeQueue, list[str]]:
    from app.controllers.active_loop import ActiveLoopController

    training, queue = FakeTraining(), FakeQueue()
    controller = ActiveLoopController(training, queue)
    texts: list[str] = []
    controller.status.connect(texts.append)
    controller.set_project(project)
    return controller, training, queue, texts


def _review(project: Project, controller: Any, ids: list[int]) -> None:
    for i in ids:
        project.set_review_status(i, "done")
        controller.on_reviewed(i)


def test_the_loop_is_off_by_default_and_retrains_after_k_reviews_not_before(
    tmp_path: Path, qtbot: Any
) -> None:
    project = _project(tmp_path)
    ids = project.image_ids()
    controller, training, queue, texts = _loop(project)
    assert controller.settings.enabled is False
    _review(project, controller, ids[:5])
    assert training.requests == [], "off by default: no retraining"

    controller.configure(enabled=True, every=3)  # armed at 5 reviewed images
    assert loop.load(project).enabled and loop.load(project).every == 3, "a project setting"
    _review(project, controller, ids[5:7])
    assert training.requests == [], "two new reviews: not yet"
    _review(project, controller, ids[7:8])
    assert len(training.requests) == 1 and training.requests[0].start == "active"
    training.epoch.emit({"epoch": 12, "epochs": 40})
    assert texts[-1] == "Active learning: retraining on 8 reviewed images, epoch 12/40"
    _review(project, controller, ids[8:10])
    assert len(training.requests) == 1, "one training at a time"

    training.finish("active")
    assert queue.refreshed == 1, "scores refreshed after a promotion"
    training.requests.clear()
    controller.on_reviewed()
    assert training.requests == [], "the count restarts at the training's start"
    project.close()


def test_a_failed_retraining_pauses_the_loop_with_its_reason(tmp_path: Path, qtbot: Any) -> None:
    project = _project(tmp_path)
    ids = project.image_ids()
    controller, training, queue, texts = _loop(project)
    controller.configure(enabled=True, every=2)
    _review(project, controller, ids[:2])
    assert len(training.requests) == 1
    training.fail("the training process died")
    assert "paused" in texts[-1] and "the training process died" in texts[-1]
    assert "active model stays" in texts[-1]
    assert loop.load(project).paused, "kept with the project"
    _review(project, controller, ids[2:6])
    assert len(training.requests) == 1, "paused: no new training"
    assert queue.refreshed == 0
    controller.resume()
    _review(project, controller, ids[6:8])
    assert len(training.requests) == 2
    # A refusal (too few held-out images) pauses too, with the refusal's text.
    training.job = None
    training.refuse = "no held-out images yet"
    _review(project, controller, ids[8:10])
    assert "no held-out images yet" in (loop.load(project).paused or "")
    project.close()


class _Backend:
    def __init__(self) -> None:
        self.calls: list[list[int]] = []

    def score(self, project, ids, *, kind, device, progress, cancel):  # type: ignore[no-untyped-def]
        self.calls.append(list(ids))
        project.scores.put(kind, "det:1", [StoredScore(i, i / 1000, ("scored",)) for i in ids])
        return {"model": "det:1", "scored": len(ids), "skipped": 0}


def _queue_controller(runner: Any, project: Project, filters: dict[str, Any] | None = None) -> Any:
    from app.controllers.review_queue import ReviewQueueController

    backend = _Backend()
    c = ReviewQueueController(runner, lambda: backend, lambda: dict(filters or {}))
    c.set_project(project)
    c.fake_backend = backend  # type: ignore[attr-defined]
    return c


def test_review_next_follows_the_scores_filters_and_held_out_rule(
    tmp_path: Path, runner: Any, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path, n=40)
    roles = project.heldout.roles()
    train = [i for i in project.image_ids() if roles[i] == "train"]
    held = [i for i in project.image_ids() if roles[i] == "heldout"]
    assert held
    c = _queue_controller(runner, project)
    messages: list[str] = []
    c.message.connect(lambda text, ms: messages.append(text))
    # No active model: file order, and it says so.
    monkeypatch.setattr("app.controllers.review_queue.active_detector_ref", lambda f: None)
    first = c.review_next()
    assert first == project.image_ids()[0] or first == held[0]
    assert "no active model" in messages[-1]
    monkeypatch.setattr("app.controllers.review_queue.active_detector_ref", lambda f: "det:1")
    with qtbot.waitSignal(c.scores_changed, timeout=10000):
        c.refresh_scores()
    scored = sorted(i for call in c.fake_backend.calls for i in call)
    assert scored == train, "held-out images are never scored"
    assert max(len(call) for call in c.fake_backend.calls) <= 4, "small requests"
    # Enough held-out images reviewed: the next is the best-scored training image.
    for i in held[:2] + train[:3]:
        project.set_review_status(i, "done")
    c.invalidate()
    got = c.review_next()
    assert got == max(train[3:]), "highest stored score first"
    assert "score 0.0" in messages[-1] and "scored" in messages[-1]
    # The list's filters: a search that only one training image passes.
    name = Path(project.image(train[4]).path).name
    filtered = _queue_controller(runner, project, {"search": name})
    assert filtered.review_next() == train[4]
    # Never a held-out image by rank: give them huge scores, they still come only by rate.
    project.scores.put("detector", "det:1", [StoredScore(i, 99.0) for i in held])
    c.invalidate()
    q = c.next_image()
    assert not q.items[0].heldout or q.items[0].score is None
    project.close()


def test_review_next_answers_within_100_ms_from_stored_scores(
    tmp_path: Path, runner: Any, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path, n=2000)
    ids = project.image_ids()
    project.scores.put("detector", "det:1", [StoredScore(i, (i * 7919 % 1000) / 1000) for i in ids])
    monkeypatch.setattr("app.controllers.review_queue.active_detector_ref", lambda f: "det:1")
    c = _queue_controller(runner, project)

    def every_score(*a: Any, **k: Any) -> Any:
        raise AssertionError("review next read every stored score")

    # It answers from the store with LIMIT queries, never from all the scores (what took
    # 0.7 s at 20,000 images): the first answer, from a cold controller, is as quick.
    monkeypatch.setattr(project.scores, "scores", every_score)
    times, got = [], []
    for _ in range(6):
        start = time.perf_counter()
        got.append(c.review_next())
        times.append(time.perf_counter() - start)
    roles = project.heldout.roles()
    best = max((i for i in ids if roles[i] == "train"), key=lambda i: (i * 7919 % 1000, -i))
    assert got[0] in (best, min(i for i in ids if roles[i] == "heldout")), "best or held-out"
    assert times[0] < 0.1 and sorted(times)[3] < 0.1, times
    project.close()


def test_the_window_has_review_next_on_n_and_the_list_sorts_by_informativeness(
    window: Any, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    ui = window.active_learning
    assert ui.review_next.shortcut().toString() == "N"
    from PySide6.QtWidgets import QToolBar

    toolbar_actions = [a for tb in window.findChildren(QToolBar) for a in tb.actions()]
    assert ui.review_next in toolbar_actions, "a toolbar button"
    project = window.project
    ids = project.image_ids()
    roles = project.heldout.roles()
    train = [i for i in ids if roles[i] == "train"]
    best = train[-1]
    project.scores.put(
        "detector",
        "det:1",
        [StoredScore(i, 0.9 if i == best else 0.1, ("2 uncertain boxes",)) for i in train],
    )
    monkeypatch.setattr("app.controllers.review_queue.active_detector_ref", lambda f: "det:1")
    with qtbot.waitSignal(ui.queue.scores_changed, timeout=10000):
        ui.queue.invalidate()  # read by a background job
    for i in ids:
        if roles[i] == "heldout":  # the held-out quota is met
            for scale in project.definitions.scales():
                project.grading.set_grade(i, scale.name, 1.0)
            project.set_review_status(i, "done")
    window.activateWindow()
    window.canvas.setFocus()
    with qtbot.waitSignal(window.image_shown, timeout=10000, raising=False):
        QTest.keyClick(window.canvas, Qt.Key.Key_N)
    assert window.annotations.image_id == best
    assert "2 uncertain boxes" in window.statusBar().currentMessage()
    model = window.images.model
    assert "score 0.90: 2 uncertain boxes" in model.summary(project.image(best))
    window.images.sort.setCurrentIndex(1)  # most informative first
    assert model.sorted_by_score and model.record(0).id == best
    assert window.images.current_image_id() == best, "the selection follows the sort"
    window.images.sort.setCurrentIndex(0)
    assert model.record(0).id == ids[0]
