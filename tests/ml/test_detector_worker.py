"""The annotator's detector process (``main.py detector-worker DIR``) with a tiny real YOLO:
it reads the project beside a writer, reports boxes the caller stores, skips unreadable
images, stops on cancel without dying, survives being killed, and says plainly when there
is no model or the model file is bad."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from app.controllers.suggestion_backends import ProcessBackend
from core.errors import JobCancelled
from core.store import Project
from core.workers import WorkerError
from ml import registry
from tests.ml.conftest import make_xray_project, tiny_yolo  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path):  # type: ignore[no-untyped-def]
    ids = make_xray_project(tmp_path / "proj", n_images=3)
    with Project.open(tmp_path / "proj") as p:  # the writer, as the GUI is
        p.test_ids = ids  # type: ignore[attr-defined]
        yield p


@pytest.fixture
def backend(project: Project):  # type: ignore[no-untyped-def]
    b = ProcessBackend(project.folder)
    yield b
    b.close()


def _suggest(backend: ProcessBackend, project: Project, ids, **kw):  # type: ignore[no-untyped-def]
    kw.setdefault("cancel", threading.Event())
    kw.setdefault("keep_late", True)
    return backend.suggest(
        project, list(ids), device="cpu", conf=0.0001, progress=lambda *a: None, **kw
    )


def test_the_process_suggests_and_the_caller_stores(
    project: Project,
    backend: ProcessBackend,
    tiny_yolo: Path,  # noqa: F811
) -> None:
    registry.import_model(project.folder, tiny_yolo, "detector", "tiny")
    ids = project.test_ids  # type: ignore[attr-defined]
    progress: list[tuple] = []
    summary = backend.suggest(
        project,
        ids,
        device="cpu",
        conf=0.0001,
        progress=lambda *a: progress.append(a),
        cancel=threading.Event(),
        keep_late=True,
    )
    assert summary.images == 3 and summary.model == "tiny:1"
    assert summary.device.startswith("CPU")
    assert [s["image_id"] for s in summary.skipped] == [ids[-1]], "the corrupt PNG is skipped"
    assert "broken.png" in summary.skipped[0]["path"]
    stored = [b for i in ids for b in project.boxes(i)]
    assert len(stored) == summary.suggestions > 0
    assert {(b.source, b.status, b.model_version) for b in stored} == {
        ("model", "suggested", "tiny:1")
    }
    assert all(b.score is not None and b.label in ("key", "belt buckle") for b in stored)
    assert progress[-1][:2] == (4, 4)
    # Again: the same process (model loaded once), and the pending ones are replaced.
    pid = backend.worker.pid
    again = _suggest(backend, project, ids[:1])
    assert backend.worker.pid == pid and backend.worker.starts == 1
    assert len(project.boxes(ids[0])) == again.suggestions


def test_a_cancelled_single_image_stores_nothing_and_the_process_lives_on(
    project: Project,
    backend: ProcessBackend,
    tiny_yolo: Path,  # noqa: F811
) -> None:
    registry.import_model(project.folder, tiny_yolo, "detector", "tiny")
    ids = project.test_ids  # type: ignore[attr-defined]
    cancel = threading.Event()
    cancel.set()  # the user left the image before the request was even sent
    with pytest.raises(JobCancelled):
        _suggest(backend, project, ids[:1], cancel=cancel, keep_late=False)
    assert project.boxes(ids[0]) == []
    # ... or while the process was already detecting it: its late answer is not stored.
    cancel = threading.Event()

    def progress(done, total=None, message=""):  # type: ignore[no-untyped-def]
        if message.startswith("suggesting boxes"):
            cancel.set()

    with pytest.raises(JobCancelled):
        backend.suggest(
            project, ids[:1], device="cpu", conf=0.0001, progress=progress, cancel=cancel,
            keep_late=False,
        )  # fmt: skip
    assert project.boxes(ids[0]) == []
    assert _suggest(backend, project, ids[:1]).images == 1
    assert backend.worker.starts == 1


def test_a_cancelled_batch_keeps_the_images_done(
    project: Project,
    backend: ProcessBackend,
    tiny_yolo: Path,  # noqa: F811
) -> None:
    registry.import_model(project.folder, tiny_yolo, "detector", "tiny")
    ids = project.test_ids  # type: ignore[attr-defined]
    cancel = threading.Event()
    many = [ids[0], ids[1]] * 50

    def progress(done, total=None, message=""):  # type: ignore[no-untyped-def]
        if done >= 1:
            cancel.set()

    with pytest.raises(JobCancelled):
        backend.suggest(
            project, many, device="cpu", conf=0.0001, progress=progress, cancel=cancel,
            keep_late=True,
        )  # fmt: skip
    assert project.boxes(ids[0]), "the first image's suggestions stay"
    assert backend.worker.pid is not None


def test_a_process_killed_while_idle_is_replaced_on_the_next_request(
    project: Project,
    backend: ProcessBackend,
    tiny_yolo: Path,  # noqa: F811
) -> None:
    if not hasattr(signal, "SIGKILL"):
        pytest.skip("POSIX signals")
    registry.import_model(project.folder, tiny_yolo, "detector", "tiny")
    ids = project.test_ids  # type: ignore[attr-defined]
    assert backend.warm_up(project, "cpu", threading.Event()).startswith("CPU")
    proc = backend.worker._proc
    assert proc is not None
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(10) == -signal.SIGKILL
    # (A child dying *during* a request is reported: tests/test_worker_serve.py.)
    assert _suggest(backend, project, ids[:1]).images == 1
    assert backend.worker.starts == 2


def test_no_model_and_a_bad_model_file_give_one_clear_line(
    project: Project, backend: ProcessBackend, tmp_path: Path
) -> None:
    with pytest.raises(WorkerError) as info:
        _suggest(backend, project, project.test_ids[:1])  # type: ignore[attr-defined]
    assert "no detector" in str(info.value).lower()
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"this is not a torch checkpoint")
    with pytest.raises(WorkerError) as info:
        backend.import_model(project, str(bad), threading.Event())
    message = str(info.value)
    assert "bad.pt" in message and "Traceback" not in message and "\n" not in message
    assert registry.list_models(project.folder, "detector") == []


def test_importing_through_the_process_registers_the_model(
    project: Project,
    backend: ProcessBackend,
    tiny_yolo: Path,  # noqa: F811
) -> None:
    info = backend.import_model(project, str(tiny_yolo), threading.Event())
    assert info.kind == "detector" and tuple(info.classes) == ("key", "belt buckle")
    assert [m.sha256 for m in registry.list_models(project.folder, "detector")] == [info.sha256]
    # The read-only child cannot record the hash; the writer (this process) did, so the
    # model loads for suggestions.
    assert registry.trust_state(project.folder, info) == "trusted"
    assert _suggest(backend, project, project.test_ids[:1]).images == 1  # type: ignore[attr-defined]


def test_a_project_it_cannot_open_is_a_clear_message(tmp_path: Path) -> None:
    backend = ProcessBackend(tmp_path / "missing-project")
    with pytest.raises(WorkerError, match="cannot open the project"):
        backend.warm_up(None, "cpu", threading.Event())


def test_the_gui_side_of_suggestions_never_imports_torch() -> None:
    code = (
        "import sys\n"
        "import app.controllers.suggestions, app.controllers.suggestion_backends\n"
        "import core.workers, ml.detector_worker, ml.suggest, ml.registry\n"
        "heavy = [m for m in ('torch', 'ultralytics', 'torchvision') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
