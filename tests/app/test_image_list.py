"""The image list: lazy paging at 100,000 rows, filters, search, keyboard navigation."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.docks.image_list_model import PAGE_SIZE, ImageListModel
from app.docks.image_list_panel import ImageListPanel
from tests.app.conftest import window_fixture  # noqa: F401


@dataclass(frozen=True)
class _Rec:
    id: int
    path: str
    review_status: str = "new"
    box_count: int = 0
    error: str | None = None
    width: int = 100
    height: int = 100
    bit_depth: int = 16


class _BigProject:
    """100,000 images behind the store's paging API (records made on demand)."""

    def __init__(self, n: int = 100_000) -> None:
        self.n = n
        self.calls: list[tuple[int, int]] = []

    def image_count(self, *, status=None, label=None, search=None) -> int:
        return (
            self.n
            if search is None
            else sum(1 for i in range(self.n) if search in f"scan_{i:06d}.dcm")
        )

    def images(self, *, offset=0, limit=None, status=None, label=None, search=None):
        self.calls.append((offset, limit))
        end = min(self.n, offset + (limit or self.n))
        return [_Rec(i + 1, f"scans/scan_{i:06d}.dcm") for i in range(offset, end)]

    def image(self, image_id):
        return _Rec(image_id, f"scans/scan_{image_id - 1:06d}.dcm", review_status="done")

    def grades(self, image_id):
        return []

    def label_set(self):
        from core.annotations import builtin_label_set

        return builtin_label_set("xray")

    def scales(self):
        return []


def test_100k_images_open_reading_only_the_visible_pages(qtbot):
    # Behaviour, not a stopwatch: opening reads a page or two, never the 100,000 records.
    # (The time figure lives in benchmarks/store.py, "open a 100,000-image project".)
    project = _BigProject()
    panel = ImageListPanel()
    qtbot.addWidget(panel)
    panel.resize(300, 600)
    panel.show()
    panel.set_project(project)
    qtbot.waitExposed(panel)
    QTest.qWait(1)  # one paint of the visible rows
    assert panel.model.rowCount() == 100_000
    assert "100,000 images" in panel.count.text()
    assert len(project.calls) <= 2, "only the first page(s) are read to show the top rows"
    assert sum(limit for _, limit in project.calls) <= 2 * PAGE_SIZE < 100_000
    panel.select_row(99_999)
    assert panel.current_image_id() == 100_000
    assert len(project.calls) <= 3
    assert all(limit == PAGE_SIZE for _, limit in project.calls)


def test_refresh_updates_one_row_without_reloading(qtbot):
    project = _BigProject(1000)
    model = ImageListModel()
    model.set_project(project)
    assert model.record(5).review_status == "new"
    fetched = model.fetches
    changed = []
    model.dataChanged.connect(lambda a, b: changed.append(a.row()))
    model.refresh_image(6)  # id 6 is row 5
    assert model.record(5).review_status == "done"
    assert changed == [5]
    assert model.fetches == fetched


def test_keyboard_down_moves_to_the_next_image(qtbot):
    panel = ImageListPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.set_project(_BigProject(50))
    opened = []
    panel.image_selected.connect(opened.append)
    panel.select_row(0)
    panel.view.setFocus()
    QTest.keyClick(panel.view, Qt.Key.Key_Down)
    assert opened[-1] == 2


def test_status_filter_and_search_narrow_the_list(qtbot, window):
    ids = window.project.image_ids()
    window.grades.rows["acne4"].buttons[0.0].click()
    window.annotations.toggle_done()
    assert window.project.image(ids[0]).review_status == "done"
    panel = window.images
    panel.status.setCurrentIndex(panel.status.findData("done"))
    assert panel.model.rowCount() == 1
    panel.status.setCurrentIndex(panel.status.findData("new"))
    assert panel.model.rowCount() == 2
    panel.status.setCurrentIndex(0)
    panel.search.setText("img_002")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=3000)
    assert "img_002" in panel.model.index(0).data()


def test_label_filter_lists_images_with_that_label(qtbot, window):
    from PySide6.QtCore import QRectF

    window.annotations.add_box_from_rect(QRectF(10, 10, 30, 30))
    panel = window.images
    panel.label.setCurrentIndex(panel.label.findData("zipper"))
    assert panel.model.rowCount() == 1
    panel.label.setCurrentIndex(panel.label.findData("watch"))
    assert panel.model.rowCount() == 0


def test_grade_filter_lists_images_by_grade_and_ungraded(qtbot, window):
    ids = window.project.image_ids()
    window.grades.rows["acne4"].buttons[2.0].click()  # first image: acne4 = 2
    assert window.project.grades(ids[0])[0].value == 2.0
    panel = window.images
    assert panel.grade.isVisibleTo(panel)
    assert panel.set_grade_filter(("acne4", 2))
    assert panel.model.rowCount() == 1
    assert panel.model.record(0).id == ids[0]
    assert panel.current_image_id() == ids[0]  # the image on screen stays selected
    assert panel.set_grade_filter(("acne4", "ungraded"))
    assert [panel.model.record(r).id for r in range(panel.model.rowCount())] == ids[1:]
    assert panel.set_grade_filter(("acne4", "graded"))
    assert panel.model.rowCount() == 1
    assert panel.count.text() == "1 image"
    assert not panel.set_grade_filter(("acne4", 9))
    assert panel.set_grade_filter(None)
    assert panel.model.rowCount() == 3


def test_grade_filter_is_hidden_without_scales(qtbot):
    panel = ImageListPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.set_project(_BigProject(10))  # a project without grading scales
    assert not panel.grade.isVisibleTo(panel)
