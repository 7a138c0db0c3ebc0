"""Bad input: every broken file raises a typed error with a one-line, readable message."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest
import tifffile
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.pixels import get_decoder
from pydicom.uid import JPEG2000Lossless

from core.errors import (
    ClinLensError,
    ImageReadError,
    ImageTooLargeError,
    MissingCodecError,
    NoPixelDataError,
    UnsupportedFormatError,
)
from core.imaging import read, read_header

Reader = Callable[[Path], object]
READERS: list[Reader] = [read, read_header]


def data(name: str) -> Path:
    path = get_testdata_file(name)
    assert path is not None
    return Path(path)


def expect(func: Reader, path: Path, error: type[ClinLensError], *words: str) -> ClinLensError:
    with pytest.raises(error) as info:
        func(path)
    message = str(info.value)
    assert "\n" not in message, "messages are one line (the CLI prints them as is)"
    assert path.name in message, "messages name the file"
    for word in words:
        assert word.lower() in message.lower(), f"{word!r} not in {message!r}"
    return info.value


def cut(src: Path, dst: Path, fraction: float) -> Path:
    payload = src.read_bytes()
    dst.write_bytes(payload[: int(len(payload) * fraction)])
    return dst


def png_claiming(width: int, height: int, path: Path) -> Path:
    """A tiny PNG whose IHDR claims a huge size (valid CRC, no real pixel data)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


# --- empty, missing, unknown -----------------------------------------------------------------
@pytest.mark.parametrize("func", READERS)
@pytest.mark.parametrize("name", ["empty.dcm", "empty.png", "empty.tif", "empty.jpg", "IMG0001"])
def test_zero_byte_file_is_reported_empty(tmp_path: Path, func: Reader, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    expect(func, path, ImageReadError, "empty")


@pytest.mark.parametrize("func", READERS)
def test_missing_file_and_folder(tmp_path: Path, func: Reader) -> None:
    expect(func, tmp_path / "gone.dcm", ImageReadError, "does not exist")
    folder = tmp_path / "study.dcm"
    folder.mkdir()
    expect(func, folder, ImageReadError, "folder")


@pytest.mark.parametrize("func", READERS)
def test_unknown_formats_are_unsupported(tmp_path: Path, func: Reader) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not an image at all\n" * 20)
    expect(func, text, UnsupportedFormatError, "DICOM, TIFF, PNG")
    bmp = tmp_path / "scan.bmp"
    Image.new("L", (8, 8)).save(bmp)
    expect(func, bmp, UnsupportedFormatError, "BMP")


# --- corrupt -------------------------------------------------------------------------------------
@pytest.mark.parametrize("func", READERS)
@pytest.mark.parametrize(
    ("name", "head"),
    [
        ("bad.png", b"\x89PNG\r\n\x1a\n"),
        ("bad.jpg", b"\xff\xd8\xff\xe0"),
        ("bad.tif", b"II*\x00"),
        ("bad.dcm", b"\x00" * 128 + b"DICM"),
    ],
)
def test_corrupt_file_with_valid_signature(
    tmp_path: Path, func: Reader, name: str, head: bytes
) -> None:
    rng = np.random.default_rng(7)
    path = tmp_path / name
    path.write_bytes(head + rng.integers(0, 256, 600, dtype=np.uint8).tobytes())
    err = expect(func, path, ImageReadError, "damaged")
    assert type(err) is ImageReadError  # not "no pixel data", "unsupported"...


@pytest.mark.parametrize("func", READERS)
def test_corrupt_png_is_damaged_even_when_image_open_was_patched_by_another_library(
    tmp_path: Path, func: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What ultralytics does to PIL.Image.open on import (in the GUI process, once a detector
    # has loaded): an unidentifiable file becomes ModuleNotFoundError('pi_heif').
    original = Image.open

    def ultralytics_like_open(fp, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return original(fp, *args, **kwargs)
        except Image.UnidentifiedImageError:
            raise ModuleNotFoundError("No module named 'pi_heif'") from None

    monkeypatch.setattr(Image, "open", ultralytics_like_open)
    path = tmp_path / "bad.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 2)
    err = expect(func, path, ImageReadError, "damaged")
    assert type(err) is ImageReadError


@pytest.mark.parametrize("func", READERS)
def test_garbage_named_like_an_image_is_damaged_not_unsupported(
    tmp_path: Path, func: Reader
) -> None:
    path = tmp_path / "photo.png"
    path.write_bytes(b"this is text, saved with the wrong name" * 10)
    err = expect(func, path, ImageReadError, "damaged")
    assert not isinstance(err, UnsupportedFormatError)


# --- truncated ------------------------------------------------------------------------------------
@pytest.mark.parametrize("fraction", [0.5, 0.999])
def test_truncated_uncompressed_dicom(tmp_path: Path, fraction: float) -> None:
    path = cut(data("RG1_UNCR.dcm"), tmp_path / "cr.dcm", fraction)
    expect(read, path, ImageReadError, "truncated")


@pytest.mark.filterwarnings("ignore:End of file reached:UserWarning")  # pydicom's own note
def test_truncated_compressed_dicom(tmp_path: Path) -> None:
    path = cut(data("RG3_J2KR.dcm"), tmp_path / "cr_j2k.dcm", 0.5)
    expect(read, path, ImageReadError, "truncated")


def test_truncated_png_jpeg_and_tiff(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    noisy = rng.integers(0, 65535, (200, 200), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "full.png"), noisy)
    expect(read, cut(tmp_path / "full.png", tmp_path / "x.png", 0.6), ImageReadError, "truncated")
    Image.fromarray((noisy >> 8).astype(np.uint8)).save(tmp_path / "full.jpg", quality=95)
    expect(read, cut(tmp_path / "full.jpg", tmp_path / "x.jpg", 0.6), ImageReadError, "truncated")
    tifffile.imwrite(tmp_path / "full.tif", noisy)
    expect(read, cut(tmp_path / "full.tif", tmp_path / "x.tif", 0.6), ImageReadError, "truncated")


# --- no pixel data ----------------------------------------------------------------------------------
@pytest.mark.parametrize("func", READERS)
def test_dicom_without_pixel_data(tmp_path: Path, func: Reader) -> None:
    expect(func, data("rtplan.dcm"), NoPixelDataError, "no pixel data", "RT Plan")
    ds = pydicom.dcmread(data("CT_small.dcm"))
    del ds.PixelData
    ds.save_as(tmp_path / "ct_no_pixels.dcm")
    if func is read:  # the header alone cannot tell; read() must
        expect(func, tmp_path / "ct_no_pixels.dcm", NoPixelDataError, "no pixel data")


# --- decompression bombs --------------------------------------------------------------------------------
@pytest.mark.parametrize("func", READERS)
def test_dicom_claiming_huge_dimensions_is_refused_before_decoding(
    tmp_path: Path, func: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.imaging.dicom as dicom_module

    ds = pydicom.dcmread(data("CT_small.dcm"))
    ds.Rows, ds.Columns = 60000, 60000
    ds.save_as(tmp_path / "bomb.dcm")
    decoded: list[object] = []

    def decoder(*args: object, **kwargs: object) -> np.ndarray:
        decoded.append(args)
        raise RuntimeError("the pixel decoder ran")

    monkeypatch.setattr(dicom_module, "pixel_array", decoder)
    expect(func, tmp_path / "bomb.dcm", ImageTooLargeError, "60,000")
    assert decoded == [], "refused from the header: no decoder ran, nothing was allocated"


@pytest.mark.parametrize("func", READERS)
def test_png_claiming_huge_dimensions(tmp_path: Path, func: Reader) -> None:
    expect(
        func, png_claiming(40000, 40000, tmp_path / "side.png"), ImageTooLargeError, "safe limit"
    )
    # Under our side limit but over Pillow's own decompression-bomb limit: still typed.
    expect(func, png_claiming(15000, 15000, tmp_path / "area.png"), ImageTooLargeError, "million")


@pytest.mark.parametrize("func", READERS)
def test_tiff_claiming_huge_dimensions(tmp_path: Path, func: Reader) -> None:
    tifffile.imwrite(tmp_path / "small.tif", np.zeros((10, 10), np.uint8))
    payload = bytearray((tmp_path / "small.tif").read_bytes())
    for tag in (256, 257):  # ImageWidth, ImageLength (LONG) 10 -> 40000
        entry = struct.pack("<HHII", tag, 4, 1, 10)
        at = payload.find(entry)
        assert at > 0
        payload[at : at + len(entry)] = struct.pack("<HHII", tag, 4, 1, 40000)
    (tmp_path / "bomb.tif").write_bytes(bytes(payload))
    expect(func, tmp_path / "bomb.tif", ImageTooLargeError)


# --- codecs and frames --------------------------------------------------------------------------------
def test_missing_dicom_codec_names_compression_and_package(monkeypatch: pytest.MonkeyPatch) -> None:
    decoder = get_decoder(JPEG2000Lossless)
    monkeypatch.setattr(decoder, "_available", {})
    monkeypatch.setattr(
        decoder, "_unavailable", {"pylibjpeg": ("pylibjpeg>=2.0", "pylibjpeg-openjpeg>=2.0")}
    )
    err = expect(
        read, data("RG1_J2KR.dcm"), MissingCodecError, "JPEG 2000", "1.2.840.10008.1.2.4.90"
    )
    assert "pylibjpeg-openjpeg" in str(err)


def test_compression_without_any_decoder(tmp_path: Path) -> None:
    ds = pydicom.dcmread(data("RG3_J2KR.dcm"))
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.92"  # JPEG 2000 Part 2, no decoder
    ds.save_as(tmp_path / "mc.dcm", enforce_file_format=True)
    expect(read, tmp_path / "mc.dcm", MissingCodecError, "1.2.840.10008.1.2.4.92")


def test_frame_out_of_range(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="frame 10 does not exist"):
        read(data("emri_small.dcm"), frame=10)
    with pytest.raises(ImageReadError, match="does not exist"):
        read(data("CT_small.dcm"), frame=-1)
    tifffile.imwrite(tmp_path / "one.tif", np.zeros((4, 4), np.uint16))
    with pytest.raises(ImageReadError, match="page 1 does not exist"):
        read(tmp_path / "one.tif", frame=1)
    Image.new("L", (4, 4)).save(tmp_path / "one.png")
    with pytest.raises(ImageReadError, match="frame 1 does not exist"):
        read(tmp_path / "one.png", frame=1)


# --- the limit each message states is the one applied ------------------------------------------
def test_each_size_limit_message_names_the_limit_it_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.imaging import limits

    side = expect(read_header, png_claiming(40000, 10, tmp_path / "s.png"), ImageTooLargeError)
    assert "40,000 x 10 pixels, beyond the safe limit of 30,000 pixels a side" in str(side)
    # Under the side limit, over the pixel count: the old message quoted the side limit.
    ds = pydicom.dcmread(data("CT_small.dcm"))
    ds.Rows, ds.Columns = 25000, 20000
    ds.save_as(tmp_path / "area.dcm")
    area = expect(read_header, tmp_path / "area.dcm", ImageTooLargeError)
    assert "= 500,000,000 pixels, beyond the safe limit of 400,000,000 pixels" in str(area)
    assert "a side" not in str(area)
    # Pillow's limit is the one a photo meets first, and the message says so exactly.
    photo = expect(read_header, png_claiming(15000, 15000, tmp_path / "p.png"), ImageTooLargeError)
    assert "225,000,000 pixels, beyond the safe limit of 178,956,970 pixels" in str(photo)
    monkeypatch.setattr(limits, "MAX_SIDE", 5000)  # a site's own limit is quoted as set
    lower = expect(read_header, png_claiming(6000, 10, tmp_path / "l.png"), ImageTooLargeError)
    assert "safe limit of 5,000 pixels a side" in str(lower)
