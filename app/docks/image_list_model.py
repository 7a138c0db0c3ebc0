"""The image list as a lazy Qt model over ``Project.images(offset, limit, filters)``.

Only the pages the view actually shows are fetched (256 rows each, a few kept), so a
100,000-image project opens as fast as a 10-image one. Edits refresh just their row; a row
that no longer matches the filter (an image marked done while the list shows "new") stays
until the user changes the filter, so the list never jumps under the pointer.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from pathlib import PurePosixPath
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

PAGE_SIZE = 256
MAX_PAGES = 16

RecordRole = Qt.ItemDataRole.UserRole + 1
ImageIdRole = Qt.ItemDataRole.UserRole + 2
SummaryRole = Qt.ItemDataRole.UserRole + 3
ErrorRole = Qt.ItemDataRole.UserRole + 4
ThumbnailRole = Qt.ItemDataRole.UserRole + 5

STATUS_COLOURS = {
    "new": "#9e9e9e",
    "in_progress": "#1e88e5",
    "to_review": "#fb8c00",
    "done": "#43a047",
}
STATUS_TEXT = {
    "new": "new",
    "in_progress": "in progress",
    "to_review": "to review",
    "done": "done",
}

_ICONS: dict[str, QIcon] = {}


def status_icon(status: str, error: bool = False) -> QIcon:
    """A round badge per review status; a red one with "!" for an unreadable file."""
    key = "error" if error else status
    if key not in _ICONS:
        pix = QPixmap(16, 16)
        pix.fill(Qt.GlobalColor.transparent)
        p = QPainter(pix)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = QColor("#e53935") if error else QColor(STATUS_COLOURS.get(status, "#9e9e9e"))
        p.setBrush(colour)
        p.setPen(Qt.PenStyle.NoPen)
        p.drawEllipse(2, 2, 12, 12)
        if error:
            p.setPen(QColor("white"))
            p.drawText(pix.rect(), Qt.AlignmentFlag.AlignCenter, "!")
        elif status == "done":
            p.setPen(QColor("white"))
            p.drawText(pix.rect(), Qt.AlignmentFlag.AlignCenter, "✓")
        p.end()
        _ICONS[key] = QIcon(pix)
    return _ICONS[key]


class ImageListModel(QAbstractListModel):
    # New scores in place (``set_scores``): views repaint their visible rows.
    scores_replaced = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.project: Any = None
        self.filters: dict[str, Any] = {}
        self._count = 0
        self._pages: OrderedDict[int, list[Any]] = OrderedDict()
        self._grades: dict[int, str] = {}
        self.fetches = 0  # pages read from the store (tests check laziness)
        self.thumbnails: Any = None  # a ThumbnailCache, when the list shows thumbnails
        # Review next (#12): the active version's stored scores, and the informativeness
        # order (image ids, best first) when the list is sorted by it; None = file order.
        self.scores: dict[int, Any] = {}
        self._order: list[int] | None = None
        self._position: dict[int, int] = {}
        self._by_id: OrderedDict[int, Any] = OrderedDict()

    # --- set-up ---------------------------------------------------------------------------
    def set_project(self, project: Any) -> None:
        self.beginResetModel()
        self.project = project
        self.filters = {}
        self.scores = {}
        self._reset_caches()
        self.endResetModel()

    def supports_filter(self, name: str) -> bool:
        if self.project is None:
            return False
        try:
            return name in inspect.signature(self.project.images).parameters
        except (TypeError, ValueError):
            return False

    def set_filters(self, **filters: Any) -> None:
        """status / label / search (and grade when the store offers it); None = any."""
        clean = {k: v for k, v in filters.items() if v not in (None, "", [])}
        clean = {k: v for k, v in clean.items() if self.supports_filter(k)}
        if clean == self.filters:
            return
        self.beginResetModel()
        self.filters = clean
        self._reset_caches()
        self.endResetModel()

    def reload(self) -> None:
        """Re-read everything (after an import, or a filter-relevant change)."""
        self.beginResetModel()
        self._reset_caches()
        self.endResetModel()

    def _reset_caches(self) -> None:
        self._pages.clear()
        self._grades.clear()
        self._by_id.clear()
        self._count = self.project.image_count(**self.filters) if self.project is not None else 0
        if self._order is not None and self.project is not None:
            self._order = self._informative_order()
            self._position = {i: r for r, i in enumerate(self._order)}
            self._count = len(self._order)

    # --- informativeness (review next) ----------------------------------------------------
    @property
    def sorted_by_score(self) -> bool:
        return self._order is not None

    def set_scores(self, scores: dict[int, Any]) -> None:
        """Show these scores (image id -> StoredScore) and re-sort when sorted by them."""
        self.scores = dict(scores)
        if self._order is not None:
            self.reload()
        elif self._count:
            # Not dataChanged over every row: QListView answers that by asking rowCount
            # twice per row (60-80 ms of GUI thread at 20,000 rows, measured by
            # benchmarks/active_stall.py). The rows' text is computed from ``scores`` when
            # painted, so a repaint of the visible rows is all it takes.
            self.scores_replaced.emit()

    def set_sort(self, by_score: bool) -> None:
        """Most informative first (the stored scores; unscored images after, in file order),
        or file order."""
        if by_score == self.sorted_by_score:
            return
        self.beginResetModel()
        self._order = [] if by_score else None
        self._position = {}
        self._reset_caches()
        self.endResetModel()

    def _informative_order(self) -> list[int]:
        ids = self.project.image_ids_where(**self.filters)
        scores = self.scores
        return sorted(
            ids, key=lambda i: (i not in scores, -scores[i].score if i in scores else 0, i)
        )

    # --- Qt model -------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._count

    def record(self, row: int) -> Any:
        if not 0 <= row < self._count or self.project is None:
            return None
        if self._order is not None:
            return self._record_by_id(self._order[row])
        page_no, offset = divmod(row, PAGE_SIZE)
        page = self._pages.get(page_no)
        if page is None:
            page = self.project.images(offset=page_no * PAGE_SIZE, limit=PAGE_SIZE, **self.filters)
            self.fetches += 1
            self._pages[page_no] = page
            while len(self._pages) > MAX_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(page_no)
        return page[offset] if offset < len(page) else None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        rec = self.record(index.row())
        if rec is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return PurePosixPath(rec.path).name
        if role == Qt.ItemDataRole.DecorationRole:
            return status_icon(rec.review_status, bool(rec.error))
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [rec.path, f"{STATUS_TEXT.get(rec.review_status, rec.review_status)}"]
            if rec.width:
                lines.append(f"{rec.width} × {rec.height}, {rec.bit_depth}-bit")
            if rec.error:
                lines.append(f"Cannot be shown: {rec.error}")
            score = self.scores.get(rec.id)
            if score is not None:
                lines.append(f"Informativeness {score.score:.3f}: {'; '.join(score.reasons)}")
            return "\n".join(lines)
        if role == RecordRole:
            return rec
        if role == ImageIdRole:
            return rec.id
        if role == ErrorRole:
            return rec.error
        if role == SummaryRole:
            return self.summary(rec)
        if role == ThumbnailRole:
            # Asked only by the delegate painting this row: visible rows only.
            return self.thumbnails.pixmap(rec) if self.thumbnails is not None else None
        return None

    def _record_by_id(self, image_id: int) -> Any:
        rec = self._by_id.get(image_id)
        if rec is None:
            try:
                rec = self.project.image(image_id)
            except Exception:
                return None
            self.fetches += 1
            self._by_id[image_id] = rec
            while len(self._by_id) > PAGE_SIZE * MAX_PAGES:
                self._by_id.popitem(last=False)
        return rec

    def summary(self, rec: Any) -> str:
        """Second line of a row: status · boxes · grades (or the error)."""
        if rec.error:
            return f"⚠ {rec.error}"
        parts = [STATUS_TEXT.get(rec.review_status, rec.review_status)]
        parts.append(f"{rec.box_count} box" + ("" if rec.box_count == 1 else "es"))
        grades = self._grade_text(rec.id)
        if grades:
            parts.append(grades)
        score = self.scores.get(rec.id)
        if score is not None and rec.review_status != "done":
            why = f": {score.reasons[0]}" if score.reasons else ""
            parts.append(f"score {score.score:.2f}{why}")
        return " · ".join(parts)

    def _grade_text(self, image_id: int) -> str:
        if image_id not in self._grades:
            try:
                grades = self.project.grades(image_id)
            except Exception:
                grades = []
            # This reader's own grades (others' stay hidden: blinded reading), and how
            # many readers graded the image: per-reader progress at a glance.
            me = getattr(self.project, "author", "")
            readers = sorted({g.author or "" for g in grades if g.source == "human"})
            text = ", ".join(
                f"{g.scale} {g.value:g}"
                for g in grades
                if g.source == "human" and (g.author or "") == me
            )
            if len(readers) > 1 or (readers and readers != [me]):
                mine = "incl. you" if me in readers else "not you yet"
                text += ("; " if text else "") + f"{len(readers)} reader(s), {mine}"
            self._grades[image_id] = text
        return self._grades[image_id]

    # --- lookups and refreshes ------------------------------------------------------------
    def row_of(self, image_id: int) -> int | None:
        """Row of an image among the cached pages (None when not loaded)."""
        if self._order is not None:
            return self._position.get(image_id)
        for page_no, page in self._pages.items():
            for i, rec in enumerate(page):
                if rec.id == image_id:
                    return page_no * PAGE_SIZE + i
        return None

    def find_row(self, image_id: int) -> int | None:
        """Row of an image, reading pages when needed (navigation to a given image)."""
        row = self.row_of(image_id)
        if row is not None or self._order is not None:
            return row
        for page_no in range((self._count + PAGE_SIZE - 1) // PAGE_SIZE):
            if page_no in self._pages:
                continue
            self.record(page_no * PAGE_SIZE)
            row = self.row_of(image_id)
            if row is not None:
                return row
        return None

    def refresh_image(self, image_id: int) -> None:
        """Re-read one image's record (status, box count, error) and repaint its row."""
        self._grades.pop(image_id, None)
        row = self.row_of(image_id)
        if row is None or self.project is None:
            return
        if self._order is not None:
            self._by_id.pop(image_id, None)
            idx = self.index(row)
            self.dataChanged.emit(idx, idx)
            return
        page_no, offset = divmod(row, PAGE_SIZE)
        try:
            self._pages[page_no][offset] = self.project.image(image_id)
        except Exception:
            return
        idx = self.index(row)
        self.dataChanged.emit(idx, idx)
