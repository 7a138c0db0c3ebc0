"""Broken images are caught at import, not first when shown or exported.

Every file of the corpus passes ``read_header`` (what the import checked before), so an
import used to accept it silently. Now ``check_image`` names the problem without decoding,
``read`` refuses it with the same words, and ``python main.py project import`` keeps it in
the project marked as an error (exit 3 beside good files, 2 when nothing else came in),
with one summary line on stderr, no traceback, ``project stats`` counting and listing it,
and a database that passes ``PRAGMA integrity_check``. The corpus is generated here from
pydicom's own test files and fresh PNG/JPEG/TIFF files; nothing binary is checked in.
"""

from __future__ import annotations

import json
import sqlite3
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest
import tifffile
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.encaps import encapsulate
from pydicom.uid import JPEG2000Lossless

from core.cli import main as cli
from core.errors import ImageReadError
from core.imaging import check_image, read, read_header
from core.store import DB_NAME, Project
from tests.core.conftest import new_project, write_grey16, write_rgb

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "main.py").is_file())


# --- the corpus ---------------------------------------------------------------------------
def _ct() -> pydicom.Dataset:
    path = get_testdata_file("CT_small.dcm")
    assert path is not None, "pydicom's test data is missing"
    return pydicom.dcmread(path)


def _saved(ds: pydicom.Dataset, path: Path) -> Path:
    ds.save_as(path)
    return path


def dicom_truncated_pixel_data(path: Path) -> Path:
    data = _saved(_ct(), path).read_bytes()
    path.write_bytes(data[:-5000])  # an interrupted copy
    return path


def dicom_without_pixel_data(path: Path) -> Path:
    ds = _ct()
    del ds.PixelData
    return _saved(ds, path)


def dicom_unknown_transfer_syntax(path: Path) -> Path:
    ds = _ct()
    ds.file_meta.TransferSyntaxUID = "1.2.3.4.5.6"
    return _saved(ds, path)


def dicom_bits_stored_above_allocated(path: Path) -> Path:
    ds = _ct()
    ds.BitsStored, ds.HighBit = 24, 23  # in 16 allocated bits
    return _saved(ds, path)


def dicom_a_million_frames(path: Path) -> Path:
    ds = _ct()
    ds.NumberOfFrames = 1_000_000
    return _saved(ds, path)


def dicom_garbage_jpeg2000(path: Path) -> Path:
    ds = _ct()
    ds.file_meta.TransferSyntaxUID = JPEG2000Lossless
    noise = np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    ds.PixelData = encapsulate([noise])
    ds["PixelData"].VR = "OB"
    return _saved(ds, path)


def dicom_jpeg2000_of_another_size(path: Path) -> Path:
    source = get_testdata_file("emri_small_jpeg_2k_lossless.dcm")  # 64 x 64, 10 frames
    assert source is not None
    ds = pydicom.dcmread(source)
    ds.Rows = 32  # the codestream still says 64 x 64
    return _saved(ds, path)


def dicom_rle_segments_do_not_fit(path: Path) -> Path:
    source = get_testdata_file("MR_small_RLE.dcm")  # 16-bit: two segments per frame
    assert source is not None
    ds = pydicom.dcmread(source)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7  # one segment expected
    return _saved(ds, path)


def _rgb_pixels(ds: pydicom.Dataset) -> bytes:
    rgb = np.random.default_rng(2).integers(0, 255, (ds.Rows, ds.Columns, 3), dtype=np.uint8)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PhotometricInterpretation = "MONOCHROME2"
    return rgb.tobytes()


def dicom_rgb_labelled_monochrome2(path: Path) -> Path:
    ds = _ct()
    ds.PixelData = _rgb_pixels(ds)
    ds.SamplesPerPixel, ds.PlanarConfiguration = 3, 0
    return _saved(ds, path)


def dicom_rgb_bytes_in_a_grey_header(path: Path) -> Path:
    ds = _ct()
    ds.PixelData = _rgb_pixels(ds)  # three bytes per pixel, one sample per pixel declared
    return _saved(ds, path)


def _png(path: Path) -> bytes:
    noise = np.random.default_rng(1).integers(0, 255, (64, 64), dtype=np.uint8)
    cv2.imwrite(str(path), noise)
    return path.read_bytes()


def png_truncated(path: Path) -> Path:
    data = _png(path)
    path.write_bytes(data[: len(data) // 2])
    return path


def png_chunk_claiming_2gb(path: Path) -> Path:
    data = bytearray(_png(path))
    data[33:37] = struct.pack(">I", 0x80000000)  # the chunk after IHDR (8 + 25 bytes)
    path.write_bytes(bytes(data))
    return path


def jpeg_truncated(path: Path) -> Path:
    noise = np.random.default_rng(3).integers(0, 255, (64, 64), dtype=np.uint8)
    Image.fromarray(noise).save(path, quality=95)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    return path


def tiff_strip_past_the_end(path: Path) -> Path:
    tifffile.imwrite(path, np.random.default_rng(4).integers(0, 65535, (64, 64), np.uint16))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    return path


def tiff_strip_too_short_for_its_bit_depth(path: Path) -> Path:
    tifffile.imwrite(path, np.arange(16, dtype=np.uint16).reshape(4, 4))
    data = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tif:
        at = tif.pages[0].tags[258].valueoffset  # type: ignore[union-attr]
    data[at : at + 2] = struct.pack("<H", 24)  # BitsPerSample 16 -> 24: the strip is short
    path.write_bytes(bytes(data))
    return path


# name -> (file name, maker, words the reason must hold)
BROKEN: dict[str, tuple[str, Callable[[Path], Path], tuple[str, ...]]] = {
    "dicom-truncated-pixel-data": ("cut.dcm", dicom_truncated_pixel_data, ("truncated",)),
    "dicom-without-pixel-data": ("nopix.dcm", dicom_without_pixel_data, ("no pixel data",)),
    "dicom-unknown-transfer-syntax": (
        "ts.dcm",
        dicom_unknown_transfer_syntax,
        ("1.2.3.4.5.6", "not a DICOM transfer syntax"),
    ),
    "dicom-bits-stored-above-allocated": (
        "bits.dcm",
        dicom_bits_stored_above_allocated,
        ("24 bits are stored in each 16-bit sample",),
    ),
    "dicom-a-million-frames": ("frames.dcm", dicom_a_million_frames, ("1,000,000 frames",)),
    "dicom-garbage-jpeg2000": ("j2k.dcm", dicom_garbage_jpeg2000, ("not readable JPEG 2000",)),
    "dicom-jpeg2000-of-another-size": (
        "j2k_size.dcm",
        dicom_jpeg2000_of_another_size,
        ("JPEG 2000 data holds a 64 x 64 image", "64 x 32"),
    ),
    "dicom-rle-segments-do-not-fit": (
        "rle.dcm",
        dicom_rle_segments_do_not_fit,
        ("2 segment(s) where its header needs 1",),
    ),
    "dicom-rgb-labelled-monochrome2": (
        "rgb.dcm",
        dicom_rgb_labelled_monochrome2,
        ("labelled MONOCHROME2", "gives 3"),
    ),
    "dicom-rgb-bytes-in-a-grey-header": (
        "rgb_grey.dcm",
        dicom_rgb_bytes_in_a_grey_header,
        ("3 times", "colour data labelled as grey"),
    ),
    "png-truncated": ("cut.png", png_truncated, ("truncated", "ends early")),
    "png-chunk-claiming-2gb": ("chunk.png", png_chunk_claiming_2gb, ("2,147,483,648 bytes",)),
    "jpeg-truncated": ("cut.jpg", jpeg_truncated, ("truncated", "ends early")),
    "tiff-strip-past-the-end": ("cut.tif", tiff_strip_past_the_end, ("truncated",)),
    "tiff-strip-too-short": (
        "bits.tif",
        tiff_strip_too_short_for_its_bit_depth,
        ("holds 32 bytes", "need 48"),
    ),
}


def make(case: str, folder: Path) -> Path:
    name, maker, _ = BROKEN[case]
    folder.mkdir(parents=True, exist_ok=True)
    return maker(folder / name)


# --- in process: named without decoding, refused by read() in the same words -----------
@pytest.mark.parametrize("case", list(BROKEN))
def test_the_header_alone_accepts_each_broken_file(tmp_path: Path, case: str) -> None:
    # What the import checked before: every case got in, to fail later.
    header = read_header(make(case, tmp_path))
    assert header.width > 0 and header.height > 0


@pytest.mark.parametrize("case", list(BROKEN))
def test_check_image_names_the_problem_and_read_refuses_with_it(tmp_path: Path, case: str) -> None:
    name, _, words = BROKEN[case]
    path = make(case, tmp_path)
    checked = check_image(path)
    assert checked.problem is not None, "the broken file passed the checks"
    assert checked.problem.startswith(f"'{name}'") and "\n" not in checked.problem
    assert all(w in checked.problem for w in words), checked.problem
    assert checked.header == read_header(path)
    with pytest.raises(ImageReadError) as refused:
        read(path)
    assert str(refused.value) == checked.problem


@pytest.mark.parametrize(
    "good",
    [
        lambda p: write_rgb(p / "rgb.png"),
        lambda p: write_grey16(p / "grey16.png"),
        lambda p: Path(get_testdata_file("CT_small.dcm") or ""),
        lambda p: Path(get_testdata_file("RG3_J2KR.dcm") or ""),
        lambda p: Path(get_testdata_file("SC_rgb_jpeg_dcmtk.dcm") or ""),
        lambda p: Path(get_testdata_file("MR_small_RLE.dcm") or ""),
        lambda p: Path(get_testdata_file("emri_small_jpeg_2k_lossless.dcm") or ""),
    ],
)
def test_good_files_pass_the_checks(tmp_path: Path, good: Callable[[Path], Path]) -> None:
    path = good(tmp_path)
    checked = check_image(path)
    assert checked.problem is None
    assert read(path).width == checked.header.width


def test_a_jpeg_with_data_after_its_end_marker_is_not_called_truncated(tmp_path: Path) -> None:
    # Phones append trailers (motion-photo video, maker data) after the image's EOI.
    path = tmp_path / "trailer.jpg"
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(path)
    path.write_bytes(path.read_bytes() + b"MotionPhoto_Data" + bytes(range(256)) * 300)
    assert check_image(path).problem is None
    assert read(path).width == 16


# --- through main.py: the import contract -------------------------------------------------
def _main(*argv: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *map(str, argv)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def _integrity(project: Path) -> str:
    with sqlite3.connect(project / DB_NAME) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def test_main_py_imports_the_whole_corpus_beside_good_files_as_errors(tmp_path: Path) -> None:
    src = tmp_path / "src"
    broken = [make(case, src) for case in BROKEN]
    good = [write_rgb(src / "good.png", seed=5), write_grey16(src / "good16.png", seed=6)]
    new_project(tmp_path / "p").close()
    done = _main("project", "import", tmp_path / "p", *broken, *good)
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    (line,) = done.stderr.splitlines()
    n = len(BROKEN)
    assert line.startswith("clinlens: partial import: imported 2 of ") and (
        f"{n} marked as errors (see `project stats`)" in line
    )
    stats = _main("project", "stats", tmp_path / "p", "--json")
    assert stats.returncode == 0, stats.stderr
    facts = json.loads(stats.stdout)
    assert facts["images"] == n + 2 and facts["errors"] == facts["images_with_errors"] == n
    reasons = {e["image"]: e["error"] for e in facts["error_images"]}
    for case, (name, _, words) in BROKEN.items():
        assert all(w in reasons[name] for w in words), (case, reasons[name])
    with Project.open(tmp_path / "p", read_only=True) as project:
        clean = [r for r in project.images() if r.error is None]
        assert sorted(Path(r.path).name for r in clean) == ["good.png", "good16.png"]
        assert all(r.width > 0 for r in project.images())  # stored with their real size
    assert _integrity(tmp_path / "p") == "ok"
    text = _main("project", "stats", tmp_path / "p")
    assert f"images with errors: {n}" in text.stdout


def test_main_py_exits_2_when_every_file_is_broken(tmp_path: Path) -> None:
    src = tmp_path / "src"
    cases = ["png-truncated", "dicom-a-million-frames", "jpeg-truncated"]
    broken = [make(case, src) for case in cases]
    new_project(tmp_path / "p").close()
    done = _main("project", "import", tmp_path / "p", src)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("clinlens: error: imported 0 of 3 image(s); 3 marked as errors")
    assert "Traceback" not in done.stderr
    with Project.open(tmp_path / "p", read_only=True) as project:
        assert project.stats()["images_with_errors"] == len(broken)
    assert _integrity(tmp_path / "p") == "ok"


@pytest.mark.parametrize("case", list(BROKEN))
def test_each_kind_is_marked_with_its_reason_and_the_good_file_imports(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    name, _, words = BROKEN[case]
    bad = make(case, tmp_path / "src")
    good = write_rgb(tmp_path / "src" / "fine.png", seed=9)
    new_project(tmp_path / "p").close()
    code = cli(["project", "import", str(tmp_path / "p"), str(bad), str(good), "--json"])
    out, err = capsys.readouterr()
    assert code == 3, err
    report = json.loads(out)
    assert report["status"] == "partial" and report["added"] == 1
    ((error),) = report["errors"]
    assert error.startswith(f"{bad}: '{name}'") and all(w in error for w in words)
    assert err.count("\n") == 1 and "1 marked as errors" in err
    with Project.open(tmp_path / "p", read_only=True) as project:
        by_name = {Path(r.path).name: r for r in project.images()}
        assert by_name["fine.png"].error is None
        assert by_name[name].error == error.split(": ", 1)[1]
