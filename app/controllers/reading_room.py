"""The reading-room tools, wired together: mouse window/level, the ruler, the Boxes
panel, the hyperpigmentation overlay and the DICOM tags viewer.

The window composes this controller once; it talks to the canvas, the display and the
annotation controller through their public paths only, so each tool saves and renders
exactly as the older controls do:

- window/level: a right-drag builds new FilterSettings and hands them to the Display
  panel as if its sliders moved (``interactive=True``: previews at the view's size while
  the mouse moves, one full-resolution render once it rests, saved per image as usual);
- Boxes panel: a typed coordinate goes through ``AnnotationController.move_box`` (one
  History step, undoable, like a drag), Delete through ``delete_selected``;
- hyperpigmentation: a picture drawn over the photo from the screen-sized copy the
  display already keeps; the stored pixels and the display settings never change.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, QRectF, Qt, Signal
from PySide6.QtGui import QImage, QPixmap, QTransform
from PySide6.QtWidgets import QGraphicsPixmapItem, QWidget

from app.canvas.geometry import clamp_point
from app.canvas.ruler import RulerTool, _alive
from app.canvas.window_drag import WindowDrag, WindowStart, dragged_window
from app.jobs import LANE_INTERACTIVE
from core.annotations.measure import Calibration, calibration_of
from core.errors import ClinLensError

log = logging.getLogger("clinlens.reading_room")

# Cyan: the complement of skin, brown and red tones, so a marked patch never reads as a
# tint of the skin under it; half transparent so the patch itself stays visible.
PIGMENT_RGBA = (0, 230, 255, 150)
_TOOL_MESSAGES = ("Ruler", "W ", "Brightness ", "Window reset")


class ReadingRoom(QObject):
    message = Signal(str, int)
    error = Signal(str)

    def __init__(self, window: Any, parent: QObject | None = None) -> None:
        super().__init__(parent or window)
        self.w = window
        canvas = window.canvas
        self.calibration = Calibration()
        # Children of the canvas: they go with it, so their event filters can never see
        # a half-destroyed view while the window closes.
        self.wl = WindowDrag(canvas.viewport(), canvas)
        self.ruler = RulerTool(canvas, lambda p: clamp_point(p, canvas.image_rect), canvas)
        self.boxes = window.boxes_panel
        self.pigment = window.pigment_panel
        self._wl_start: WindowStart | None = None
        self._wl_text = ""
        self._panel_image: int | None = None
        self._overlay: QGraphicsPixmapItem | None = None
        self.tags_dialog: QWidget | None = None
        self.last_pigment: Any = None  # the PigmentMap on screen (tests, coverage)
        self._difference: tuple[Any, Any] | None = None  # (source array, V - gray map)
        # window / level
        self.wl.started.connect(self._wl_started)
        self.wl.dragged.connect(self._wl_dragged)
        self.wl.finished.connect(self._wl_finished)
        self.wl.reset_requested.connect(self.reset_window)
        # ruler
        self.ruler.measured.connect(
            lambda length: self.message.emit(f"Ruler: {length.text()}", 15000)
        )
        canvas.mode_changed.connect(self._on_mode)
        # boxes panel
        window.annotations.boxes_shown.connect(self.sync_boxes)
        canvas.selection_changed.connect(self.boxes.select)
        self.boxes.box_selected.connect(lambda box_id: canvas.select_box(box_id))
        self.boxes.visibility_changed.connect(self._apply_visibility)
        self.boxes.delete_requested.connect(self._delete)
        self.boxes.coords_edited.connect(self._edit_coords)
        # image changes, pigment
        window.display.image_loaded.connect(self._on_image_loaded)
        self.pigment.changed.connect(self.update_pigment)
        window.project_changed.connect(lambda _p: self._on_project())
        self.message.connect(lambda text, ms: window.statusBar().showMessage(text, ms))
        self.error.connect(window.show_error)

    def _on_mode(self, mode: str) -> None:
        if mode == "draw":  # W: drawing a box ends measuring
            self.ruler.set_active(False)

    # --- image / project ------------------------------------------------------------------
    def _on_project(self) -> None:
        self.ruler.set_active(False)
        self.ruler.clear()
        self.boxes.read_only = self.w.project is None or bool(self.w.project.read_only)
        self.sync_boxes()

    def _on_image_loaded(self, loaded: Any) -> None:
        self.calibration = calibration_of(loaded.raw)
        self.ruler.calibration = self.calibration
        self.ruler.clear()  # its line belonged to the previous image
        status = self.w.statusBar()
        if status.currentMessage().startswith(_TOOL_MESSAGES):
            status.clearMessage()  # a length or window of the previous image misleads
        self.sync_boxes()
        self.update_pigment()

    # --- mouse window / level -------------------------------------------------------------
    def _wl_started(self) -> None:
        raw, settings = self.w.display.raw, self.w.display.settings
        self._wl_start = None
        if raw is None or settings is None:
            return
        if getattr(raw, "is_color", False):
            self._wl_start = WindowStart(settings.brightness, settings.contrast, 1.0, True)
            return
        from core.filters import resolve_window

        window = resolve_window(raw, settings)
        if window is None:
            self.message.emit("This image uses its file's VOI LUT: set a window first", 3000)
            return
        vr = self.w.filters.histogram.value_range
        span = (vr[1] - vr[0]) if vr else float(window[1])
        self._wl_start = WindowStart(window[0], window[1], max(span, 1.0))

    def _wl_dragged(self, dx: float, dy: float) -> None:
        start = self._wl_start
        settings = self.w.display.settings
        if start is None or settings is None:
            return
        a, b = dragged_window(start, dx, dy)
        try:
            if start.colour:
                new = settings.replace(brightness=a, contrast=b, preset=None)
                text = f"Brightness {a:+.2f} / Contrast {b:.2f}"
            else:
                new = settings.replace(window_center=a, window_width=b, preset=None)
                text = f"W {b:.0f} / L {a:.0f}"
        except ClinLensError:
            return
        self.wl.show_value(text)
        self._wl_text = text
        self.w.statusBar().showMessage(text, 0)
        self.w.filters.apply_settings(new, True)

    def _wl_finished(self) -> None:
        settings = self.w.display.settings
        if self._wl_start is not None and settings is not None:
            self.w.filters.apply_settings(settings, False)
            self.w.statusBar().showMessage(self._wl_text, 4000)  # then it goes
        self._wl_start = None

    def reset_window(self) -> None:
        """The image's own window back (file VOI, else percentiles); other settings stay."""
        raw, settings = self.w.display.raw, self.w.display.settings
        if raw is None or settings is None:
            return
        from core.filters import default_settings

        d = default_settings(raw)
        new = settings.replace(
            window_center=d.window_center,
            window_width=d.window_width,
            hu_window=d.hu_window,
            normalise=d.normalise,
            brightness=0.0 if raw.is_color else settings.brightness,
            contrast=1.0 if raw.is_color else settings.contrast,
            preset=None,
        )
        self.w.filters.apply_settings(new, False)
        if d.window_width is not None:
            text = f"Window reset: W {d.window_width:.0f} / L {d.window_center:.0f}"
        else:
            text = "Display reset"
        self.message.emit(text, 3000)

    # --- ruler ----------------------------------------------------------------------------
    def toggle_ruler(self) -> None:
        on = not self.ruler.active and self.w.canvas.image_item is not None
        if on:
            self.w.canvas.set_mode("edit")
            unit = "mm" if self.calibration.known else "px (this image has no pixel spacing)"
            self.message.emit(f"Ruler: drag on the image to measure, in {unit}; Esc ends", 0)
        self.ruler.set_active(on)

    # --- boxes panel ----------------------------------------------------------------------
    def sync_boxes(self) -> None:
        ann = self.w.annotations
        image_id = ann.image_id
        new_image = image_id != self._panel_image
        self._panel_image = image_id
        self.boxes.set_boxes(
            list(ann.boxes.values()), self.calibration, self.w.canvas.selected_id,
            new_image=new_image,
        )  # fmt: skip
        self._apply_visibility()

    def _apply_visibility(self) -> None:
        hidden = self.boxes.hidden_ids()
        canvas = self.w.canvas
        for box_id, item in canvas.items_by_id.items():
            item.setVisible(box_id not in hidden)
        if canvas.selected_id in hidden:
            canvas.select_box(None)

    def _delete(self, box_id: int) -> None:
        self.w.canvas.select_box(box_id)
        self.w.annotations.delete_selected()

    def _edit_coords(self, box_id: int, x1: float, y1: float, x2: float, y2: float) -> None:
        """A typed coordinate: ordered, clamped to the image, saved like a dragged edit."""
        record = self.w.annotations.record
        if record is None:
            return
        from core.annotations.model import Box, clamp_box

        w = record.width or float("inf")
        h = record.height or float("inf")
        c = clamp_box(Box(x1, y1, x2, y2, label="_"), w, h)
        if c.x2 - c.x1 <= 0 or c.y2 - c.y1 <= 0:
            self.error.emit("A box needs a width and a height: that coordinate was not saved.")
            self.w.annotations.refresh(select=box_id)
            return
        self.w.annotations.move_box(box_id, QRectF(c.x1, c.y1, c.x2 - c.x1, c.y2 - c.y1))

    # --- hyperpigmentation ----------------------------------------------------------------
    def toggle_pigment(self) -> None:
        self.pigment.set_enabled(not self.pigment.enabled)
        dock = self.w.docks.get("pigment")
        if dock is not None and self.pigment.enabled:
            dock.show()
            dock.raise_()

    def _remove_overlay(self) -> None:
        item = self._overlay
        if item is not None and _alive(item) and item.scene() is not None:
            item.scene().removeItem(item)
        self._overlay = None

    def update_pigment(self) -> None:
        self._remove_overlay()
        self.last_pigment = None
        raw = self.w.display.raw
        canvas = self.w.canvas
        if not self.pigment.enabled:
            self.pigment.show_coverage(None, "")
            return
        if raw is None or canvas.image_item is None:
            self.pigment.show_coverage(None, "No image on screen.")
            return
        if not raw.is_color:
            self.pigment.show_coverage(None, "Only for colour photos (this image is grey).")
            return
        import numpy as np

        from core.filters.hyperpigmentation import PigmentMap, difference_map

        # The screen-sized copy the display keeps, its V - gray map made once per image:
        # a threshold step is then one comparison (~1 ms), whatever the photo's size.
        small = self.w.display.preview_raw if self.w.display.preview_raw is not None else raw
        if self._difference is None or self._difference[0] is not small.pixels:
            self._difference = (small.pixels, difference_map(small.pixels, small.bits_stored))
        diff = self._difference[1]
        threshold = self.pigment.value
        result = PigmentMap(diff, diff > np.float32(threshold), threshold)
        self.last_pigment = result
        self.pigment.show_coverage(result.coverage)
        h, w = result.mask.shape
        rgba = np.zeros((h, w, 4), np.uint8)
        rgba[result.mask] = PIGMENT_RGBA
        image = QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
        item = QGraphicsPixmapItem(QPixmap.fromImage(image))
        item.setTransform(QTransform.fromScale(raw.width / w, raw.height / h))
        item.setTransformationMode(Qt.TransformationMode.FastTransformation)  # crisp edges
        item.setZValue(2)  # over the photo, under skin patches and boxes
        canvas.scene().addItem(item)
        self._overlay = item

    # --- DICOM tags -----------------------------------------------------------------------
    def show_dicom_tags(self) -> Any:
        """Read the header in the background (a file read never runs on the GUI thread),
        then show the dialog; returns the job (None when there is no image)."""
        record = self.w.annotations.record
        project = self.w.project
        if record is None or project is None:
            self.error.emit("Open an image first.")
            return None
        path = project.image_path(record)

        def job(progress: Any, cancel: Any) -> Any:
            from core.imaging.dicom_tags import read_tag_rows

            return read_tag_rows(path)

        j = self.w.runner.submit(
            job,
            title="Read the DICOM tags",
            channel="dicom-tags",
            lane=LANE_INTERACTIVE,
            visible=False,
        )
        j.succeeded.connect(lambda rows, i=record.id: self._show_tags(i, rows))
        j.failed.connect(lambda message: self.error.emit(f"No DICOM tags to show: {message}"))
        return j

    def _show_tags(self, image_id: int, rows: Any) -> None:
        from app.dialogs.dicom_tags import DicomTagsDialog

        if self.tags_dialog is not None and _alive(self.tags_dialog):
            self.tags_dialog.close()
        # Titled by the image's id, not its file name (names can carry a patient's name).
        dialog = DicomTagsDialog(f"image {image_id}", rows, self.w)
        dialog.show()  # not modal: the image stays usable beside it
        self.tags_dialog = dialog
