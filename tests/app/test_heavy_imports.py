"""Heavy imports (torch) on a worker thread with short interpreter-lock holds."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from app.jobs import heavy_imports
from app.jobs.heavy_imports import import_quietly, preload_shared_libraries

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_torch_preload(request, monkeypatch):  # type: ignore[no-untyped-def]
    """Unit tests here do not map torch's 1 GB of libraries into the test process."""
    if "slow" not in request.keywords:
        monkeypatch.setattr(heavy_imports, "_torch_library_paths", lambda: [])


def test_preload_loads_existing_libraries_and_skips_missing_ones(tmp_path: Path) -> None:
    import ctypes.util

    libm = ctypes.util.find_library("m")
    if libm is None or not sys.platform.startswith("linux"):
        pytest.skip("needs a Linux C library")
    missing = str(tmp_path / "libnothing.so")
    assert preload_shared_libraries([missing, libm]) == [libm]


def test_steps_run_in_order_and_the_collector_comes_back_on(tmp_path, monkeypatch) -> None:
    (tmp_path / "clinlens_probe_mod.py").write_text("import gc\nGC_WAS_ENABLED = gc.isenabled()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    order: list[str] = []
    frozen = gc.get_freeze_count()
    try:
        import_quietly([lambda: order.append("prepare"), "clinlens_probe_mod"])
        module = sys.modules["clinlens_probe_mod"]
        assert order == ["prepare"]
        assert module.GC_WAS_ENABLED is False  # collected never during the import
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen
        assert import_quietly(["clinlens_probe_mod"]) == []  # already there: nothing to do
    finally:
        sys.modules.pop("clinlens_probe_mod", None)


def test_a_failed_import_is_reported_and_the_collector_stays_on() -> None:
    with pytest.raises(ImportError):
        import_quietly(["clinlens_no_such_module_anywhere"])
    assert gc.isenabled()


@pytest.mark.slow
def test_torch_libraries_are_preloaded_before_the_import() -> None:
    """In a fresh interpreter (torch not yet imported), from a worker thread."""
    code = textwrap.dedent(
        """
        import sys, threading
        from app.jobs.heavy_imports import import_quietly
        out = {}
        t = threading.Thread(target=lambda: out.update(libs=import_quietly(("torch",))))
        t.start(); t.join()
        import torch
        assert float(torch.ones(2).sum()) == 2.0
        print(len(out["libs"]), any(p.endswith("libtorch_cpu.so") for p in out["libs"]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    count, has_cpu = done.stdout.split()
    if sys.platform.startswith("linux"):
        assert int(count) >= 3 and has_cpu == "True"


# Deferred from the window's start (issue 17, cold start): each loads with its first use.
# pydicom + tifffile: with the first DICOM / TIFF read; PyYAML: with the first YAML file;
# ml.suggest / ml.detector: with the first suggestion.
DEFERRED_AT_START = (
    "torch",
    "ultralytics",
    "pydicom",
    "tifffile",
    "requests",
    "yaml",
    "ml.suggest",
    "ml.detector",
)


@pytest.mark.slow
def test_a_gui_start_to_the_first_png_on_screen_imports_none_of_the_deferred(tmp_path) -> None:  # type: ignore[no-untyped-def]
    code = textwrap.dedent(
        f"""
        import json, sys
        before = set(sys.modules)
        from PySide6.QtCore import QTimer
        from app.launch import start_gui
        app, win = start_gui([{str(tmp_path / "proj")!r}])
        def report(*_):
            print(json.dumps(sorted(m for m in sys.modules if m not in before)))
            app.quit()
        # Once the first image is on screen: the loader thread has read and rendered it.
        win.image_shown.connect(report)
        QTimer.singleShot(60000, report)
        app.exec()
        """
    )
    loaded = set(_start_in_a_fresh_interpreter(tmp_path, code))
    assert "app.main_window" in loaded  # the start really ran
    early = sorted(
        m for m in loaded if any(m == d or m.startswith(d + ".") for d in DEFERRED_AT_START)
    )
    assert early == [], f"imported at start: {early}"


# Not loaded until the window is on screen (issue 17, cold start): numpy, OpenCV and Pillow
# load with the first image's read, which starts on the event loop's first turn; the model
# modules with the first suggestion or grade. The JSON model registry (the status lines)
# and the severity worker's command name are all of ml.* that a start may import.
NOT_BEFORE_THE_WINDOW = ("numpy", "cv2", "PIL", "pyqtgraph", "scipy", "sklearn")
ML_AT_START = ("ml", "ml.registry", "ml.severity_worker")


@pytest.mark.slow
def test_the_window_is_shown_before_numpy_opencv_or_a_model_module_loads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    code = textwrap.dedent(
        f"""
        import json, sys
        from PySide6.QtCore import QTimer
        from app.jobs import JobRunner
        from app.launch import start_gui
        seen = {{}}
        release = getattr(JobRunner, "release", None)
        def snapshot(runner):  # the moment the held jobs (the first read) may start
            win = runner.parent()
            seen.setdefault("shown", (win.isVisible(), win.project is not None,
                                      win.images.model.rowCount()))
            seen.setdefault("modules", sorted(sys.modules))
            release(runner)
        JobRunner.release = snapshot
        app, win = start_gui([{str(tmp_path / "proj")!r}])
        # A tree without the hold: what start_gui imported itself.
        seen.setdefault("shown", (win.isVisible(), win.project is not None,
                                  win.images.model.rowCount()))
        seen.setdefault("modules", sorted(sys.modules))
        shown, at_show = seen["shown"], seen["modules"]
        def report(*_):
            import cv2  # loaded by the first read by now; its thread count as renders see it
            print(json.dumps({{"shown": shown, "at_show": at_show,
                               "later": sorted(sys.modules), "image": win.display.raw is not None,
                               "cv2_threads": [cv2.getNumThreads(), cv2.getNumberOfCPUs()]}}))
            app.quit()
        win.image_shown.connect(report)  # the held read still runs: the image does come
        QTimer.singleShot(60000, report)
        app.exec()
        """
    )
    out = _start_in_a_fresh_interpreter(tmp_path, code)
    visible, opened, rows = out["shown"]
    assert visible and opened and rows > 0  # the project is open and listed at that point
    at_show = set(out["at_show"])
    early = sorted(
        m for m in at_show if any(m == d or m.startswith(d + ".") for d in NOT_BEFORE_THE_WINDOW)
    )
    assert early == [], f"imported before the window was shown: {early}"
    ml_early = sorted(m for m in at_show if m.split(".")[0] == "ml" and m not in ML_AT_START)
    ml_early = [m for m in ml_early if not m.startswith("ml.registry.")]
    assert ml_early == [], f"model modules imported before the window was shown: {ml_early}"
    assert out["image"] and "numpy" in out["later"]  # the first image did load after it
    # CLAHE splits over OpenCV's threads: nothing in the window's process may lower them.
    threads, cpus = out["cv2_threads"]
    assert threads >= min(2, cpus), out["cv2_threads"]


def test_the_heap_is_settled_once_the_first_image_is_shown_or_after_the_fallback(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QObject, Signal

    from app import launch

    class FakeWindow(QObject):
        image_shown = Signal(int)

    calls: list[int] = []
    real = launch.settle_heap
    launch.settle_heap = lambda: calls.append(gc.get_freeze_count())  # type: ignore[assignment]
    try:
        shown, idle = FakeWindow(), FakeWindow()
        launch.settle_heap_later(shown, fallback_ms=600, after_image_ms=50)
        launch.settle_heap_later(idle, fallback_ms=600)  # a project without images
        assert calls == []  # not during the start
        shown.image_shown.emit(1)
        assert calls == []  # not in the image's own turn: it is painted first
        qtbot.waitUntil(lambda: len(calls) == 1, timeout=500)
        shown.image_shown.emit(2)  # once only
        qtbot.waitUntil(lambda: len(calls) == 2, timeout=3000)  # the idle one's fallback
        qtbot.wait(400)
        assert len(calls) == 2  # the shown window's fallback did nothing more
    finally:
        launch.settle_heap = real  # type: ignore[assignment]


def _start_in_a_fresh_interpreter(tmp_path: Path, code: str) -> Any:
    """Make a project in one interpreter, run ``code`` (a start of the window that prints
    one JSON line last) in another, and return that JSON: the start must begin with
    nothing loaded."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", CLINLENS_DATA_DIR=str(tmp_path / "data"))
    make = (
        "from pathlib import Path; from tests.app.conftest import make_project; "
        f"make_project(Path({str(tmp_path / 'proj')!r})).close()"
    )
    subprocess.run([sys.executable, "-c", make], cwd=ROOT, env=env, check=True, timeout=120)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
