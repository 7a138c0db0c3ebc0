"""Issue 17 #3: the window fits the screen it opens on (200 % scale on 1600 x 1000 is
800 x 500 logical pixels), its docks shrink or share tabs, and at 1280 x 800 logical the
image keeps most of the space. (Screenshots under Xvfb: docs/screenshots/.)"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect, Qt

from app.main_window import MainWindow


def _window(qtbot, monkeypatch, area: QRect) -> MainWindow:  # type: ignore[no-untyped-def]
    import app.window_fit as fit

    monkeypatch.setattr(fit, "available", lambda _window: area)
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_at_200_percent_the_window_and_its_docks_fit_the_screen(qtbot, monkeypatch):
    area = QRect(0, 0, 800, 500)
    w = _window(qtbot, monkeypatch, area)
    assert w.width() <= 800 and w.height() <= 500
    hint = w.minimumSizeHint()
    assert hint.width() <= 800 and hint.height() <= 500, hint  # nothing forces it taller
    right = [
        d
        for d in w.docks.values()
        if w.dockWidgetArea(d) == Qt.DockWidgetArea.RightDockWidgetArea and d.isVisible()
    ]
    assert len(right) >= 4
    assert all(w.tabifiedDockWidgets(d) for d in right)  # one tab group, full height
    w.close()


@pytest.mark.parametrize("area", [QRect(0, 0, 1280, 800), QRect(0, 0, 1600, 1000)])
def test_the_image_keeps_most_of_the_width(qtbot, monkeypatch, area):
    w = _window(qtbot, monkeypatch, area)
    qtbot.waitUntil(lambda: w.canvas.width() > 0)
    assert w.canvas.width() >= 0.55 * w.width(), (w.canvas.width(), w.width())
    assert w.canvas.height() >= 0.8 * w.centralWidget().height()
    w.close()


def test_a_saved_geometry_larger_than_the_screen_is_shrunk(qtbot, monkeypatch):
    first = MainWindow()
    qtbot.addWidget(first)
    first.resize(1500, 950)
    first.show()
    first.close()
    w = _window(qtbot, monkeypatch, QRect(0, 0, 800, 500))
    assert w.width() <= 800 and w.height() <= 500
    w.close()
