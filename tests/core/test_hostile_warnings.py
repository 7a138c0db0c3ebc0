"""Hostile images never print library warnings or log lines on stderr.

``python main.py info FILE`` on a damaged file prints exactly one line (exit code 2), and
on a file that reads despite oddities prints nothing on stderr: tifffile's "invalid
offset" log lines, Pillow's DecompressionBombWarning and EXIF warnings, numpy's cast
warnings, OpenCV's "[ WARN" lines and libpng's "libpng error:" are dropped or turned into
the typed error. The corpus is generated here; nothing binary is checked in.
"""

from __future__ import annotations

import json
import logging
import struct
import subprocess
import sys
import threading
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image

from core.errors import ImageReadError
from core.imaging import read, read_header
from core.imaging._quiet import quiet_reading
from core.imaging.photo import read_photo
from core.imaging.sniff import JPEG, PNG
from core.imaging.tiff import read_tiff

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "main.py").is_file())


# --- the corpus ---------------------------------------------------------------------------
def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _png_claiming(path: Path, width: int, height: int) -> Path:
    """A valid-looking 8-bit grey PNG header over a few bytes of pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\0" * 16))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body + _chunk(b"IEND", b""))
    return path


def png_over_pillows_warning_limit(path: Path) -> Path:
    # 90.25 Mpx: above Pillow's 89.5 Mpx warning, below its error and ClinLens' limits.
    return _png_claiming(path, 9500, 9500)


def png_over_pillows_bomb_limit(path: Path) -> Path:
    return _png_claiming(path, 15000, 15000)  # 225 Mpx: Pillow's DecompressionBombError


def _tiff_with(path: Path, patch: Callable[[bytearray, tifffile.TiffPage], None]) -> Path:
    tifffile.imwrite(path, np.arange(16, dtype=np.uint16).reshape(4, 4))
    data = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tif:
        patch(data, tif.pages[0])  # type: ignore[arg-type]
    path.write_bytes(bytes(data))
    return path


def tiff_invalid_first_ifd_offset(path: Path) -> Path:
    def patch(data: bytearray, page: tifffile.TiffPage) -> None:
        data[4:8] = struct.pack("<I", 1_000_000_000)

    return _tiff_with(path, patch)


def tiff_invalid_next_ifd_offset(path: Path) -> Path:
    def patch(data: bytearray, page: tifffile.TiffPage) -> None:
        entries = struct.unpack("<H", data[page.offset : page.offset + 2])[0]
        at = page.offset + 2 + 12 * entries
        data[at : at + 4] = struct.pack("<I", 1_000_000_000)

    return _tiff_with(path, patch)


def tiff_absurd_tag_count(path: Path) -> Path:
    def patch(data: bytearray, page: tifffile.TiffPage) -> None:
        tag = page.tags[270]  # ImageDescription: claims 2 GB of text
        data[tag.offset + 4 : tag.offset + 8] = struct.pack("<I", 2**31 - 1)

    return _tiff_with(path, patch)


def _palette_tiff(path: Path, pixels: np.ndarray, colormap_type: str, cmap: np.ndarray) -> Path:
    """Written as grey with a ColorMap tag, then switched to Photometric=palette (tifffile
    will not write a palette of these types itself)."""
    tifffile.imwrite(
        path,
        pixels,
        photometric="minisblack",
        extratags=[(320, colormap_type, cmap.size, cmap.ravel(), False)],
    )
    data = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tif:
        at = tif.pages[0].tags[262].valueoffset  # type: ignore[union-attr]
    data[at : at + 2] = struct.pack("<H", 3)
    path.write_bytes(bytes(data))
    return path


def tiff_float_palette_indices(path: Path) -> Path:
    # 1e30, inf and NaN as palette indices: numpy warns "invalid value encountered in cast".
    pixels = np.array([[1e30, -1e30], [np.inf, np.nan]], np.float32)
    return _palette_tiff(path, pixels, "H", np.zeros((3, 256), np.uint16))


def tiff_nan_colour_table(path: Path) -> Path:
    return _palette_tiff(path, np.zeros((2, 2), np.uint8), "d", np.full((3, 256), np.nan))


def _png16(path: Path) -> bytes:
    rng = np.random.default_rng(3)
    cv2.imwrite(str(path), rng.integers(0, 65535, (64, 64), dtype=np.uint16))
    return path.read_bytes()


def png16_truncated(path: Path) -> Path:
    data = _png16(path)
    path.write_bytes(data[: len(data) // 2])  # OpenCV logs "[ WARN:0@...] ... incomplete"
    return path


def png16_corrupt_idat(path: Path) -> Path:
    data = bytearray(_png16(path))
    data[60] ^= 0xFF  # inside IDAT: libpng prints "libpng error: ..." on the C stderr
    path.write_bytes(bytes(data))
    return path


def _bad_exif() -> bytes:
    """EXIF whose entries claim far more data than the block holds (Pillow warns)."""
    ifd = (
        b"II*\x00"
        + struct.pack("<I", 8)
        + struct.pack("<H", 2)
        + struct.pack("<HHII", 0x0112, 3, 2**30, 0x100)
        + struct.pack("<HHII", 0x010F, 2, 50_000, 0x20)
        + struct.pack("<I", 0)
    )
    return b"Exif\x00\x00" + ifd


def jpeg_corrupt_exif(path: Path) -> Path:
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(path, exif=_bad_exif())
    return path


def png_corrupt_exif(path: Path) -> Path:
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(path, exif=_bad_exif())
    return path


REFUSED: dict[str, tuple[str, Callable[[Path], Path], str]] = {
    "tiff-invalid-first-ifd-offset": ("a.tif", tiff_invalid_first_ifd_offset, "damaged"),
    "png-over-pillows-warning-limit": ("a.png", png_over_pillows_warning_limit, "truncated"),
    "png-over-pillows-bomb-limit": ("a.png", png_over_pillows_bomb_limit, "million pixels"),
    "tiff-float-palette-indices": ("a.tif", tiff_float_palette_indices, "palette"),
    "tiff-nan-colour-table": ("a.tif", tiff_nan_colour_table, "palette"),
    "png16-truncated": ("a.png", png16_truncated, "truncated"),
    "png16-corrupt-idat": ("a.png", png16_corrupt_idat, "checksum"),
}
READ_QUIETLY: dict[str, tuple[str, Callable[[Path], Path]]] = {
    "tiff-invalid-next-ifd-offset": ("a.tif", tiff_invalid_next_ifd_offset),
    "tiff-absurd-tag-count": ("a.tif", tiff_absurd_tag_count),
    "jpeg-corrupt-exif": ("a.jpg", jpeg_corrupt_exif),
    "png-corrupt-exif": ("a.png", png_corrupt_exif),
}


def run_info(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "info", str(path), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


# --- through main.py: the stderr contract ---------------------------------------------------
@pytest.mark.parametrize("case", list(REFUSED))
def test_a_hostile_image_gives_exit_2_and_exactly_one_line(tmp_path: Path, case: str) -> None:
    name, make, word = REFUSED[case]
    result = run_info(make(tmp_path / name))
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"clinlens: error: '{name}'") and word in lines[0]
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr
    assert "WARN" not in result.stderr and "libpng" not in result.stderr


@pytest.mark.parametrize("case", list(READ_QUIETLY))
def test_an_odd_but_readable_image_prints_nothing_on_stderr(tmp_path: Path, case: str) -> None:
    name, make = READ_QUIETLY[case]
    result = run_info(make(tmp_path / name))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert json.loads(result.stdout)["width"] > 0


# --- the corpus is really hostile: without the guard, the libraries do speak ---------------
@pytest.mark.parametrize(
    ("make", "direct"),
    [
        (png_over_pillows_warning_limit, lambda p: Image.open(p)),
        (jpeg_corrupt_exif, lambda p: Image.open(p).getexif().get_ifd(0)),
        (tiff_float_palette_indices, lambda p: tifffile.imread(p).astype(np.int64)),
    ],
)
def test_the_libraries_alone_would_warn(
    tmp_path: Path, make: Callable[[Path], Path], direct: Callable[[Path], object]
) -> None:
    path = make(tmp_path / ("a.jpg" if make is jpeg_corrupt_exif else "a.img"))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        direct(path)
    assert seen, "the case would not have warned: it tests nothing"


def test_tifffile_alone_would_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tiff_invalid_next_ifd_offset(tmp_path / "a.tif")
    with caplog.at_level(logging.WARNING, logger="tifffile"), tifffile.TiffFile(path) as tif:
        len(tif.pages)
    assert any("invalid" in r.getMessage() for r in caplog.records)


# --- in process: no warning, no log record escapes a read ---------------------------------
@pytest.mark.parametrize("case", list(READ_QUIETLY))
def test_read_and_read_header_raise_no_warnings_and_log_nothing(
    tmp_path: Path, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    name, make = READ_QUIETLY[case]
    path = make(tmp_path / name)
    with warnings.catch_warnings(record=True) as seen, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        read(path)
        read_header(path)
    assert seen == [] and caplog.records == []


def test_quiet_reading_keeps_other_threads_warnings_and_restores_everything() -> None:
    level = cv2.utils.logging.getLogLevel()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        hook = warnings.showwarning
        other_thread_done = threading.Event()

        def other() -> None:
            warnings.warn("the GUI thread's own warning", UserWarning, stacklevel=1)
            other_thread_done.set()

        with quiet_reading(), quiet_reading():  # re-entrant
            warnings.warn("a reader's warning", UserWarning, stacklevel=1)
            worker = threading.Thread(target=other)
            worker.start()
            worker.join()
            assert cv2.utils.logging.getLogLevel() == cv2.utils.logging.LOG_LEVEL_SILENT
        assert other_thread_done.is_set()
        assert [str(w.message) for w in seen] == ["the GUI thread's own warning"]
        assert warnings.showwarning is hook
    assert cv2.utils.logging.getLogLevel() == level
    assert not logging.getLogger("tifffile").filters


def test_a_failed_read_still_leaves_the_hooks_restored(tmp_path: Path) -> None:
    hook = warnings.showwarning
    with pytest.raises(ImageReadError):
        read(tiff_invalid_first_ifd_offset(tmp_path / "a.tif"))
    assert warnings.showwarning is hook and not logging.getLogger("tifffile").filters


def test_the_direct_readers_refuse_the_palette_and_crc_cases_with_typed_errors(
    tmp_path: Path,
) -> None:
    with pytest.raises(ImageReadError, match="palette is not made of whole numbers"):
        read_tiff(tiff_float_palette_indices(tmp_path / "f.tif"))
    with pytest.raises(ImageReadError, match="fails its checksum"):
        read_photo(png16_corrupt_idat(tmp_path / "c.png"), PNG)
    with pytest.raises(ImageReadError, match="ends early"):
        read_photo(png16_truncated(tmp_path / "t.png"), PNG)
    with quiet_reading():  # what read() wraps around the format readers
        read_photo(jpeg_corrupt_exif(tmp_path / "e.jpg"), JPEG)  # odd EXIF: still opens
