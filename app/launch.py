"""Start the GUI: sane Qt environment, QApplication, theme, main window, first project.

``python main.py`` opens the last project (the demo project on first start, built in the
background so the window shows at once); ``python main.py PROJECT_DIR`` opens that one.
torch and ultralytics are never imported on this path (they load inside jobs).
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

_T0 = time.perf_counter()


def create_application(argv: list[str] | None = None) -> Any:
    from app.qt_env import check_platform_libraries, sanitize_qt_environment

    sanitize_qt_environment()
    check_platform_libraries()  # one line naming a missing system library, not Qt's abort
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        # Fractional scale factors (125 %, 150 %) as they are: crisp text and boxes.
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
        )
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("ClinLens")
    app.setOrganizationName("ClinLens")
    return app


def build_window(app: Any) -> Any:
    from app.errors_ui import install_excepthook
    from app.main_window import MainWindow
    from app.settings import Preferences
    from app.theme import apply_theme

    prefs = Preferences()
    apply_theme(app, prefs.theme)
    window = MainWindow(prefs)
    install_excepthook(lambda text: window.show_error(text))
    return window


def open_initial_project(window: Any, args: list[str]) -> None:
    """PROJECT_DIR from the command line, else the last project, else the demo."""
    from app.demo_project import demo_exists, demo_project_dir

    if args:
        window.open_project(Path(args[0]))
        return
    last = window.prefs.last_project()
    if last and Path(last).is_dir() and window.open_project(last):
        return
    if demo_exists():
        window.open_project(demo_project_dir())
        return
    start_demo_build(window)


def start_demo_build(window: Any) -> Any:
    from app.demo_project import build_demo_project

    window.banner.setText("Preparing the demo project (a few X-rays and a face photo)…")
    window.banner.show()
    job = window.runner.submit(
        lambda progress, cancel: build_demo_project(progress=progress, cancel=cancel),
        title="Build the demo project",
        channel="demo",
    )
    job.succeeded.connect(lambda folder: window.open_project(folder))
    job.failed.connect(
        lambda message: window.show_error(f"The demo project could not be made: {message}")
    )
    return job


def _startup_probe(window: Any, app: Any) -> None:
    """Benchmarks: CLINLENS_STARTUP_PROBE=FILE writes the time to a usable window, then quits."""
    out = os.environ.get("CLINLENS_STARTUP_PROBE")
    if not out:
        return
    from PySide6.QtCore import QTimer

    def report() -> None:
        heavy = sorted(m for m in ("torch", "ultralytics", "sklearn", "dlib") if m in sys.modules)
        Path(out).write_text(
            json.dumps(
                {
                    "seconds_since_launch_import": time.perf_counter() - _T0,
                    "wall_time": time.time(),
                    "heavy_modules": heavy,
                    "platform": app.platformName(),
                }
            ),
            encoding="utf-8",
        )
        app.quit()

    QTimer.singleShot(0, report)  # runs once the event loop has painted the window


def start_gui(args: list[str]) -> tuple[Any, Any]:
    """Everything ``python main.py`` does before the event loop (end-to-end tests use it)."""
    from PySide6.QtCore import QTimer

    app = create_application()
    window = build_window(app)
    # The window first, then the pixels: jobs the project's opening asks for (the first
    # image's read, the list's thumbnails) start on the event loop's first turn, once the
    # window is on screen, instead of importing numpy and OpenCV beside its first paint.
    window.runner.hold()
    window.show()
    open_initial_project(window, args)
    QTimer.singleShot(0, window.runner.release)
    settle_heap_later(window)
    return app, window


def settle_heap_later(window: Any, fallback_ms: int = 3000, after_image_ms: int = 250) -> None:
    """``settle_heap`` a moment after the first image is on screen (or after
    ``fallback_ms`` for a project without one): its full collection (~30 ms) then delays
    neither the window's first paint nor the first image's, and it freezes what that
    image's read and render made too (#17)."""
    from PySide6.QtCore import QTimer

    done = False

    def settle() -> None:
        nonlocal done
        if not done:
            done = True
            settle_heap()

    def on_image(*_: Any) -> None:
        window.image_shown.disconnect(on_image)
        QTimer.singleShot(after_image_ms, window, settle)  # after the image is painted

    window.image_shown.connect(on_image)
    QTimer.singleShot(fallback_ms, window, settle)  # not after the window is gone


def settle_heap() -> None:
    """Move everything made at start-up (Qt wrappers, modules, the window) out of the
    collector's reach: a full collection then walks only what the session made since, so
    its pause on the GUI thread shrinks (21 ms for ~75,000 objects on a 2-core PC, measured
    while switching images non-stop)."""
    gc.collect()  # start-up's own garbage first, or it would be kept for good
    gc.freeze()


def run_gui(args: list[str]) -> int:
    from app.qt_env import MissingSystemLibrary

    try:
        app, window = start_gui(args)
    except MissingSystemLibrary as exc:
        print(exc, file=sys.stderr)
        return 1
    _startup_probe(window, app)
    return int(app.exec())
