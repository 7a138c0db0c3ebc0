"""The window fits the screen it opens on: small and high-DPI screens (issue 17).

At 200 % scale a 1600 x 1000 screen is 800 x 500 logical pixels; the window used to open at
1400 x 900 (more when the docks' contents asked for it) with its lower panels off-screen.
Here: dock contents scroll (so a dock can be shorter than its form), the window is never
larger than the available screen area, on a small screen the right-hand docks share one
tab group and the left ones another, and the docks are sized so the image keeps most of
the width.
"""

from __future__ import annotations

import itertools

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea, QWidget

DEFAULT_SIZE = QSize(1400, 900)
SCREEN_SHARE = 0.95  # of the available area, so the frame and a taskbar still fit
COMPACT = QSize(1500, 950)  # logical pixels: below this the docks are tabbed together
RIGHT_SHARE = 0.24  # of the window width, for the right-hand docks
LEFT_SHARE = 0.16  # for the image list
MIN_DOCK_WIDTH = 160


def scrollable(widget: QWidget) -> QScrollArea:
    """``widget`` in a frameless vertical scroll area: a dock can then shrink below the
    height of its form instead of forcing the window taller than the screen."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setMinimumWidth(MIN_DOCK_WIDTH)
    return area


def available(window: QWidget) -> QRect:
    screen = window.screen()
    return screen.availableGeometry() if screen is not None else QRect(0, 0, 1400, 900)


def is_compact(area: QRect) -> bool:
    return area.width() < COMPACT.width() or area.height() < COMPACT.height()


def fit_size(wanted: QSize, area: QRect) -> QSize:
    """``wanted``, capped at SCREEN_SHARE of the available area."""
    return QSize(
        min(wanted.width(), int(area.width() * SCREEN_SHARE)),
        min(wanted.height(), int(area.height() * SCREEN_SHARE)),
    )


def fit_window(
    window: QMainWindow, docks: dict[str, QDockWidget], *, restored: bool, has_state: bool
) -> None:
    """Size and place ``window`` within its screen; on a small screen (or the first start
    there) tab the docks together and keep the image the widest part."""
    area = available(window)
    wanted = window.size() if restored else DEFAULT_SIZE
    size = fit_size(wanted, area)
    window.resize(size)
    frame = window.frameGeometry()
    if not area.contains(frame):
        window.move(
            max(area.left(), min(frame.left(), area.right() - size.width())),
            max(area.top(), min(frame.top(), area.bottom() - size.height())),
        )
    if is_compact(area) and not has_state:
        compact_docks(window, docks)
    size_docks(window, docks)


def compact_docks(window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
    """Every right-hand dock in one tab group (the Display dock too), the jobs under the
    image list's tab: a short screen then shows one panel at full height."""
    right = [
        d
        for d in docks.values()
        if window.dockWidgetArea(d) == Qt.DockWidgetArea.RightDockWidgetArea
    ]
    left = [
        d
        for d in docks.values()
        if window.dockWidgetArea(d) == Qt.DockWidgetArea.LeftDockWidgetArea
    ]
    for group in (right, left):
        for first, second in itertools.pairwise(group):
            window.tabifyDockWidget(first, second)
        if group:
            group[0].raise_()


def size_docks(window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
    width = window.width()
    sides = []
    for dock in docks.values():
        area = window.dockWidgetArea(dock)
        share = RIGHT_SHARE if area == Qt.DockWidgetArea.RightDockWidgetArea else LEFT_SHARE
        sides.append((dock, max(MIN_DOCK_WIDTH, int(width * share))))
    window.resizeDocks([d for d, _ in sides], [w for _, w in sides], Qt.Orientation.Horizontal)
