"""Model suggestions in the annotator: no-model message, dashed suggestions with scores,
accept / reject / edit, accept-all, latest-request-wins on navigation, batch with cancel,
and the trust question before importing a model file.

A torch-free detector (real tiling, merging and class mapping; bright blobs instead of a
network) stands in for YOLO, run in the job's thread, so these tests stay fast. The real
detector process with a tiny YOLO drives the window at the end of this file.
"""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QRectF, Qt
from PySide6.QtTest import QTest

from app.controllers.suggestion_backends import InThreadBackend, ProcessBackend
from tests.app.conftest import window_fixture  # noqa: F401
from tests.ml.conftest import make_blob_detector, tiny_yolo  # noqa: F401


def _register_stub_model(window, tmp_path):
    from ml import registry

    fake = tmp_path / "stub.pt"
    fake.write_bytes(b"stub detector for GUI tests")
    registry.import_model(window.project.folder, fake, "detector", "stub", inspect=False)
    window.suggestions.refresh_status()


@pytest.fixture
def with_model(window, tmp_path):
    _register_stub_model(window, tmp_path)
    _use_detector(
        window, lambda project, device: make_blob_detector(threshold=200, model_ref="stub:1")
    )
    return window


def _use_detector(window, factory):
    window.suggestions.set_backend(InThreadBackend(factory))


def _suggest_and_wait(qtbot, window):
    job = window.suggestions.suggest_current()
    assert job is not None
    with qtbot.waitSignal(job.finished, timeout=20000):
        pass
    assert job.state == "succeeded", job.error
    return job


def _pending(window):
    return [b for b in window.project.boxes(window.annotations.image_id) if b.status == "suggested"]


def test_without_a_model_the_panel_says_so_and_nothing_runs(window):
    assert "No detector" in window.model_panel.status.text()
    assert not window.model_panel.suggest_button.isEnabled()
    assert window.suggestions.suggest_current() is None
    assert "No detector" in window.statusBar().currentMessage()
    assert not [j for j in window.runner.active_jobs if (j.channel or "").startswith("suggest")]


def test_suggestions_are_stored_and_drawn_dashed_with_scores(qtbot, with_model):
    window = with_model
    assert window.model_panel.suggest_button.isEnabled()
    assert "stub:1" in window.model_panel.status.text()
    _suggest_and_wait(qtbot, window)
    pending = _pending(window)
    assert pending, "the bright square is suggested"
    assert all(b.source == "model" and b.score is not None for b in pending)
    item = window.canvas.items_by_id[pending[0].id]
    assert item.view.suggested
    assert f"{pending[0].score:.2f}" in item.caption.text
    assert "Running on" in window.model_panel.device_label.text()


def test_enter_accepts_and_r_rejects_the_selected_suggestion(qtbot, with_model):
    window = with_model
    _suggest_and_wait(qtbot, window)
    box = _pending(window)[0]
    window.canvas.select_box(box.id)
    window.activateWindow()
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key.Key_Return)
    assert window.project.box(box.id).status == "accepted"
    assert window.project.box(box.id).source == "model", "provenance is kept"
    _suggest_and_wait(qtbot, window)  # a new pending suggestion beside the accepted one
    fresh = _pending(window)[0]
    window.canvas.select_box(fresh.id)
    QTest.keyClick(window.canvas, Qt.Key.Key_R)
    assert window.project.box(fresh.id).status == "rejected"
    assert fresh.id not in window.canvas.items_by_id


def test_moving_a_suggestion_marks_it_edited(qtbot, with_model):
    window = with_model
    _suggest_and_wait(qtbot, window)
    box = _pending(window)[0]
    window.annotations.move_box(box.id, QRectF(box.x1 + 3, box.y1, box.width, box.height))
    assert window.project.box(box.id).status == "edited"


def test_accept_all_above_threshold(qtbot, with_model):
    window = with_model
    _suggest_and_wait(qtbot, window)
    window.model_panel.threshold.setValue(0.0)
    window.model_panel.accept_button.click()
    assert _pending(window) == []
    assert all(b.status == "accepted" for b in window.project.boxes(window.annotations.image_id))


def _stored_suggestions(window, scores):
    """Suggested model boxes with these scores on the image on screen, shown at once."""
    from core.annotations import Box

    image_id = window.annotations.image_id
    boxes = window.project.add_boxes(
        image_id,
        [
            Box(10 + 20 * i, 10, 25 + 20 * i, 25, "key", source="model", status="suggested",
                score=score)
            for i, score in enumerate(scores)
        ],
    )  # fmt: skip
    window.annotations.refresh()
    return {b.score: b.id for b in boxes}


def _status(window, box_id):
    return window.project.box(box_id).status


def test_accept_all_takes_a_suggestion_scoring_exactly_the_threshold(window):
    # "Accept all above" takes suggestions scoring *at least* the threshold (the panel's
    # tooltip): one scoring exactly 0.5 is accepted, one a hair below is not.
    ids = _stored_suggestions(window, [0.5, 0.4999, 0.9])
    assert window.annotations.accept_all_above(0.5) == 2
    assert _status(window, ids[0.5]) == "accepted"
    assert _status(window, ids[0.9]) == "accepted"
    assert _status(window, ids[0.4999]) == "suggested"


def test_accept_all_button_at_the_panels_threshold_takes_the_equal_score(window):
    # Through the spin box (two decimals): the value it hands over must equal the score.
    ids = _stored_suggestions(window, [0.55, 0.549, 0.7])
    window.model_panel.threshold.setValue(0.55)
    window.model_panel.accept_button.click()
    assert _status(window, ids[0.55]) == "accepted"
    assert _status(window, ids[0.7]) == "accepted"
    assert _status(window, ids[0.549]) == "suggested"


def test_accept_all_with_nothing_at_or_above_the_threshold_changes_nothing(window):
    ids = _stored_suggestions(window, [0.3])
    assert window.annotations.accept_all_above(0.31) == 0
    assert _status(window, ids[0.3]) == "suggested"
    assert "No suggestion scores 0.31 or more" in window.statusBar().currentMessage()


def test_moving_to_another_image_drops_the_pending_request(qtbot, with_model):
    window = with_model
    release = threading.Event()
    started = threading.Event()

    def slow_factory(project, device):
        started.set()
        release.wait(10)
        return make_blob_detector(threshold=200, model_ref="stub:1")

    _use_detector(window, slow_factory)
    first = window.annotations.image_id
    job = window.suggestions.suggest_current()
    assert started.wait(10)
    with qtbot.waitSignal(window.image_shown, timeout=5000):
        window.step_image(1)
    release.set()
    with qtbot.waitSignal(job.finished, timeout=20000):
        pass
    assert job.state == "cancelled"
    assert window.project.boxes(first) == [], "a result for an image the user left is not stored"
    assert not any(v.view.suggested for v in window.canvas.items_by_id.values())


def test_batch_suggests_for_unreviewed_images_with_progress(qtbot, with_model):
    window = with_model
    progress = []
    job = window.suggestions.suggest_unreviewed()
    job.progressed.connect(lambda f, m: progress.append(f))
    with qtbot.waitSignal(job.finished, timeout=30000):
        pass
    assert job.state == "succeeded", job.error
    for image_id in window.project.image_ids():
        assert any(b.status == "suggested" for b in window.project.boxes(image_id))
    assert "suggestion(s) on 3 image(s)" in window.statusBar().currentMessage()


def test_batch_can_be_cancelled_and_keeps_what_was_done(qtbot, with_model):
    window = with_model
    gate = threading.Event()

    def gated_factory(project, device):
        det = make_blob_detector(threshold=200, model_ref="stub:1")
        original = det.predict_raw

        def predict_raw(*args, **kwargs):
            gate.wait(10)
            return original(*args, **kwargs)

        det.predict_raw = predict_raw
        return det

    _use_detector(window, gated_factory)
    job = window.suggestions.suggest_unreviewed()
    row = window.jobs_panel.rows[job.id]
    row.cancel_button.click()
    gate.set()
    with qtbot.waitSignal(job.finished, timeout=30000):
        pass
    assert job.state == "cancelled"
    assert "stopped" in window.statusBar().currentMessage()


def test_importing_a_model_asks_first_and_refusal_imports_nothing(qtbot, window, tmp_path):
    from ml import registry

    model = tmp_path / "outside.pt"
    model.write_bytes(b"not a real checkpoint")
    questions = []
    window.suggestions.ask = lambda title, q: questions.append(q) or False
    assert window.suggestions.import_model_file(str(model)) is None
    assert "run code" in questions[0] and "checks the file first" in questions[0]
    assert registry.list_models(window.project.folder, "detector") == []


@pytest.mark.slow
def test_a_corrupt_model_file_is_refused_with_a_clear_message(qtbot, window, tmp_path):
    model = tmp_path / "broken.pt"
    model.write_bytes(b"this is not a torch checkpoint")
    window.suggestions.ask = lambda title, q: True
    job = window.suggestions.import_model_file(str(model))
    with qtbot.waitSignal(job.finished, timeout=60000):
        pass
    assert job.state == "failed"
    assert "Model not imported" in window.statusBar().currentMessage()
    assert "Traceback" not in window.statusBar().currentMessage()
    assert not window.model_panel.suggest_button.isEnabled()


def test_turning_on_auto_suggest_loads_the_model_and_suggests_on_open(qtbot, with_model):
    window = with_model
    loads = []
    _use_detector(
        window,
        lambda project, device: (
            loads.append(device) or make_blob_detector(threshold=200, model_ref="stub:1")
        ),
    )
    window.model_panel.auto.setChecked(True)
    qtbot.waitUntil(lambda: "Running on" in window.model_panel.device_label.text(), timeout=10000)
    assert loads == ["auto"]
    with qtbot.waitSignal(window.suggestions.suggestions_stored, timeout=20000):
        window.step_image(1)
    assert _pending(window)


# --- the real detector process, with a tiny YOLO ------------------------------------------


@pytest.fixture
def with_tiny_yolo(window, tiny_yolo):  # noqa: F811
    from ml import registry

    registry.import_model(window.project.folder, tiny_yolo, "detector", "tiny")
    window.suggestions.refresh_status()
    # The tiny model is not accurate: let every box it finds through.
    window.model_panel.conf.setDecimals(4)
    window.model_panel.conf.setMinimum(0.0001)
    window.model_panel.conf.setValue(0.0001)
    return window


def test_the_detector_process_suggests_and_the_window_stores_and_draws(qtbot, with_tiny_yolo):
    window = with_tiny_yolo
    assert isinstance(window.suggestions.backend(), ProcessBackend)
    job = _suggest_and_wait(qtbot, window)
    pending = _pending(window)
    assert pending and all(b.model_version == "tiny:1" for b in pending)
    assert any(item.view.suggested for item in window.canvas.items_by_id.values())
    assert "Running on: CPU" in window.model_panel.device_label.text()
    worker = window.suggestions.backend().worker
    pid = worker.pid
    assert pid is not None and job.state == "succeeded"
    # Latest request wins through the process too: leave the image before the answer
    # (the step is synchronous, the process needs tens of milliseconds per image).
    first = window.annotations.image_id
    for box in window.project.boxes(first):
        window.project.delete_box(box.id)
    job = window.suggestions.suggest_current()
    with qtbot.waitSignal(window.image_shown, timeout=5000):
        window.step_image(1)
    qtbot.waitUntil(lambda: job.done, timeout=60000)
    assert job.state == "cancelled"
    assert window.project.boxes(first) == []
    # The batch goes through the same, still running, process; closing the window ends it.
    batch = window.suggestions.suggest_unreviewed()
    with qtbot.waitSignal(batch.finished, timeout=60000):
        pass
    assert batch.state == "succeeded", batch.error
    assert worker.pid == pid and worker.starts == 1
    proc = worker._proc
    window.close()
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=10000)
    assert proc.returncode == 0, "it quit when asked"
