"""Image list thumbnails: made in the background for visible rows only, cached on disk
and in memory, latest-visible-first at 100,000 rows."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QPixmap

from app.docks import thumbnails
from app.docks.image_list_model import ThumbnailRole
from app.docks.image_list_panel import ImageListPanel
from app.docks.thumbnails import THUMB_SIZE, ThumbnailCache, make_thumbnail, thumbnail_key
from tests.app.conftest import runner_fixture, window_fixture  # noqa: F401


def _thumbs(window):  # type: ignore[no-untyped-def]
    return window.images.model.thumbnails


def test_list_rows_get_thumbnails_cached_on_disk(qtbot, window):
    cache = _thumbs(window)
    qtbot.waitUntil(lambda: cache.made >= 3, timeout=10000)
    model = window.images.model
    pix = model.index(0).data(ThumbnailRole)
    assert isinstance(pix, QPixmap)
    assert (pix.width(), pix.height()) == (64, 48)  # 240x180 kept in proportion
    record = model.record(0)
    on_disk = window.project.folder / ".cache" / "thumbs" / f"{thumbnail_key(record)}.png"
    assert on_disk.is_file()
    assert record.sha256[:8] in on_disk.name


def test_thumbnails_come_from_the_disk_cache_without_reading_images(
    qtbot, window, monkeypatch, runner
):
    cache = _thumbs(window)
    qtbot.waitUntil(lambda: cache.made >= 3, timeout=10000)
    import core.imaging

    def no_read(*a, **k):  # type: ignore[no-untyped-def]
        raise AssertionError("the image was decoded although its thumbnail is on disk")

    monkeypatch.setattr(core.imaging, "read", no_read)
    fresh = ThumbnailCache(runner)
    fresh.set_project(window.project)
    record = window.images.model.record(1)
    assert fresh.pixmap(record) is None  # asked for
    qtbot.waitUntil(lambda: fresh.pixmap(record) is not None, timeout=10000)
    assert fresh.pixmap(record).width() == 64


def test_thumbnails_are_made_on_a_worker_thread(qtbot, window, monkeypatch):
    threads: list[threading.Thread] = []
    real = thumbnails.make_thumbnail

    def spy(req):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread())
        return real(req)

    monkeypatch.setattr(thumbnails, "make_thumbnail", spy)
    cache = _thumbs(window)
    cache.set_project(window.project)  # forget the thumbnails made so far
    window.images.view.viewport().update()
    qtbot.waitUntil(lambda: len(threads) >= 3, timeout=10000)
    assert threading.main_thread() not in threads


def test_an_unreadable_image_gets_no_thumbnail_and_is_not_retried(qtbot, window, runner):
    record = window.images.model.record(2)
    window.project.image_path(record).write_bytes(b"\x89PNG\r\n\x1a\n broken")
    cache = ThumbnailCache(runner)
    cache.set_project(window.project)
    assert cache.pixmap(record) is None
    qtbot.waitUntil(lambda: cache.made == 1, timeout=10000)
    assert cache.pixmap(record) is None
    assert not cache._pending  # a failed image is not asked for again
    cache.retry_failed()
    assert cache.pixmap(record) is None and cache._pending


def test_jpeg_thumbnail_is_upright(tmp_path: Path):
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown portrait
    path = tmp_path / "phone.jpg"
    Image.new("RGB", (400, 200), (200, 30, 30)).save(path, exif=exif)
    req = thumbnails.ThumbRequest("k", 1, path, tmp_path / "cache" / "k.png", None)
    img = make_thumbnail(req)
    assert img.shape == (THUMB_SIZE, THUMB_SIZE // 2, 3)
    assert (tmp_path / "cache" / "k.png").is_file()
    np.testing.assert_array_equal(make_thumbnail(req), img)  # the same from the disk cache


# --- 100,000 rows ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Rec:
    id: int
    path: str
    sha256: str | None = None
    review_status: str = "new"
    box_count: int = 0
    error: str | None = None
    width: int = 100
    height: int = 100
    bit_depth: int = 16


class _BigProject:
    def __init__(self, folder: Path, n: int = 100_000) -> None:
        self.folder = folder
        self.n = n

    def image_count(self, **filters) -> int:  # type: ignore[no-untyped-def]
        return self.n

    def images(self, *, offset=0, limit=None, **filters):  # type: ignore[no-untyped-def]
        end = min(self.n, offset + (limit or self.n))
        return [_Rec(i + 1, f"scans/scan_{i:06d}.dcm", f"{i:064x}") for i in range(offset, end)]

    def image_path(self, record):  # type: ignore[no-untyped-def]
        return self.folder / record.path

    def default_filter_settings(self):  # type: ignore[no-untyped-def]
        return None

    def grades(self, image_id):  # type: ignore[no-untyped-def]
        return []

    def label_set(self):  # type: ignore[no-untyped-def]
        from core.annotations import builtin_label_set

        return builtin_label_set("xray")

    def scales(self):  # type: ignore[no-untyped-def]
        return []


@pytest.fixture
def made(monkeypatch):  # type: ignore[no-untyped-def]
    """Image ids thumbnails were made for, in order (a grey square, no file needed)."""
    ids: list[int] = []

    def fake(req):  # type: ignore[no-untyped-def]
        ids.append(req.image_id)
        return np.full((THUMB_SIZE, THUMB_SIZE), 100, np.uint8)

    monkeypatch.setattr(thumbnails, "make_thumbnail", fake)
    return ids


def test_100k_rows_only_visible_rows_get_thumbnails_latest_first(qtbot, runner, made, tmp_path):
    panel = ImageListPanel()
    qtbot.addWidget(panel)
    panel.resize(300, 500)
    panel.show()
    qtbot.waitExposed(panel)
    cache = ThumbnailCache(runner)
    panel.set_thumbnails(cache)
    panel.set_project(_BigProject(tmp_path))
    qtbot.waitUntil(lambda: bool(made) and set(made) >= panel.visible_image_ids(), timeout=10000)
    top = panel.visible_image_ids()
    assert 5 <= len(top) <= 15
    assert set(made) == top  # nothing beyond the screen
    assert made[: len(top)] == sorted(top)  # top to bottom
    done = len(made)
    panel.select_row(99_999)  # jump to the end
    bottom = panel.visible_image_ids()
    assert 100_000 in bottom
    qtbot.waitUntil(lambda: set(made[done:]) >= bottom, timeout=10000)
    assert set(made[done:]) == bottom
    assert len(made) < 40
    qtbot.waitUntil(  # the last job's result reaches the GUI thread after the worker ends
        lambda: isinstance(panel.model.index(99_999).data(ThumbnailRole), QPixmap),
        timeout=5000,
    )


def test_rows_scrolled_past_are_not_made(qtbot, runner, made, tmp_path):
    panel = ImageListPanel()
    qtbot.addWidget(panel)
    panel.resize(300, 500)
    panel.show()
    qtbot.waitExposed(panel)
    cache = ThumbnailCache(runner)
    panel.set_thumbnails(cache)
    panel.set_project(_BigProject(tmp_path))
    # The user flicks through the list faster than thumbnails are made.
    for row in range(0, 100_000, 5_000):
        panel.select_row(row)
        panel.view.viewport().repaint()
    final = panel.visible_image_ids()
    qtbot.waitUntil(lambda: set(made) >= final, timeout=10000)
    assert len(made) < 4 * 15  # a few batches started during the flick, not 20 screens


def test_thumbnails_wait_while_the_viewer_reads_an_image(qtbot, runner, made, tmp_path):
    from app.jobs import LANE_INTERACTIVE

    release = threading.Event()
    viewer = runner.submit(
        lambda progress, cancel: release.wait(10), lane=LANE_INTERACTIVE, visible=False
    )
    panel = ImageListPanel()
    qtbot.addWidget(panel)
    panel.resize(300, 400)
    panel.show()
    qtbot.waitExposed(panel)
    cache = ThumbnailCache(runner)
    panel.set_thumbnails(cache)
    panel.set_project(_BigProject(tmp_path))
    qtbot.waitUntil(lambda: cache.postponements >= 2, timeout=5000)
    assert made == []  # nothing started while the viewer was busy
    release.set()
    qtbot.waitUntil(lambda: viewer.done, timeout=5000)
    qtbot.waitUntil(lambda: len(made) >= 5, timeout=10000)


def test_adding_the_project_folder_does_not_import_thumbnails(qtbot, window):
    from core.project_io import import_images

    cache = _thumbs(window)
    qtbot.waitUntil(lambda: cache.made >= 3, timeout=10000)
    assert list((window.project.folder / ".cache" / "thumbs").glob("*.png"))
    report = import_images(window.project, [window.project.folder])
    assert not report.added
    assert window.project.image_count() == 3
