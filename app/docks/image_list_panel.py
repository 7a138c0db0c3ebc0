"""Image list dock: thumbnails, filter by status / label / grade, search by name, keyboard
navigation."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from app.docks.image_list_model import (
    STATUS_TEXT,
    ErrorRole,
    ImageIdRole,
    ImageListModel,
    SummaryRole,
    ThumbnailRole,
)
from app.docks.thumbnails import ThumbnailCache, draw_thumbnail

THUMB_BOX = 44  # logical pixels the thumbnail is drawn in
ROW_HEIGHT = THUMB_BOX + 6


_PLACEHOLDER = QColor(128, 128, 128, 60)


class ImageRowDelegate(QStyledItemDelegate):
    """A thumbnail with the status badge on its corner, then two lines: the file name, and
    status · boxes · grades (or the error)."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # type: ignore[override]
        return QSize(200, ROW_HEIGHT)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:  # type: ignore[override]
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        style = opt.widget.style() if opt.widget else None
        painter.save()
        name = opt.text
        if style is not None:
            # The style draws the row background (selection, hover); we draw the content.
            opt.text = ""
            opt.icon = QIcon()
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        r: QRect = option.rect  # type: ignore[attr-defined]
        thumb_rect = QRect(
            r.left() + 4, r.top() + (r.height() - THUMB_BOX) // 2, THUMB_BOX, THUMB_BOX
        )
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        draw_thumbnail(painter, thumb_rect, index.data(ThumbnailRole), _PLACEHOLDER)
        icon_rect = QRect(thumb_rect.right() - 13, thumb_rect.bottom() - 13, 16, 16)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)  # type: ignore[attr-defined]
        icon = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(icon, QIcon):
            # A ring in the row's colour keeps the badge readable on any thumbnail.
            ring = opt.palette.highlight() if selected else opt.palette.base()
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(ring)
            painter.drawEllipse(icon_rect.adjusted(1, 1, -1, -1))
            icon.paint(painter, icon_rect)
        fg = opt.palette.highlightedText().color() if selected else opt.palette.text().color()
        name_font = QFont(opt.font)
        name_font.setBold(True)
        painter.setFont(name_font)
        painter.setPen(fg)
        left = icon_rect.right() + 6
        text_rect = QRect(left, r.top() + 2, r.right() - left - 2, r.height() // 2)
        painter.drawText(
            text_rect,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            painter.fontMetrics().elidedText(name, Qt.TextElideMode.ElideMiddle, text_rect.width()),
        )
        small = QFont(opt.font)
        small.setPointSizeF(max(6.0, opt.font.pointSizeF() * 0.85))
        painter.setFont(small)
        error = index.data(ErrorRole)
        # Red reads badly on the selection colour: a selected row keeps its text colour.
        sub = QColor("#e53935") if error and not selected else QColor(fg)
        if not error:
            sub.setAlpha(170)
        painter.setPen(sub)
        sub_rect = QRect(
            text_rect.left(), r.top() + r.height() // 2, text_rect.width(), r.height() // 2 - 2
        )
        summary = str(index.data(SummaryRole) or "")
        painter.drawText(
            sub_rect,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            painter.fontMetrics().elidedText(
                summary, Qt.TextElideMode.ElideRight, sub_rect.width()
            ),
        )
        painter.restore()


class ImageListPanel(QWidget):
    image_selected = Signal(int)  # image id
    context_requested = Signal(int, QPoint)  # image id, global position (right click)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ImageListModel(self)
        self.view = QListView()
        self.view.setModel(self.model)
        self.view.setUniformItemSizes(True)  # no per-row size query: fast at 100k rows
        self.view.setItemDelegate(ImageRowDelegate(self.view))
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.selectionModel().currentChanged.connect(self._on_current)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._on_context)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search file names…")
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(250)
        self._search_timer.timeout.connect(self.apply_filters)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.status = QComboBox()
        self.status.addItem("All statuses", None)
        for key, text in STATUS_TEXT.items():
            self.status.addItem(text.capitalize(), key)
        self.status.currentIndexChanged.connect(lambda _i: self.apply_filters())
        self.label = QComboBox()
        self.label.addItem("All labels", None)
        self.label.currentIndexChanged.connect(lambda _i: self.apply_filters())
        self.grade = QComboBox()
        self.grade.addItem("All grades", None)
        self.grade.currentIndexChanged.connect(lambda _i: self.apply_filters())
        self.sort = QComboBox()  # review next (#12): the stored informativeness scores
        self.sort.addItem("File order", False)
        self.sort.addItem("Most informative first", True)
        self.sort.setToolTip("Sort by the active model's informativeness score (review next)")
        self.sort.currentIndexChanged.connect(lambda _i: self._apply_sort())
        self.count = QLabel()
        filters = QHBoxLayout()
        filters.addWidget(self.status)
        filters.addWidget(self.label)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.search)
        lay.addLayout(filters)
        lay.addWidget(self.grade)  # its own row: "acne4: model grade to review" is long
        lay.addWidget(self.sort)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.count)
        self.model.modelReset.connect(self._update_count)
        self._silent = False

    # --- thumbnails -----------------------------------------------------------------------
    def set_thumbnails(self, cache: ThumbnailCache | None) -> None:
        """Show thumbnails made by ``cache`` (None: placeholders only)."""
        self.model.thumbnails = cache
        if cache is not None:
            cache.set_visible(self.visible_image_ids)
            cache.ready.connect(self.view.viewport().update)
            self.model.modelReset.connect(cache.retry_failed)
            cache.set_project(self.model.project)

    def visible_image_ids(self) -> set[int]:
        """Ids of the rows on screen (their pages are loaded: they were just painted)."""
        n = self.model.rowCount()
        if n == 0 or not self.view.isVisible():
            return set()
        viewport = self.view.viewport()
        top = self.view.indexAt(viewport.rect().topLeft())
        bottom = self.view.indexAt(viewport.rect().bottomLeft())
        first = top.row() if top.isValid() else 0
        last = bottom.row() if bottom.isValid() else n - 1
        ids = set()
        for row in range(first, min(last, first + 200) + 1):
            rec = self.model.record(row)
            if rec is not None:
                ids.add(int(rec.id))
        return ids

    # --- project --------------------------------------------------------------------------
    def set_project(self, project: Any) -> None:
        self._silent = True
        if self.model.thumbnails is not None:
            self.model.thumbnails.set_project(project)
        self.model.set_project(project)
        for combo in (self.status, self.label, self.grade):
            combo.blockSignals(True)
        self.status.setCurrentIndex(0)
        self.label.clear()
        self.label.addItem("All labels", None)
        self.grade.clear()
        self.grade.addItem("All grades", None)
        scales = []
        if project is not None:
            for name in project.label_set().names():
                self.label.addItem(name, name)
            scales = project.scales()
            for scale in scales:
                self._add_grade_items(scale)
        self.grade.setVisible(bool(scales) and self.model.supports_filter("grade"))
        for combo in (self.status, self.label, self.grade):
            combo.blockSignals(False)
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self._silent = False
        self._update_count()

    def _add_grade_items(self, scale: Any) -> None:
        """Per scale: not yet graded, model grade to review, graded, then each value."""
        from core.store.images import DISPUTED, GRADED, SUGGESTED, UNGRADED

        first = self.grade.count()
        self.grade.addItem(f"{scale.name}: not graded", (scale.name, UNGRADED))
        self.grade.addItem(f"{scale.name}: model grade to review", (scale.name, SUGGESTED))
        self.grade.addItem(f"{scale.name}: graded", (scale.name, GRADED))
        self.grade.addItem(f"{scale.name}: readers disagree", (scale.name, DISPUTED))
        for v in scale.values:
            text = f"{scale.name} = {v.value:g}"
            if v.label and v.label != f"{v.value:g}":
                text += f" ({v.label})"
            self.grade.addItem(text, (scale.name, float(v.value)))
        for i in range(first, self.grade.count()):
            self.grade.setItemData(i, scale.title, Qt.ItemDataRole.ToolTipRole)

    def _apply_sort(self) -> None:
        current = self.current_image_id()
        self.model.set_sort(bool(self.sort.currentData()))
        if current is not None:
            self.select_image(current, emit=False)

    def apply_filters(self) -> None:
        current = self.current_image_id()
        self.model.set_filters(
            status=self.status.currentData(),
            label=self.label.currentData(),
            search=self.search.text().strip() or None,
            grade=self._grade_filter(),
        )
        if current is not None:
            self.select_image(current, emit=False)

    def set_grade_filter(self, grade: tuple[str, Any] | None) -> bool:
        """Choose a grade filter, e.g. ``("acne4", 2.0)`` or ``("acne4", "ungraded")``;
        None = all. (QComboBox.findData compares Python tuples by identity, hence this.)"""
        for i in range(self.grade.count()):
            data = self.grade.itemData(i)
            if (data is None and grade is None) or (
                data is not None and grade is not None and tuple(data) == tuple(grade)
            ):
                self.grade.setCurrentIndex(i)
                return True
        return False

    def _grade_filter(self) -> tuple[str, Any] | None:
        data = self.grade.currentData() if self.grade.isVisibleTo(self) else None
        # Qt may hand a Python tuple back as a list: the store wants (scale, value).
        return (str(data[0]), data[1]) if data else None

    def _update_count(self) -> None:
        n = self.model.rowCount()
        text = f"{n:,} image" + ("" if n == 1 else "s")
        readers = getattr(self.model.project, "readers", None)
        if readers is not None:
            # Per-reader progress (several readers): images each has fully graded.
            try:
                progress = readers.progress()
            except Exception:  # a list view never fails on a count
                progress = {}
            if len(progress) > 1:
                text += " · graded: " + ", ".join(f"{r or '?'} {c:,}" for r, c in progress.items())
        self.count.setText(text)

    # --- selection ------------------------------------------------------------------------
    def current_row(self) -> int:
        idx = self.view.currentIndex()
        return idx.row() if idx.isValid() else -1

    def current_image_id(self) -> int | None:
        idx = self.view.currentIndex()
        return int(idx.data(ImageIdRole)) if idx.isValid() else None

    def select_row(self, row: int, emit: bool = True) -> bool:
        if not 0 <= row < self.model.rowCount():
            return False
        self._silent = not emit
        idx = self.model.index(row)
        self.view.setCurrentIndex(idx)
        self.view.scrollTo(idx)
        self._silent = False
        return True

    def select_image(self, image_id: int, emit: bool = True) -> bool:
        row = self.model.find_row(image_id)
        return self.select_row(row, emit) if row is not None else False

    def step(self, delta: int) -> bool:
        """A/D: previous/next image in the list order (with the active filters)."""
        row = self.current_row()
        return self.select_row((row + delta) if row >= 0 else 0)

    def _on_context(self, pos: QPoint) -> None:
        idx = self.view.indexAt(pos)
        image_id = idx.data(ImageIdRole) if idx.isValid() else None
        if image_id is not None:
            self.context_requested.emit(int(image_id), self.view.viewport().mapToGlobal(pos))

    def _on_current(self, current: QModelIndex, previous: QModelIndex) -> None:
        if self._silent or not current.isValid():
            return
        image_id = current.data(ImageIdRole)
        if image_id is not None:
            self.image_selected.emit(int(image_id))
