"""Image read + render off the GUI thread, for the canvas.

Why: decoding a 3000x3000 16-bit file and rendering it at full resolution takes longer than a
frame, so both run in the job runner's interactive lane and the GUI thread only wraps the
finished BGRA buffer. Latest request wins: a read for an image the user already left, or a
render for settings the user already changed, is dropped.

Speed plan (ARCHITECTURE "Display speed"): on open, one job reads the file and renders a
preview at the view's size (first display); the full-resolution render follows. While a
slider moves, only previews are rendered; the full render waits until it rests.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.canvas import Canvas, Frame, to_bgra
from app.jobs import LANE_INTERACTIVE, JobRunner

if TYPE_CHECKING:  # numpy loads in the first read job, not with the window (#17)
    import numpy as np

log = logging.getLogger("clinlens.display")

FULL_RENDER_DELAY_MS = 180  # slider at rest this long -> full-resolution render
RAW_CACHE_SIZE = 3  # decoded images kept (current, previous, prefetched next)


@dataclass(frozen=True)
class Loaded:
    image_id: int
    path: Path
    raw: Any  # RawImage
    settings: Any  # FilterSettings
    frame: Frame
    histogram: tuple[np.ndarray, np.ndarray] | None
    seconds: float
    preview_raw: Any = None  # the image at screen size, for slider previews


@dataclass(frozen=True)
class Rendered:
    image_id: int
    settings: Any
    kind: str  # "preview" | "full"
    frame: Frame
    seconds: float


def render_frame(raw: Any, settings: Any, out_size: int | None) -> Frame:
    from core.filters import render

    return Frame(to_bgra(render(raw, settings, out_size)))


def make_preview_raw(raw: Any, out_size: int) -> Any:
    """The image downsampled once to screen size (stored values averaged, as ``render``
    does for a preview), so each slider step renders ~1 Mpx instead of resampling 9 Mpx."""
    import dataclasses

    import cv2
    import numpy as np

    from core.filters import preview_shape

    h, w = preview_shape(raw.height, raw.width, out_size)
    if (h, w) == (raw.height, raw.width):
        return raw
    pixels = raw.pixels
    if pixels.dtype not in (np.uint8, np.uint16, np.int16):
        pixels = pixels.astype(np.float32)
    small = cv2.resize(pixels, (w, h), interpolation=cv2.INTER_AREA)
    return dataclasses.replace(raw, pixels=small)


def preview_settings(full_raw: Any, settings: Any) -> Any:
    """Settings whose automatic window is the one of the *full* image, so a preview and the
    full render that follows look the same (percentiles of a downsampled image differ)."""
    if settings.window_center is not None and settings.window_width is not None:
        return settings
    from core.filters import resolve_window

    window = resolve_window(full_raw, settings)
    if window is None:
        return settings  # a VOI LUT: the same on both
    return settings.replace(window_center=window[0], window_width=window[1])


class DisplayController(QObject):
    """Keeps the canvas showing ``image_id`` rendered with ``settings``."""

    image_loaded = Signal(object)  # Loaded
    image_failed = Signal(int, str)  # image id, readable reason
    frame_shown = Signal(str)  # "preview" | "full"
    settings_changed = Signal(object)  # FilterSettings now on screen

    def __init__(self, runner: JobRunner, canvas: Canvas, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.canvas = canvas
        self.image_id: int | None = None
        self.path: Path | None = None
        self.raw: Any = None
        self.preview_raw: Any = None
        self.settings: Any = None
        self.histogram: tuple[np.ndarray, np.ndarray] | None = None
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._full_timer = QTimer(self)
        self._full_timer.setSingleShot(True)
        self._full_timer.setInterval(FULL_RENDER_DELAY_MS)
        self._full_timer.timeout.connect(self.render_full)
        self.requested_at = 0.0  # perf_counter of the last load request (benchmarks)
        self.first_display_s: float | None = None

    # --- loading --------------------------------------------------------------------------
    def load(self, image_id: int, path: Path, settings: Any | None = None) -> None:
        """Read and show an image. ``settings``: FilterSettings, a saved settings dict, or
        None for the file's defaults (a dict that no longer validates falls back to them)."""
        self._full_timer.stop()
        self.runner.cancel_channel("display:full")
        self.runner.cancel_channel("display:preview")
        self.image_id = image_id
        self.path = Path(path)
        self.raw = None
        self.preview_raw = None
        self.requested_at = time.perf_counter()
        self.first_display_s = None
        out_size = self.canvas.preview_size()
        cached = self._cache.get(str(path))
        key = str(path)

        def job(progress: Any, cancel: Any) -> Loaded:
            from core.errors import ClinLensError
            from core.filters import FilterSettings, default_settings, histogram
            from core.imaging import read

            t0 = time.perf_counter()
            raw = cached if cached is not None else read(path)
            cancel.raise_if_cancelled()
            chosen = settings
            if isinstance(chosen, dict):
                try:
                    chosen = FilterSettings.from_dict(chosen)
                except ClinLensError as exc:
                    log.warning("saved display settings ignored: %s", exc)
                    chosen = None
            if chosen is None:
                chosen = default_settings(raw)
            small = make_preview_raw(raw, out_size)
            frame = render_frame(small, preview_settings(raw, chosen), None)
            try:
                hist = histogram(raw)
            except Exception:  # the histogram is a nicety; never fail a load for it
                hist = None
            seconds = time.perf_counter() - t0
            return Loaded(image_id, Path(path), raw, chosen, frame, hist, seconds, small)

        job_ = self.runner.submit(
            job,
            title=f"Open {Path(path).name}",
            channel="display:load",
            lane=LANE_INTERACTIVE,
            visible=False,
        )
        job_.succeeded.connect(lambda result, k=key: self._on_loaded(result, k))
        job_.failed.connect(lambda message, i=image_id: self._on_failed(i, message))

    def _on_loaded(self, result: Loaded, key: str) -> None:
        if result.image_id != self.image_id:
            return
        self._remember(key, result.raw)
        self.raw = result.raw
        self.preview_raw = result.preview_raw
        self.settings = result.settings
        self.histogram = result.histogram
        self.canvas.set_image(
            result.raw.width,
            result.raw.height,
            result.frame,
            smooth=bool(getattr(result.raw, "is_color", False)),
        )
        self.first_display_s = time.perf_counter() - self.requested_at
        self.image_loaded.emit(result)
        self.settings_changed.emit(self.settings)
        self.frame_shown.emit("preview")
        if result.frame.width < result.raw.width:
            self.render_full()

    def _on_failed(self, image_id: int, message: str) -> None:
        if image_id != self.image_id:
            return
        self.canvas.clear_image()
        self.image_failed.emit(image_id, message)

    def _remember(self, key: str, raw: Any) -> None:
        self._cache[key] = raw
        self._cache.move_to_end(key)
        while len(self._cache) > RAW_CACHE_SIZE:
            self._cache.popitem(last=False)

    def prefetch(self, path: Path) -> None:
        """Decode a likely next image in the background so A/D feels instant."""
        key = str(path)
        if key in self._cache:
            return

        def job(progress: Any, cancel: Any) -> Any:
            from core.imaging import read

            return read(path)

        j = self.runner.submit(
            job, title="prefetch", channel="display:prefetch", lane=LANE_INTERACTIVE, visible=False
        )
        j.succeeded.connect(lambda raw, k=key: self._remember(k, raw))

    def forget(self, path: Path | None = None) -> None:
        if path is None:
            self._cache.clear()
        else:
            self._cache.pop(str(path), None)

    # --- filters --------------------------------------------------------------------------
    def set_settings(self, settings: Any, interactive: bool = False) -> None:
        """New display settings: preview now, full resolution when the user rests."""
        if self.raw is None or settings == self.settings:
            self.settings = settings if self.raw is not None else self.settings
            return
        self.settings = settings
        self.settings_changed.emit(settings)
        self._submit_render("preview", self.canvas.preview_size())
        if interactive:
            self._full_timer.start()
        else:
            self._full_timer.stop()
            self.render_full()

    def render_full(self) -> None:
        self._full_timer.stop()
        if self.raw is not None:
            self._submit_render("full", None)

    def _submit_render(self, kind: str, out_size: int | None) -> None:
        raw, settings, image_id = self.raw, self.settings, self.image_id
        small = self.preview_raw
        if kind == "preview":
            self.runner.cancel_channel("display:full")  # its settings are stale now

        def job(progress: Any, cancel: Any) -> Rendered:
            t0 = time.perf_counter()
            if kind == "preview" and small is not None:
                frame = render_frame(small, preview_settings(raw, settings), None)
            else:
                frame = render_frame(raw, settings, out_size)
            return Rendered(image_id, settings, kind, frame, time.perf_counter() - t0)  # type: ignore[arg-type]

        j = self.runner.submit(
            job,
            title=f"render {kind}",
            channel=f"display:{kind}",
            lane=LANE_INTERACTIVE,
            visible=False,
        )
        j.succeeded.connect(self._on_rendered)
        j.failed.connect(lambda message: log.warning("render failed: %s", message))

    def _on_rendered(self, result: Rendered) -> None:
        if result.image_id != self.image_id or result.settings != self.settings:
            return  # the user moved on: never draw a stale picture
        self.canvas.set_frame(result.kind, result.frame)
        self.frame_shown.emit(result.kind)
