"""Shared helpers for the GUI tests (pytest-qt, offscreen).

Import the fixtures you need into a test module:
``from tests.app.conftest import qsettings_fixture, runner_fixture  # noqa: F401``; the
fixtures are then requested by their short names (``isolated_qsettings``, ``runner``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(name="isolated_qsettings")
def qsettings_fixture(tmp_path: Path) -> Iterator[Path]:
    """Point every QSettings (native and INI, user and system scope) at a temporary folder."""
    from PySide6.QtCore import QSettings

    folder = tmp_path / "qsettings"
    folder.mkdir()
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
            QSettings.setPath(fmt, scope, str(folder))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    yield folder


@pytest.fixture(name="runner")
def runner_fixture(qtbot):  # type: ignore[no-untyped-def]
    """A JobRunner that must be idle when the test ends (no thread left running)."""
    from app.jobs import JobRunner

    r = JobRunner()
    yield r
    r.cancel_all()
    assert r.wait_for_done(10000), "a background job was still running at the end of the test"
    # Let queued outcome signals land so no job is left half-reported.
    qtbot.waitUntil(lambda: not r.active_jobs, timeout=5000)


# --- synthetic input (works offscreen and under xcb) ---------------------------------------
def _mouse_event(kind, pos, button, buttons, modifiers=None):  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QMouseEvent

    local = QPointF(pos)
    return QMouseEvent(
        kind,
        local,
        local,
        button,
        buttons,
        modifiers if modifiers is not None else Qt.KeyboardModifier.NoModifier,
    )


def drag(widget, start, end, button=None, steps: int = 5, modifiers=None) -> None:  # type: ignore[no-untyped-def]
    """Press at ``start``, move in ``steps`` to ``end``, release (widget coordinates)."""
    from PySide6.QtCore import QEvent, QPoint, Qt
    from PySide6.QtWidgets import QApplication

    button = button if button is not None else Qt.MouseButton.LeftButton
    none = Qt.MouseButton.NoButton
    start, end = QPoint(start), QPoint(end)
    QApplication.sendEvent(
        widget, _mouse_event(QEvent.Type.MouseButtonPress, start, button, button, modifiers)
    )
    for i in range(1, steps + 1):
        p = start + (end - start) * (i / steps)
        QApplication.sendEvent(
            widget, _mouse_event(QEvent.Type.MouseMove, p, none, button, modifiers)
        )
    QApplication.sendEvent(
        widget, _mouse_event(QEvent.Type.MouseButtonRelease, end, button, none, modifiers)
    )


def click(widget, pos, button=None) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QEvent, QPoint, Qt
    from PySide6.QtWidgets import QApplication

    button = button if button is not None else Qt.MouseButton.LeftButton
    p = QPoint(pos)
    QApplication.sendEvent(widget, _mouse_event(QEvent.Type.MouseButtonPress, p, button, button))
    QApplication.sendEvent(
        widget,
        _mouse_event(QEvent.Type.MouseButtonRelease, p, button, Qt.MouseButton.NoButton),
    )


def gray_frame(width: int, height: int, value: int = 128):  # type: ignore[no-untyped-def]
    import numpy as np

    from app.canvas import Frame, to_bgra

    return Frame(to_bgra(np.full((height, width), value, np.uint8)))


# --- small projects ------------------------------------------------------------------------
def write_xray(path, width: int = 240, height: int = 180, seed: int = 0):  # type: ignore[no-untyped-def]
    """A 16-bit grey PNG with a bright square (so filters visibly change it)."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    img = rng.integers(8000, 12000, size=(height, width), dtype=np.uint16)
    img[height // 4 : height // 2, width // 4 : width // 2] = 50000
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), img)
    return path


def make_project(
    folder, n_images: int = 3, scales=("acne4",), required: bool = True, size=(240, 180)
):  # type: ignore[no-untyped-def]
    """A project with ``n_images`` small 16-bit images (imported through core)."""
    import dataclasses

    from core.annotations import builtin_label_set, builtin_scale
    from core.project_io import import_images
    from core.store import Project

    project = Project.create(
        folder,
        label_set=builtin_label_set("xray"),
        scales=[dataclasses.replace(builtin_scale(s), required=required) for s in scales],
        name="test project",
        author="tester",
    )
    paths = [
        write_xray(folder / "images" / f"img_{i:03d}.png", *size, seed=i) for i in range(n_images)
    ]
    import_images(project, paths)
    return project


@pytest.fixture(name="window")
def window_fixture(qtbot, tmp_path):  # type: ignore[no-untyped-def]
    """A main window on a fresh 3-image project, first image on screen."""
    from app.main_window import MainWindow

    project = make_project(tmp_path / "proj")
    project.close()
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    with qtbot.waitSignal(w.image_shown, timeout=10000):
        assert w.open_project(tmp_path / "proj")
    yield w
    import shiboken6

    # pytest-qt may already have closed and deleted it (its teardown runs first and a later
    # fixture's event loop can process the deferred delete).
    if shiboken6.isValid(w):
        w.close()


def image_point(window, x: float, y: float):  # type: ignore[no-untyped-def]
    """Viewport coordinates of image point (x, y) on the window's canvas."""
    return window.canvas.map_image_to_view(x, y)
