"""The window fits the screen it opens on: small and high-DPI screens (issue 17).

At 200 % scale a 1600 x 1000 screen is 800 x 500 logical pixels; the window used to open at
1400 x 900 (more when the docks' contents asked for it) with its lower panels off-screen.
Here: dock contents scroll (so a dock can be shorter than its form), the window is never
larger than the available screen area, and the docks are sized so the image keeps most of
the width.

The right-hand docks are two tab stacks of four, one above the other (``RIGHT_STACKS``):
the reading panels (labels, boxes, grades, severity) and the view and model panels. Eight
tabs in one stack had their titles elided ("Se…", "Tr…") in the 290 px the image leaves
them at 1280 x 800; four fit whole. Only a screen too short for two stacks (200 % on
1600 x 1000: 500 logical pixels high) puts them all in one stack at full height.
"""

from __future__ import annotations

import itertools

from PySide6.QtCore import QEvent, QObject, QRect, QSize, Qt
from PySide6.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea, QTabBar, QWidget

DEFAULT_SIZE = QSize(1400, 900)
SCREEN_SHARE = 0.95  # of the available area, so the frame and a taskbar still fit
COMPACT = QSize(1500, 950)  # logical pixels: below this the docks are tabbed together
RIGHT_SHARE = 0.24  # of the window width, for the right-hand docks
LEFT_SHARE = 0.16  # for the image list
MIN_DOCK_WIDTH = 160
# Reading panels above, view and model panels below; the first of each is raised.
RIGHT_STACKS = (
    ("labels", "boxes", "grades", "severity"),
    ("filters", "pigment", "model", "training"),
)
TOP_SHARE = 0.6  # of the right-hand height, for the reading panels
TWO_STACKS_MIN_HEIGHT = 700  # logical pixels of screen: below this, one stack
LAYOUT_VERSION = 1  # saveState / restoreState: 1 = the two right-hand stacks


class WholeTabTitles(QObject):
    """Dock tab bars never elide their titles: where the tabs do not fit (800 x 500 logical)
    the bar scrolls with its arrows instead of showing "L…", "B…", "G…". Qt makes a tab
    bar per tab group, when needed, and sets it to elide; the bar is polished after that."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ChildPolished:
            child = event.child()  # type: ignore[attr-defined]
            if isinstance(child, QTabBar):
                child.setElideMode(Qt.TextElideMode.ElideNone)
        return False


def whole_tab_titles(window: QMainWindow) -> WholeTabTitles:
    keeper = WholeTabTitles(window)
    window.installEventFilter(keeper)
    for bar in window.findChildren(QTabBar):
        bar.setElideMode(Qt.TextElideMode.ElideNone)
    return keeper


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
    if is_compact(area) and not has_state and area.height() < TWO_STACKS_MIN_HEIGHT:
        compact_docks(window, docks)
    size_docks(window, docks)
    size_stacks(window, docks)


def stack_docks(window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
    """The right-hand docks as ``RIGHT_STACKS``: two tab groups, one above the other, each
    showing its first panel. Called once the docks are added (each in its own place on the
    right, the first of the lower stack after the first of the upper one): tabifying moves
    the others onto those two."""
    tops = []
    for stack in RIGHT_STACKS:
        present = [docks[k] for k in stack if k in docks]
        for other in present[1:]:
            window.tabifyDockWidget(present[0], other)
        if present:
            tops.append(present[0])
    for dock in tops:
        dock.raise_()
    size_stacks(window, docks)


def size_stacks(window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
    """The reading panels get TOP_SHARE of the right-hand height."""
    tops = [docks[stack[0]] for stack in RIGHT_STACKS if stack[0] in docks]
    if len(tops) == 2 and not window.tabifiedDockWidgets(tops[0]).count(tops[1]):
        height = max(200, window.height())
        shares = [int(height * TOP_SHARE), int(height * (1 - TOP_SHARE))]
        window.resizeDocks(tops, shares, Qt.Orientation.Vertical)


def compact_docks(window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
    """Every right-hand dock in one tab group (the Display dock too), the jobs under the
    image list's tab: a short screen then shows one panel at full height."""
    right = [
        docks[k]
        for stack in RIGHT_STACKS
        for k in stack
        if k in docks and window.dockWidgetArea(docks[k]) == Qt.DockWidgetArea.RightDockWidgetArea
    ]
    right += [
        d
        for d in docks.values()
        if d not in right and window.dockWidgetArea(d) == Qt.DockWidgetArea.RightDockWidgetArea
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
