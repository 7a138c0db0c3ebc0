"""The central canvas: one image, its boxes, zoom/pan, drawing and editing boxes.

Scene coordinates are image coordinates (continuous: (0, 0) is the top-left corner of the
top-left pixel). The canvas never writes to the store: it emits ``box_drawn`` and
``box_changed`` with image-space rectangles when a gesture ends (``box_nudged`` at every
arrow-key press), and the annotation controller saves them (through History) and hands
back the stored boxes.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import QGraphicsRectItem, QGraphicsScene, QGraphicsView, QWidget

from app.canvas.box_item import HANDLE_PX, BoxItem, BoxView, handle_points
from app.canvas.geometry import clamp_point, moved_rect, resized_rect
from app.canvas.image_item import Frame, ImageItem
from core.annotations.rect import rect_area

MIN_BOX_PX = 2.0  # a drag smaller than this (image pixels) is a click, not a box
ZOOM_MIN, ZOOM_MAX = 0.01, 64.0
# Arrow-key nudges of one box less than this apart form a run (so do a held key's
# auto-repeats, however long the system waits before repeating): each press is saved at
# once, the run undoes as one step. (Saving only once the keys rested lost the last nudges
# the window already showed when the process died in that time.)
NUDGE_RUN_MS = 300


class Canvas(QGraphicsView):
    box_drawn = Signal(QRectF)  # image-space rectangle of a new box
    box_changed = Signal(int, QRectF)  # box id, new rectangle (move / resize)
    # box id, new rectangle, run number: presses of one run (same box, each within
    # NUDGE_RUN_MS of the last or an auto-repeat) share the number: they undo as one step.
    box_nudged = Signal(int, QRectF, int)
    selection_changed = Signal(object)  # box id or None
    mouse_moved = Signal(object)  # QPointF in image coords, or None when off the image
    zoom_changed = Signal(float)  # image pixels per device pixel, 1.0 = 1:1
    space_tapped = Signal()  # Space pressed and released without panning (= mark done)
    mode_changed = Signal(str)  # "edit" | "draw"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setBackgroundBrush(QBrush(QColor(32, 32, 32)))
        self.setMouseTracking(True)
        # Panning moves the (hidden) scroll bars; visible ones would only eat screen space.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(False)  # the main window takes dropped files
        self.image_item: ImageItem | None = None
        self.items_by_id: dict[int, BoxItem] = {}
        self._retired: list[BoxItem] = []  # last replaced items, freed at the next one
        self.overlay_items: list[BoxItem] = []  # read-only drawings (e.g. skin patches)
        self.selected_id: int | None = None
        self.mode = "edit"
        self.read_only = False
        self.fit_on_resize = True
        # gesture state
        self._gesture: str | None = None  # "pan" | "draw" | "move" | "resize"
        self._press_scene = QPointF()
        self._press_rect = QRectF()
        self._handle = -1
        self._pan_last = QPoint()
        self._draw_item: QGraphicsRectItem | None = None
        self._draw_color = QColor("#ffcc00")
        self._space_down = False
        self._space_panned = False
        # The run of nudges: its box (None: ended by flush_nudge) and number. A press joins
        # it while the timer runs (keys rested less than NUDGE_RUN_MS) or when it is an
        # auto-repeat of the held key (the first repeat comes 250-700 ms after the press).
        self._nudge_timer = QTimer(self)
        self._nudge_timer.setSingleShot(True)
        self._nudge_timer.setInterval(NUDGE_RUN_MS)
        self._nudge_box: int | None = None
        self._nudge_run = 0

    # --- image ----------------------------------------------------------------------------
    def set_image(
        self, width: int, height: int, frame: Frame | None = None, *, smooth: bool = False
    ) -> None:
        """Show a new image (its boxes come through ``set_boxes``); fits it in view.

        ``smooth``: bilinear scaling at every zoom (photos); else real pixels above 2x."""
        self.flush_nudge()
        self.cancel_gesture()
        self.scene().clear()
        self.items_by_id.clear()
        self.overlay_items = []
        self.selected_id = None
        self._draw_item = None
        self.image_item = ImageItem(width, height, smooth=smooth)
        self.scene().addItem(self.image_item)
        # A margin lets a box at the border be grabbed and the image be panned off-centre.
        margin = max(width, height) * 0.5
        self.scene().setSceneRect(QRectF(-margin, -margin, width + 2 * margin, height + 2 * margin))
        if frame is not None:
            self.image_item.set_frame("preview", frame)
        self.fit_on_resize = True
        self.fit()
        self.selection_changed.emit(None)

    def set_frame(self, kind: str, frame: Frame) -> None:
        if self.image_item is not None:
            self.image_item.set_frame(kind, frame)

    def clear_image(self) -> None:
        self.flush_nudge()
        self.cancel_gesture()
        self.scene().clear()
        self.items_by_id.clear()
        self.overlay_items = []
        self.image_item = None
        self.selected_id = None
        self._draw_item = None

    @property
    def image_rect(self) -> QRectF:
        return self.image_item.boundingRect() if self.image_item else QRectF()

    # --- boxes ----------------------------------------------------------------------------
    def set_boxes(self, views: list[BoxView], keep_selection: bool = True) -> None:
        """Replace the drawn boxes with the stored ones (after every saved edit)."""
        if self._gesture in ("move", "resize"):
            self.cancel_gesture()
        previous = self.selected_id if keep_selection else None
        for item in self.items_by_id.values():
            self.scene().removeItem(item)
        # Keep the removed items (and their screen-sized captions) alive until the next
        # replacement: a paint already queued for them must not meet freed C++ objects
        # (a segfault seen zoomed in at some canvas widths).
        self._retired = list(self.items_by_id.values())
        self.items_by_id = {}
        for v in views:
            item = BoxItem(v)
            self.scene().addItem(item)
            self.items_by_id[v.id] = item
        self.selected_id = None
        if previous is not None and previous in self.items_by_id:
            self.select_box(previous, emit=False)
        elif previous is not None:
            self.selection_changed.emit(None)

    def set_overlays(self, views: list[BoxView]) -> None:
        """Draw read-only rectangles (never selected, moved or saved) over the image."""
        for item in self.overlay_items:
            if item.scene() is self.scene():
                self.scene().removeItem(item)
        self.overlay_items = []
        if self.image_item is None:
            return
        for v in views:
            item = BoxItem(v)
            item.setZValue(5)  # under the annotation boxes
            self.scene().addItem(item)
            self.overlay_items.append(item)

    def select_box(self, box_id: int | None, emit: bool = True) -> None:
        if self.selected_id is not None and self.selected_id in self.items_by_id:
            self.items_by_id[self.selected_id].set_selected(False)
        self.selected_id = box_id if box_id in self.items_by_id else None
        if self.selected_id is not None:
            self.items_by_id[self.selected_id].set_selected(True)
        if emit:
            self.selection_changed.emit(self.selected_id)

    def box_rect(self, box_id: int) -> QRectF | None:
        item = self.items_by_id.get(box_id)
        return item.rect() if item else None

    def select_next_box(self, step: int = 1) -> None:
        ids = list(self.items_by_id)
        if not ids:
            return
        if self.selected_id not in ids:
            self.select_box(ids[0 if step > 0 else -1])
        else:
            self.select_box(ids[(ids.index(self.selected_id) + step) % len(ids)])

    # --- modes ----------------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        if mode == "draw" and (self.read_only or self.image_item is None):
            mode = "edit"
        if mode == "draw":
            # A new box is coming: digits pressed now choose its label, not the old box's.
            self.select_box(None)
        if mode != self.mode:
            self.mode = mode
            self.viewport().setCursor(
                Qt.CursorShape.CrossCursor if mode == "draw" else Qt.CursorShape.ArrowCursor
            )
            self.mode_changed.emit(mode)

    def set_draw_color(self, color: str) -> None:
        self._draw_color = QColor(color)

    # --- zoom -----------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        """Device pixels per image pixel (1.0 = one stored pixel on one screen pixel)."""
        return float(self.transform().m11()) * self.devicePixelRatioF()

    def fit(self) -> None:
        if self.image_item is None:
            return
        self.fit_on_resize = True
        self.fitInView(self.image_rect, Qt.AspectRatioMode.KeepAspectRatio)
        self.zoom_changed.emit(self.zoom)

    def one_to_one(self) -> None:
        self.fit_on_resize = False
        center = self.mapToScene(self.viewport().rect().center())
        s = 1.0 / self.devicePixelRatioF()
        self.resetTransform()
        self.scale(s, s)
        self.centerOn(center)
        self.zoom_changed.emit(self.zoom)

    def zoom_by(self, factor: float, anchor: QPoint | None = None) -> None:
        """Zoom keeping the image point under ``anchor`` (view coords) in place."""
        current = self.transform().m11()
        target = min(max(current * factor, ZOOM_MIN), ZOOM_MAX)
        factor = target / current
        if abs(factor - 1.0) < 1e-9:
            return
        self.fit_on_resize = False
        anchor = anchor if anchor is not None else self.viewport().rect().center()
        before = self.mapToScene(anchor)
        self.scale(factor, factor)
        after = self.mapToScene(anchor)
        delta = after - before
        self.translate(delta.x(), delta.y())
        self.zoom_changed.emit(self.zoom)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps == 0:
            return super().wheelEvent(event)
        self.zoom_by(1.25**steps, event.position().toPoint())
        event.accept()

    def resizeEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        super().resizeEvent(event)
        if self.fit_on_resize and self.image_item is not None:
            self.fitInView(self.image_rect, Qt.AspectRatioMode.KeepAspectRatio)
            self.zoom_changed.emit(self.zoom)

    def preview_size(self) -> int:
        """Longest side, in device pixels, of a render that fills the view (for previews)."""
        vp = self.viewport().size()
        return max(64, int(max(vp.width(), vp.height()) * self.devicePixelRatioF()))

    # --- geometry helpers -----------------------------------------------------------------
    def _clamp_point(self, p: QPointF) -> QPointF:
        return clamp_point(p, self.image_rect)

    def _handle_tolerance(self) -> float:
        return HANDLE_PX / max(self.transform().m11(), 1e-6)

    def _handle_at(self, scene_pos: QPointF) -> int:
        if self.selected_id is None:
            return -1
        rect = self.items_by_id[self.selected_id].rect()
        tol = self._handle_tolerance()
        for i, p in enumerate(handle_points(rect)):
            if abs(p.x() - scene_pos.x()) <= tol and abs(p.y() - scene_pos.y()) <= tol:
                return i
        return -1

    def box_at(self, scene_pos: QPointF) -> int | None:
        """The smallest box under a point (so nested boxes stay reachable)."""
        tol = self._handle_tolerance() / 2
        hits: list[tuple[float, int]] = []
        for box_id, item in self.items_by_id.items():
            if not item.isVisible():
                continue  # hidden from the Boxes panel: not under the pointer either
            r = item.rect()
            if r.adjusted(-tol, -tol, tol, tol).contains(scene_pos):
                hits.append((rect_area(r.left(), r.top(), r.right(), r.bottom()), box_id))
        return min(hits)[1] if hits else None

    # --- mouse ----------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = self.mapToScene(event.position().toPoint())
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and self._space_down
        ):
            self._start_pan(event)
            return
        if button != Qt.MouseButton.LeftButton or self.image_item is None:
            return super().mousePressEvent(event)
        self.flush_nudge()
        self.setFocus()
        if self.mode == "draw":
            if not self.image_rect.contains(pos):
                pos = self._clamp_point(pos)
            self._gesture = "draw"
            self._press_scene = pos
            pen = QPen(self._draw_color)
            pen.setCosmetic(True)
            pen.setWidthF(2.0)
            pen.setStyle(Qt.PenStyle.DashLine)
            self._draw_item = self.scene().addRect(QRectF(pos, pos), pen)
            self._draw_item.setZValue(30)
            event.accept()
            return
        handle = self._handle_at(pos)
        if handle >= 0 and not self.read_only:
            self._gesture = "resize"
            self._handle = handle
            self._press_scene = pos
            self._press_rect = self.items_by_id[self.selected_id].rect()  # type: ignore[index]
            event.accept()
            return
        hit = self.box_at(pos)
        self.select_box(hit)
        if hit is not None and not self.read_only:
            self._gesture = "move"
            self._press_scene = pos
            self._press_rect = self.items_by_id[hit].rect()
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        view_pos = event.position().toPoint()
        pos = self.mapToScene(view_pos)
        self.mouse_moved.emit(pos if self.image_rect.contains(pos) else None)
        if self._gesture == "pan":
            delta = view_pos - self._pan_last
            self._pan_last = view_pos
            self._space_panned = True
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            self.fit_on_resize = False
            event.accept()
            return
        if self._gesture == "draw" and self._draw_item is not None:
            self._draw_item.setRect(QRectF(self._press_scene, self._clamp_point(pos)).normalized())
            event.accept()
            return
        if self._gesture == "move" and self.selected_id is not None:
            self.items_by_id[self.selected_id].set_rect(self._moved_rect(pos))
            event.accept()
            return
        if self._gesture == "resize" and self.selected_id is not None:
            self.items_by_id[self.selected_id].set_rect(self._resized_rect(pos))
            event.accept()
            return
        self._update_hover_cursor(pos)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        gesture, self._gesture = self._gesture, None
        if gesture == "pan":
            self.viewport().setCursor(
                Qt.CursorShape.OpenHandCursor if self._space_down else self._mode_cursor()
            )
            event.accept()
            return
        if gesture == "draw":
            rect = self._draw_item.rect() if self._draw_item is not None else QRectF()
            if self._draw_item is not None:
                self.scene().removeItem(self._draw_item)
                self._draw_item = None
            self.set_mode("edit")  # LabelImg habit: one box per W
            if rect.width() >= MIN_BOX_PX and rect.height() >= MIN_BOX_PX:
                self.box_drawn.emit(rect)
            event.accept()
            return
        if gesture in ("move", "resize") and self.selected_id is not None:
            item = self.items_by_id[self.selected_id]
            if item.rect() != self._press_rect:
                self.box_changed.emit(self.selected_id, item.rect())
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        # Double clicks must not start a second gesture; treat as a press.
        self.mousePressEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self.mouse_moved.emit(None)
        super().leaveEvent(event)

    def _start_pan(self, event: QMouseEvent) -> None:
        self._gesture = "pan"
        self._pan_last = event.position().toPoint()
        self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
        event.accept()

    def _mode_cursor(self) -> Qt.CursorShape:
        return Qt.CursorShape.CrossCursor if self.mode == "draw" else Qt.CursorShape.ArrowCursor

    def _update_hover_cursor(self, pos: QPointF) -> None:
        if self._space_down:
            return
        if self.mode == "draw":
            self.viewport().setCursor(Qt.CursorShape.CrossCursor)
            return
        handle = self._handle_at(pos)
        if handle in (0, 2):
            shape = Qt.CursorShape.SizeFDiagCursor
        elif handle in (1, 3):
            shape = Qt.CursorShape.SizeBDiagCursor
        elif handle in (4, 6):
            shape = Qt.CursorShape.SizeVerCursor
        elif handle in (5, 7):
            shape = Qt.CursorShape.SizeHorCursor
        elif self.box_at(pos) is not None:
            shape = Qt.CursorShape.SizeAllCursor
        else:
            shape = Qt.CursorShape.ArrowCursor
        self.viewport().setCursor(shape)

    def _moved_rect(self, pos: QPointF) -> QRectF:
        return moved_rect(self._press_rect, pos - self._press_scene, self.image_rect)

    def _resized_rect(self, pos: QPointF) -> QRectF:
        return resized_rect(self._press_rect, self._handle, pos, self.image_rect)

    def cancel_gesture(self) -> None:
        """Abort a drag (Escape, image change) and put the box back where it was."""
        if self._gesture in ("move", "resize") and self.selected_id in self.items_by_id:
            self.items_by_id[self.selected_id].set_rect(self._press_rect)  # type: ignore[index]
        if self._draw_item is not None:
            self.scene().removeItem(self._draw_item)
            self._draw_item = None
        self._gesture = None

    # --- keys -----------------------------------------------------------------------------
    _CANVAS_KEYS = (
        Qt.Key.Key_Space,
        Qt.Key.Key_Left,
        Qt.Key.Key_Right,
        Qt.Key.Key_Up,
        Qt.Key.Key_Down,
        Qt.Key.Key_Escape,
    )

    def event(self, event: QEvent) -> bool:
        # Keep Space and the arrows for the canvas (pan / mark done / nudge) instead of
        # letting window shortcuts take them while the canvas has focus.
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            key = event.key()
            if key == Qt.Key.Key_Space and not event.modifiers():
                event.accept()
                return True
            if key in self._CANVAS_KEYS[1:5] and self.selected_id is not None:
                event.accept()
                return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Space and not event.modifiers():
            if not event.isAutoRepeat():
                self._space_down = True
                self._space_panned = False
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        if key == Qt.Key.Key_Escape:
            if self._gesture is not None:
                self.cancel_gesture()
            elif self.mode == "draw":
                self.set_mode("edit")
            else:
                self.select_box(None)
            event.accept()
            return
        # int keys: QKeyEvent.key() is an int (Qt.Key members compare and hash equal).
        arrows: dict[int, tuple[int, int]] = {
            Qt.Key.Key_Left: (-1, 0),
            Qt.Key.Key_Right: (1, 0),
            Qt.Key.Key_Up: (0, -1),
            Qt.Key.Key_Down: (0, 1),
        }
        if key in arrows and self.selected_id is not None and not self.read_only:
            step = 10.0 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1.0
            dx, dy = arrows[key]
            self.nudge(dx * step, dy * step, repeat=event.isAutoRepeat())
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.modifiers():
            if not event.isAutoRepeat():
                self._space_down = False
                self.viewport().setCursor(self._mode_cursor())
                if not self._space_panned and self._gesture is None:
                    self.space_tapped.emit()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        self._space_down = False
        self.flush_nudge()
        super().focusOutEvent(event)

    def nudge(self, dx: float, dy: float, *, repeat: bool = False) -> None:
        """Move the selected box by (dx, dy) image pixels, clamped, and emit ``box_nudged``
        at once: the press is saved before the next event is handled. ``repeat``: an
        auto-repeat of a held key (it continues the run)."""
        box_id = self.selected_id
        if box_id is None:
            return
        item = self.items_by_id[box_id]
        self._press_scene = QPointF(0, 0)
        self._press_rect = item.rect()
        rect = self._moved_rect(QPointF(dx, dy))
        if rect == self._press_rect:
            return  # against the border: nothing moved, nothing to save
        joins = self._nudge_box == box_id and (repeat or self._nudge_timer.isActive())
        if not joins:
            self._nudge_run += 1
        self._nudge_box = box_id
        self._nudge_timer.start()
        item.set_rect(rect)
        self.box_nudged.emit(box_id, rect, self._nudge_run)

    def flush_nudge(self) -> None:
        """End the run of nudges (before navigation, undo, a mouse press, close...): the
        next nudge starts a new undo step. Nothing is waiting to be saved: every press
        already was."""
        self._nudge_timer.stop()
        self._nudge_box = None

    # --- coordinates for tests and the status bar -----------------------------------------
    def map_image_to_view(self, x: float, y: float) -> QPoint:
        return self.mapFromScene(QPointF(x, y))
