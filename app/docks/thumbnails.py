"""Small thumbnails for the image list, made in the background and cached twice.

Why this shape: a 100,000-image project must scroll as fast as a 10-image one, and one
3000x3000 16-bit PNG takes ~100 ms to decode. So only rows the list actually paints ask
for a thumbnail; a request the user scrolled past is dropped; the rows visible *now* are
made first (top to bottom), a few per job, in the runner's idle lane (never queued behind
an export, never delaying the image on the canvas). Each thumbnail is kept on disk in the
project (``.cache/thumbs/<image id>-<sha8>.png``: the content hash in the name, so a file
replaced by another picture gets a new thumbnail) and in memory (LRU of QPixmaps).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap

from app.jobs import LANE_IDLE, LANE_INTERACTIVE, Job, JobRunner

if TYPE_CHECKING:  # numpy loads in the thumbnail jobs, not with the window (#17)
    import numpy as np

log = logging.getLogger("clinlens.thumbnails")

THUMB_SIZE = 64  # pixels, longest side, as stored on disk
MEMORY_ITEMS = 1500  # ~16 KB each
MAX_PENDING = 256  # requests kept waiting; older ones are rows the user scrolled past
BATCH = 2  # thumbnails per job: short jobs, so a scroll or an image switch goes first
POSTPONE_MS = 40  # while the viewer reads or renders, thumbnails wait this long and look again
# Hidden: "Add a folder…" on the project folder skips dot-folders, so thumbnails are
# never imported as images.
CACHE_DIR = Path(".cache") / "thumbs"


@dataclass(frozen=True)
class ThumbRequest:
    key: str
    image_id: int
    path: Path  # the image file
    cache_file: Path | None  # where the thumbnail is (or will be) kept on disk
    settings: dict[str, Any] | None  # the project's default display settings


def thumbnail_key(record: Any) -> str:
    """``<image id>-<first 8 hex of the content hash>`` (of the path when none is known)."""
    digest = record.sha256 or hashlib.sha1(str(record.path).encode("utf-8")).hexdigest()
    return f"{record.id}-{digest[:8]}"


# --- worker side (no Qt widgets; runs on a job thread) ------------------------------------
def make_thumbnail(req: ThumbRequest) -> np.ndarray:
    """RGB or grey uint8, longest side ``THUMB_SIZE``: from the disk cache, else rendered
    from the file (and then stored on disk when the project folder allows)."""
    import cv2

    if req.cache_file is not None and req.cache_file.is_file():
        cached = cv2.imread(str(req.cache_file), cv2.IMREAD_UNCHANGED)
        if cached is not None:
            return cached if cached.ndim == 2 else cv2.cvtColor(cached, cv2.COLOR_BGR2RGB)
    img = _render(req)
    if req.cache_file is not None:
        _store(req.cache_file, img)
    return img


def _render(req: ThumbRequest) -> np.ndarray:
    with open(req.path, "rb") as fh:
        head = fh.read(3)
    if head == b"\xff\xd8\xff":
        return _jpeg_thumbnail(req.path)
    from core.errors import ClinLensError
    from core.filters import FilterSettings, default_settings, render
    from core.imaging import read

    raw = read(req.path)
    settings = None
    if req.settings:
        try:
            settings = FilterSettings.from_dict(req.settings)
        except ClinLensError:
            settings = None
    return render(raw, settings or default_settings(raw), out_size=THUMB_SIZE)


def _jpeg_thumbnail(path: Path) -> np.ndarray:
    """Photos: Pillow's draft mode decodes a JPEG at 1/2..1/8 scale (DCT scaling), ~20x
    faster than a full decode of a 12-Mpx photo; EXIF orientation applied as in ``read``."""
    import numpy as np
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        im.draft("RGB", (THUMB_SIZE * 2, THUMB_SIZE * 2))
        upright = ImageOps.exif_transpose(im)
        upright = upright.convert("L" if upright.mode in ("L", "I;16", "I") else "RGB")
        upright.thumbnail((THUMB_SIZE, THUMB_SIZE), Image.Resampling.LANCZOS)
        return np.asarray(upright).copy()


def _store(cache_file: Path, img: np.ndarray) -> None:
    import cv2

    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_name(f".{cache_file.name}.{os.getpid()}.tmp.png")
        out = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
        if cv2.imwrite(str(tmp), out):
            os.replace(tmp, cache_file)  # atomic: a half-written thumbnail is never read
    except OSError as exc:  # a read-only project folder: memory cache only
        log.debug("thumbnail not cached on disk: %s", exc)


def _to_qimage(img: np.ndarray) -> QImage:
    h, w = img.shape[:2]
    if img.ndim == 2:
        qimg = QImage(img.data, w, h, img.strides[0], QImage.Format.Format_Grayscale8)
    else:
        qimg = QImage(img.data, w, h, img.strides[0], QImage.Format.Format_RGB888)
    return qimg.copy()  # own the pixels: the numpy buffer goes away


# --- GUI side ------------------------------------------------------------------------------
class ThumbnailCache(QObject):
    """Hands out thumbnails to the list's delegate; makes the missing ones in the background."""

    ready = Signal()  # new thumbnails arrived: repaint the list

    def __init__(self, runner: JobRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.project: Any = None
        self._memory: OrderedDict[str, QPixmap] = OrderedDict()
        self._pending: OrderedDict[str, ThumbRequest] = OrderedDict()
        self._failed: set[str] = set()
        self._in_flight: set[str] = set()  # keys the running job is making
        self._job: Job | None = None
        self._settings: dict[str, Any] | None = None
        self._folder: Path | None = None
        self._visible: Callable[[], set[int] | None] = lambda: None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)  # after the paint pass that asked: one batch per pass
        self._timer.timeout.connect(self._schedule)
        self._postponed = False
        self.made = 0  # thumbnails made or loaded by jobs (tests and benchmarks)
        self.postponements = 0  # times the viewer's work went first (tests)

    def set_project(self, project: Any) -> None:
        self.runner.cancel_channel("thumbnails")
        self.project = project
        self._memory.clear()  # image ids are per project
        self._pending.clear()
        self._failed.clear()
        self._in_flight = set()
        self._job = None  # the old job was superseded: the runner reports it cancelled
        self._folder = Path(project.folder) / CACHE_DIR if project is not None else None
        try:
            self._settings = project.default_filter_settings() if project is not None else None
        except Exception:
            self._settings = None

    def set_visible(self, fn: Callable[[], set[int] | None]) -> None:
        """``fn()`` -> ids of the rows on screen now (None: treat every request as visible)."""
        self._visible = fn

    def pixmap(self, record: Any) -> QPixmap | None:
        """The thumbnail when it is ready, else None (and it is asked for)."""
        if self.project is None or record.error or not record.width:
            return None
        key = thumbnail_key(record)
        pix = self._memory.get(key)
        if pix is not None:
            self._memory.move_to_end(key)
            return pix
        if key in self._failed or key in self._in_flight:
            return None
        if key in self._pending:
            self._pending.move_to_end(key)
        else:
            self._pending[key] = ThumbRequest(
                key,
                int(record.id),
                self.project.image_path(record),
                self._folder / f"{key}.png" if self._folder is not None else None,
                self._settings,
            )
            while len(self._pending) > MAX_PENDING:
                self._pending.popitem(last=False)
        if self._job is None:
            self._timer.start()
        return None

    def retry_failed(self) -> None:
        """Try again the images that had no thumbnail (after a reload: files may be back)."""
        self._failed.clear()

    def forget(self, record: Any) -> None:
        """Drop an image's thumbnail (e.g. its file was relocated) so it is made again."""
        key = thumbnail_key(record)
        self._memory.pop(key, None)
        self._failed.discard(key)

    # --- jobs ----------------------------------------------------------------------------
    def _next_batch(self) -> list[ThumbRequest]:
        visible = self._visible()
        if visible is not None:
            # Requests for rows scrolled out of view are dropped: painted again, they ask again.
            for key in [k for k, r in self._pending.items() if r.image_id not in visible]:
                del self._pending[key]
            # What is left is on screen, in paint order (top to bottom).
            return list(self._pending.values())[:BATCH]
        # No view to ask: the latest requests first.
        return list(reversed(self._pending.values()))[:BATCH]

    def _schedule(self) -> None:
        if self._job is not None or not self._pending or self.project is None:
            return
        if any(j.lane == LANE_INTERACTIVE for j in self.runner.active_jobs):
            # The image on the canvas first: a 3000x3000 decode here would compete with it
            # for the two cores (thread priorities do not do this on Linux).
            self.postponements += 1
            if not self._postponed:
                self._postponed = True
                QTimer.singleShot(POSTPONE_MS, self._resume)
            return
        batch = self._next_batch()
        if not batch:
            return
        for req in batch:
            self._pending.pop(req.key, None)
        self._in_flight = {req.key for req in batch}

        def run(progress: Any, cancel: Any) -> list[tuple[str, np.ndarray | None]]:
            out: list[tuple[str, np.ndarray | None]] = []
            for req in batch:
                if cancel.is_set():
                    break
                try:
                    out.append((req.key, make_thumbnail(req)))
                except Exception as exc:  # unreadable or missing: the row keeps its badge
                    log.debug("no thumbnail for %s: %s", req.path.name, exc)
                    out.append((req.key, None))
            return out

        job = self.runner.submit(
            run, title="thumbnails", channel="thumbnails", lane=LANE_IDLE, visible=False
        )
        self._job = job
        job.succeeded.connect(self._on_batch)
        job.finished.connect(lambda j=job: self._on_finished(j))

    def _resume(self) -> None:
        self._postponed = False
        self._schedule()

    def _on_batch(self, results: list[tuple[str, np.ndarray | None]]) -> None:
        for key, img in results:
            self.made += 1
            if img is None:
                self._failed.add(key)
                continue
            pix = QPixmap.fromImage(_to_qimage(img))
            self._memory[key] = pix
            self._memory.move_to_end(key)
        while len(self._memory) > MEMORY_ITEMS:
            self._memory.popitem(last=False)
        if results:
            self.ready.emit()

    def _on_finished(self, job: Job) -> None:
        if self._job is job:
            self._job = None
            self._in_flight = set()
        if self._pending:
            self._timer.start()


def draw_thumbnail(painter: Any, rect: Any, pix: QPixmap | None, placeholder: Any) -> None:
    """Fit ``pix`` in ``rect`` (kept in proportion, centred); a placeholder while none."""
    if pix is None or pix.isNull():
        painter.fillRect(rect, placeholder)
        return
    scaled = pix.size().scaled(rect.size(), Qt.AspectRatioMode.KeepAspectRatio)
    x = rect.left() + (rect.width() - scaled.width()) // 2
    y = rect.top() + (rect.height() - scaled.height()) // 2
    painter.drawPixmap(x, y, scaled.width(), scaled.height(), pix)
