"""PNG and JPEG reading: bit depth kept, grey/RGB, EXIF orientation applied."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from core.imaging import SUPPORTED_SUFFIXES, modality_values, read, read_header


def gradient(h: int = 40, w: int = 64, dtype: type = np.uint16) -> np.ndarray:
    top = np.iinfo(dtype).max
    ramp = np.linspace(0, top, h * w, dtype=np.float64).reshape(h, w)
    return ramp.astype(dtype)


def asymmetric_rgb(h: int = 30, w: int = 50) -> np.ndarray:
    """Distinct colours in each corner so any flip or rotation is detectable."""
    arr = np.zeros((h, w, 3), np.uint8)
    arr[: h // 2, : w // 2] = (255, 0, 0)
    arr[: h // 2, w // 2 :] = (0, 255, 0)
    arr[h // 2 :, : w // 2] = (0, 0, 255)
    arr[h // 2 :, w // 2 :] = (255, 255, 0)
    arr[0, 0] = (10, 20, 30)
    return arr


def test_supported_suffixes_are_lower_case_with_dot() -> None:
    assert {".dcm", ".tif", ".tiff", ".png", ".jpg", ".jpeg"} <= SUPPORTED_SUFFIXES
    assert all(s.startswith(".") and s == s.lower() for s in SUPPORTED_SUFFIXES)


def test_16bit_grey_png_stays_16bit(tmp_path: Path) -> None:
    arr = gradient()
    path = tmp_path / "xray.png"
    assert cv2.imwrite(str(path), arr)
    raw = read(path)
    assert raw.pixels.dtype == np.uint16 and raw.bits_stored == 16
    assert raw.photometric == "MONOCHROME2" and raw.source_format == "png"
    np.testing.assert_array_equal(raw.pixels, arr)
    np.testing.assert_array_equal(modality_values(raw), arr.astype(np.float32))


def test_16bit_rgb_png_stays_16bit_and_rgb_ordered(tmp_path: Path) -> None:
    g = gradient()
    rgb = np.dstack([g, g // 2, g // 3])
    path = tmp_path / "rgb48.png"
    assert cv2.imwrite(str(path), rgb[:, :, ::-1])  # OpenCV writes BGR
    raw = read(path)
    assert raw.pixels.dtype == np.uint16 and raw.photometric == "RGB"
    np.testing.assert_array_equal(raw.pixels, rgb)
    header = read_header(path)
    assert (header.bits_stored, header.samples_per_pixel) == (16, 3)


def test_8bit_grey_and_rgba_png(tmp_path: Path) -> None:
    grey = gradient(dtype=np.uint8)
    Image.fromarray(grey).save(tmp_path / "g.png")
    raw = read(tmp_path / "g.png")
    assert raw.pixels.dtype == np.uint8 and raw.pixels.ndim == 2 and raw.bits_stored == 8
    np.testing.assert_array_equal(raw.pixels, grey)

    rgba = np.dstack([asymmetric_rgb(), np.full((30, 50), 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    raw = read(tmp_path / "a.png")
    assert raw.pixels.shape == (30, 50, 3)  # alpha dropped
    np.testing.assert_array_equal(raw.pixels, rgba[:, :, :3])


def test_grey_palette_png_reads_as_grey(tmp_path: Path) -> None:
    Image.fromarray(gradient(dtype=np.uint8)).convert("P").save(tmp_path / "p.png")
    raw = read(tmp_path / "p.png")
    assert raw.pixels.ndim == 2 and raw.photometric == "MONOCHROME2"


def test_jpeg_rgb_and_grey(tmp_path: Path) -> None:
    Image.fromarray(asymmetric_rgb()).save(tmp_path / "c.jpg", quality=95)
    raw = read(tmp_path / "c.jpg")
    assert raw.source_format == "jpeg" and raw.photometric == "RGB"
    assert raw.pixels.shape == (30, 50, 3) and raw.pixels.dtype == np.uint8
    Image.fromarray(gradient(dtype=np.uint8)).save(tmp_path / "g.jpeg")
    assert read(tmp_path / "g.jpeg").pixels.ndim == 2


def test_content_decides_not_the_suffix(tmp_path: Path) -> None:
    path = tmp_path / "really_a_jpeg.png"
    Image.fromarray(asymmetric_rgb()).save(path, format="JPEG")
    assert read(path).source_format == "jpeg"


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_like_pillow(tmp_path: Path, orientation: int) -> None:
    pixels = asymmetric_rgb()
    im = Image.fromarray(pixels)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.jpg"
    im.save(path, quality=100, subsampling=0, exif=exif)

    with Image.open(path) as reference:
        expected = np.asarray(ImageOps.exif_transpose(reference))
    raw = read(path)
    assert raw.extra["exif_orientation"] == orientation
    assert raw.pixels.shape == expected.shape
    np.testing.assert_array_equal(raw.pixels, expected)
    header = read_header(path)
    assert (header.width, header.height) == (raw.width, raw.height)


def test_rotated_photo_has_swapped_size(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # camera held upright: stored landscape, shown portrait
    path = tmp_path / "phone.jpg"
    Image.fromarray(asymmetric_rgb(30, 50)).save(path, exif=exif)
    raw = read(path)
    assert (raw.width, raw.height) == (30, 50)


def test_photo_header_reports_size_depth_and_channels(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "g16.png"), gradient(20, 30))
    header = read_header(tmp_path / "g16.png")
    assert (header.width, header.height, header.bits_stored) == (30, 20, 16)
    assert header.samples_per_pixel == 1 and header.photometric == "MONOCHROME2"
    assert header.window_center is None and header.modality is None


def _raw_png(path: Path, pixels: np.ndarray, colour_type: int) -> Path:
    """Write a 16-bit PNG by hand (Pillow cannot write 16-bit grey+alpha)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    h, w = pixels.shape[:2]
    rows = pixels.astype(">u2").reshape(h, -1)
    scanlines = b"".join(b"\x00" + row.tobytes() for row in rows)
    ihdr = struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(scanlines))
        + chunk(b"IEND", b"")
    )
    return path


def test_16bit_grey_alpha_png_reads_as_16bit_grey(tmp_path: Path) -> None:
    grey = gradient(20, 30)
    path = _raw_png(tmp_path / "la16.png", np.dstack([grey, np.full_like(grey, 65535)]), 4)
    raw = read(path)
    assert raw.pixels.dtype == np.uint16 and raw.pixels.ndim == 2
    np.testing.assert_array_equal(raw.pixels, grey)


@pytest.mark.parametrize(
    "name", ["g16.png", "rgb48.png", "la16.png", "rgba.png", "pal.png", "bw.png", "cmyk.jpg"]
)
def test_header_agrees_with_read_for_every_photo_kind(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    g16 = gradient(20, 30)
    if name == "g16.png":
        cv2.imwrite(str(path), g16)
    elif name == "rgb48.png":
        cv2.imwrite(str(path), np.dstack([g16, g16 // 2, g16 // 3]))
    elif name == "la16.png":
        _raw_png(path, np.dstack([g16, g16]), 4)
    elif name == "rgba.png":
        Image.fromarray(np.dstack([asymmetric_rgb(), asymmetric_rgb()[:, :, 0]]), "RGBA").save(path)
    elif name == "pal.png":
        Image.fromarray(asymmetric_rgb()).convert("P", palette=Image.Palette.ADAPTIVE).save(path)
    elif name == "bw.png":
        Image.new("1", (10, 8), 1).save(path)
    else:
        Image.new("CMYK", (10, 8), (0, 255, 0, 0)).save(path)
    header, raw = read_header(path), read(path)
    assert (header.width, header.height) == (raw.width, raw.height)
    assert header.samples_per_pixel == raw.samples_per_pixel
    assert header.bits_stored == raw.bits_stored
    assert header.photometric == raw.photometric


def _png_with_exif_after_pixels(path: Path, pixels: np.ndarray, orientation: int) -> Path:
    """A 16-bit grey PNG whose eXIf chunk follows the image data (allowed; Pillow only
    finds it by decoding everything)."""
    _raw_png(path, pixels, 0)
    exif = Image.Exif()
    exif[0x0112] = orientation
    body = exif.tobytes()
    body = body[6:] if body.startswith(b"Exif\x00\x00") else body
    data = path.read_bytes()
    iend = data.rindex(b"IEND") - 4
    chunk = struct.pack(">I", len(body)) + b"eXIf" + body
    chunk += struct.pack(">I", zlib.crc32(b"eXIf" + body))
    path.write_bytes(data[:iend] + chunk + data[iend:])
    return path


def _count_decodes(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count full decodes by Pillow (ImageFile.load) and OpenCV (imdecode)."""
    from PIL import ImageFile

    from core.imaging import photo

    counts = {"pillow": 0, "opencv": 0}
    pil_load, cv_decode = ImageFile.ImageFile.load, photo.cv2.imdecode

    def counting_load(self):  # type: ignore[no-untyped-def]
        if self.tile:  # tiles left to decode: a real decode, not a cached no-op
            counts["pillow"] += 1
        return pil_load(self)

    def counting_decode(*args):  # type: ignore[no-untyped-def]
        counts["opencv"] += 1
        return cv_decode(*args)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)
    monkeypatch.setattr(photo.cv2, "imdecode", counting_decode)
    return counts


@pytest.mark.parametrize("kind", ["g16", "rgb48", "g8"])
def test_png_is_decoded_once_on_read_and_never_for_its_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    g16 = gradient(20, 30)
    pixels = {"g16": g16, "rgb48": np.dstack([g16, g16 // 2, g16 // 3]), "g8": g16 >> 8}[kind]
    path = tmp_path / f"{kind}.png"
    cv2.imwrite(str(path), pixels.astype(np.uint8) if kind == "g8" else pixels)
    counts = _count_decodes(monkeypatch)
    header = read_header(path)
    assert counts == {"pillow": 0, "opencv": 0}
    assert (header.width, header.height) == (30, 20)
    read(path)
    assert counts["pillow"] + counts["opencv"] == 1


def test_png_exif_orientation_after_the_pixel_data_is_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pixels = gradient(20, 30)
    path = _png_with_exif_after_pixels(tmp_path / "late_exif.png", pixels, 6)
    with Image.open(path) as reference:  # Pillow decodes to find it: the reference answer
        assert reference.getexif()[0x0112] == 6
    counts = _count_decodes(monkeypatch)
    header = read_header(path)
    assert (header.width, header.height) == (20, 30)  # a quarter turn: axes swap
    assert counts == {"pillow": 0, "opencv": 0}
    raw = read(path)
    assert raw.extra["exif_orientation"] == 6
    np.testing.assert_array_equal(raw.pixels, np.rot90(pixels, k=-1))


def test_png_exif_orientation_before_the_pixel_data_is_applied(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 8
    path = tmp_path / "early_exif.png"
    Image.fromarray(asymmetric_rgb()).save(path, exif=exif)  # Pillow writes eXIf first
    with Image.open(path) as reference:
        expected = np.asarray(ImageOps.exif_transpose(reference))
    raw = read(path)
    assert raw.extra["exif_orientation"] == 8
    np.testing.assert_array_equal(raw.pixels, expected)
    assert (read_header(path).width, read_header(path).height) == (raw.width, raw.height)


def test_png_with_a_damaged_chunk_list_reads_upright(tmp_path: Path) -> None:
    path = _raw_png(tmp_path / "odd.png", gradient(20, 30), 0)
    data = path.read_bytes()
    path.write_bytes(data[:-12] + b"\xff\xff\xff\xffjunk")  # IEND replaced by nonsense
    header = read_header(path)
    assert (header.width, header.height) == (30, 20)
