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
    # The eight tabs do not fit 190 px: whole titles and the bar's scroll arrows, not "L…".
    (bar,) = _right_tab_bars(w)
    assert bar.count() == len(right) and bar.elideMode() == Qt.TextElideMode.ElideNone
    assert all(bar.tabRect(i).width() >= bar.tabSizeHint(i).width() for i in range(bar.count()))
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


def _right_tab_bars(w: MainWindow) -> list:  # type: ignore[type-arg]
    """The tab bars under the right-hand docks on screen (Qt keeps stale, covered ones)."""
    from PySide6.QtWidgets import QTabBar

    shown = [
        d.geometry()
        for d in w.docks.values()
        if d.isVisible() and w.dockWidgetArea(d) == Qt.DockWidgetArea.RightDockWidgetArea
    ]
    return [
        b
        for b in w.findChildren(QTabBar)
        if b.isVisible()
        and any(
            abs(b.geometry().top() - g.bottom()) <= 3 and abs(b.geometry().left() - g.left()) <= 3
            for g in shown
        )
    ]


def test_at_1280x800_the_right_hand_tab_titles_are_whole(qtbot, monkeypatch):
    w = _window(qtbot, monkeypatch, QRect(0, 0, 1280, 800))
    bars = _right_tab_bars(w)
    titles = sorted(b.tabText(i) for b in bars for i in range(b.count()))
    right = [
        d for d in w.docks.values() if w.dockWidgetArea(d) == Qt.DockWidgetArea.RightDockWidgetArea
    ]
    assert titles == sorted(d.windowTitle() for d in right), "every right-hand dock is a tab"
    assert len(bars) == 2, "two stacks of four"
    for bar in bars:
        fm = bar.fontMetrics()
        for i in range(bar.count()):
            rect, text = bar.tabRect(i), bar.tabText(i)
            # Elided: the tab is narrower than it asks for (its text would show "Se…").
            assert rect.width() >= bar.tabSizeHint(i).width(), (text, rect.width())
            assert rect.width() > fm.horizontalAdvance(text), text
            assert bar.rect().contains(rect), f"{text} scrolled out of its bar"
    # The stacks share the height: the reading panels on top get the larger part.
    top, bottom = w.docks["labels"].geometry(), w.docks["filters"].geometry()
    assert top.bottom() < bottom.top() and top.height() > bottom.height()
    assert w.canvas.width() >= 0.55 * w.width()
    w.close()


def test_a_layout_saved_before_the_two_stacks_is_not_restored(qtbot, monkeypatch):
    """Version 0 states held one stack of eight (elided) tabs: they are ignored."""
    first = MainWindow()
    qtbot.addWidget(first)
    for dock in list(first.docks.values())[3:]:  # an old layout: all in one stack
        first.tabifyDockWidget(first.docks["labels"], dock)
    first.close()  # saves this layout as version 1 ...
    first.prefs.save_layout(first.saveGeometry(), first.saveState())  # ... now as version 0
    w = _window(qtbot, monkeypatch, QRect(0, 0, 1280, 800))
    assert len(_right_tab_bars(w)) == 2
    w.close()
    # The same one-stack layout saved as version 1 (the user's own choice) is kept.
    again = _window(qtbot, monkeypatch, QRect(0, 0, 1280, 800))
    for dock in list(again.docks.values())[3:]:
        again.tabifyDockWidget(again.docks["labels"], dock)
    again.close()
    kept = _window(qtbot, monkeypatch, QRect(0, 0, 1280, 800))
    assert len(_right_tab_bars(kept)) == 1
    kept.close()


@pytest.mark.parametrize("key", ["filters", "grades", "severity", "pigment", "model", "boxes"])
def test_at_1280x800_no_dock_form_is_cut_off_on_the_right(qtbot, monkeypatch, key):
    """A dock's form scrolls vertically only, so a form wider than its dock loses its right
    edge (the Display panel's values did: "383" for a level of 3839)."""
    from PySide6.QtWidgets import QScrollArea

    w = _window(qtbot, monkeypatch, QRect(0, 0, 1280, 800))
    dock = w.docks[key]
    dock.raise_()
    qtbot.waitUntil(lambda: dock.widget().isVisible())
    area = dock.widget()
    if isinstance(area, QScrollArea):
        form = area.widget()
        assert form.minimumSizeHint().width() <= area.viewport().width(), (
            key,
            form.minimumSizeHint().width(),
            area.viewport().width(),
        )
    w.close()


def test_a_narrow_boxes_panel_shows_whole_labels(qtbot):
    """The label is what a reader looks for: at a dock's width on a 1280 x 800 screen the
    Label column keeps its text whole (it used to shrink to "…") and the table scrolls
    sideways for the other columns."""
    from app.docks.boxes_panel import LABEL, BoxesPanel
    from core.annotations import Box
    from core.annotations.measure import Calibration

    panel = BoxesPanel()
    qtbot.addWidget(panel)
    panel.resize(280, 400)
    panel.show()
    qtbot.waitExposed(panel)
    boxes = [
        Box(10.0, 20.0, 140.0, 61.0, "belt buckle", id=1),
        Box(5.0, 5.0, 60.0, 48.0, "surgical implant", id=2),
    ]
    panel.set_boxes(boxes, Calibration(spacing=(0.143, 0.143), source="PixelSpacing"), None)
    table = panel.table
    for row in range(table.rowCount()):
        text = table.item(row, LABEL).text()
        assert table.columnWidth(LABEL) >= table.fontMetrics().horizontalAdvance(text), text
