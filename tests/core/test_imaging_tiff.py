"""TIFF reading: 16-bit kept, multi-page (first page by default), colour models."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

import core.imaging.tiff as tiff_module
from core.errors import MissingCodecError
from core.imaging import read, read_header


def xray(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 65535, size=(h, w), dtype=np.uint16)


def test_16bit_grey_tiff_stays_16bit(tmp_path: Path) -> None:
    arr = xray()
    tifffile.imwrite(tmp_path / "x.tif", arr)
    raw = read(tmp_path / "x.tif")
    assert raw.source_format == "tiff" and raw.pixels.dtype == np.uint16
    assert raw.bits_stored == 16 and raw.photometric == "MONOCHROME2"
    assert raw.frame_count == 1
    np.testing.assert_array_equal(raw.pixels, arr)


def test_multi_page_tiff_opens_first_page_and_any_page_on_request(tmp_path: Path) -> None:
    pages = [xray(seed=i) for i in range(3)]
    path = tmp_path / "stack.tiff"
    with tifffile.TiffWriter(path) as writer:
        for page in pages:
            writer.write(page, photometric="minisblack")
    first = read(path)
    assert first.frame_count == 3 and first.frame_index == 0
    np.testing.assert_array_equal(first.pixels, pages[0])
    np.testing.assert_array_equal(read(path, frame=2).pixels, pages[2])
    assert read_header(path).frame_count == 3


def test_miniswhite_tiff_is_flagged_monochrome1(tmp_path: Path) -> None:
    arr = xray()
    tifffile.imwrite(tmp_path / "w.tif", arr, photometric="miniswhite")
    raw = read(tmp_path / "w.tif")
    assert raw.photometric == "MONOCHROME1"
    np.testing.assert_array_equal(raw.pixels, arr)  # stored values, not inverted


@pytest.mark.parametrize("planar", ["contig", "separate"])
def test_rgb_16bit_tiff_in_both_planar_layouts(tmp_path: Path, planar: str) -> None:
    rgb = np.dstack([xray(seed=1), xray(seed=2), xray(seed=3)])
    data = rgb if planar == "contig" else np.moveaxis(rgb, -1, 0)
    tifffile.imwrite(tmp_path / "c.tif", data, photometric="rgb", planarconfig=planar)
    raw = read(tmp_path / "c.tif")
    assert raw.photometric == "RGB" and raw.pixels.dtype == np.uint16
    np.testing.assert_array_equal(raw.pixels, rgb)


def test_float_tiff_keeps_float_values(tmp_path: Path) -> None:
    arr = np.linspace(-1.5, 2.5, 48 * 64, dtype=np.float32).reshape(48, 64)
    tifffile.imwrite(tmp_path / "f.tif", arr)
    raw = read(tmp_path / "f.tif")
    assert raw.pixels.dtype == np.float32
    np.testing.assert_array_equal(raw.pixels, arr)


def test_tiff_orientation_tag_is_applied(tmp_path: Path) -> None:
    arr = xray(20, 30)
    tifffile.imwrite(tmp_path / "o.tif", arr, extratags=[(274, "H", 1, 3, True)])
    raw = read(tmp_path / "o.tif")
    np.testing.assert_array_equal(raw.pixels, arr[::-1, ::-1])


@pytest.fixture
def hide_imagecodecs(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Call it to run the rest of the test as if ``imagecodecs`` were not installed.

    It is installed here, and tifffile imported it when it was first imported, so hiding
    the import is not enough: tifffile's module global is swapped for the pure-Python
    fallback it uses when the import fails, and its (caching) codec tables start empty.
    A call, not a plain fixture, so a test can first write files that need the codecs.
    """

    def hide() -> None:
        import tifffile._imagecodecs as pure_python
        import tifffile.tifffile as tt

        monkeypatch.setitem(sys.modules, "imagecodecs", None)  # `import imagecodecs` fails
        monkeypatch.setattr(tt, "imagecodecs", pure_python)
        for table, codec in (
            ("COMPRESSORS", tt.CompressionCodec(encode=True)),
            ("DECOMPRESSORS", tt.CompressionCodec(encode=False)),
            ("PREDICTORS", tt.PredictorCodec(encode=True)),
            ("UNPREDICTORS", tt.PredictorCodec(encode=False)),
        ):
            monkeypatch.setattr(tt.TIFF, table, codec)
        with pytest.raises(ImportError):
            import imagecodecs  # noqa: F401

    return hide


def _jpeg2000_tiff(path: Path, arr: np.ndarray) -> Path:
    """A lossless JPEG 2000 TIFF: tifffile needs imagecodecs for it, OpenCV cannot read it."""
    tifffile.imwrite(path, arr, compression="jpeg2000")
    return path


def test_hiding_imagecodecs_really_takes_the_codecs_away(
    tmp_path: Path, hide_imagecodecs: Callable[[], None]
) -> None:
    # Guards the guard: if tifffile changes how it finds codecs, the tests below would
    # silently decode with imagecodecs again instead of running their fallback branches.
    Image.fromarray(xray()).save(tmp_path / "lzw.tif", compression="tiff_lzw")
    assert tifffile.imread(tmp_path / "lzw.tif").shape == (48, 64)  # decodable with it
    hide_imagecodecs()
    with pytest.raises((KeyError, ValueError), match="imagecodecs"):
        tifffile.imread(tmp_path / "lzw.tif")


def test_lzw_tiff_is_read_without_imagecodecs(
    tmp_path: Path, hide_imagecodecs: Callable[[], None]
) -> None:
    # tifffile cannot decode LZW here: the pixels come from the OpenCV fallback, exactly.
    arr = xray()
    Image.fromarray(arr).save(tmp_path / "lzw.tif", compression="tiff_lzw")
    hide_imagecodecs()
    raw = read(tmp_path / "lzw.tif")
    assert raw.pixels.dtype == np.uint16 and raw.bits_stored == 16
    np.testing.assert_array_equal(raw.pixels, arr)
    assert raw.pixels.any(), "real pixels, not a blank image"


def test_tiff_compression_nobody_can_decode_names_the_package(
    tmp_path: Path, hide_imagecodecs: Callable[[], None]
) -> None:
    # A real missing codec: no imagecodecs, and OpenCV's libtiff has no JPEG 2000 either.
    path = _jpeg2000_tiff(tmp_path / "j2k.tif", xray())
    hide_imagecodecs()
    with pytest.raises(MissingCodecError) as info:
        read(path)
    message = str(info.value)
    assert "j2k.tif" in message and "JPEG2000" in message
    assert "install the 'imagecodecs' package" in message
    assert "\n" not in message


def test_lzw_tiff_opencv_cannot_decode_either_names_the_package(
    tmp_path: Path, hide_imagecodecs: Callable[[], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    Image.fromarray(xray()).save(tmp_path / "lzw.tif", compression="tiff_lzw")
    hide_imagecodecs()

    def refuse(*_args: object) -> tuple[bool, list[np.ndarray]]:
        return False, []

    monkeypatch.setattr(tiff_module.cv2, "imdecodemulti", refuse)
    with pytest.raises(MissingCodecError, match="imagecodecs") as info:
        read(tmp_path / "lzw.tif")
    assert "lzw.tif" in str(info.value) and "LZW" in str(info.value)


def test_jpeg2000_tiff_with_imagecodecs_gives_the_exact_pixels(tmp_path: Path) -> None:
    pytest.importorskip("imagecodecs")
    arr = xray()
    raw = read(_jpeg2000_tiff(tmp_path / "j2k.tif", arr))
    assert raw.pixels.dtype == np.uint16
    np.testing.assert_array_equal(raw.pixels, arr)


def test_zstd_tiff_without_imagecodecs_is_a_missing_codec_not_damage(
    tmp_path: Path, hide_imagecodecs: Callable[[], None]
) -> None:
    arr = xray()
    tifffile.imwrite(tmp_path / "z.tif", arr, compression="zstd")
    hide_imagecodecs()
    try:
        raw = read(tmp_path / "z.tif")
    except MissingCodecError as exc:
        assert "ZSTD" in str(exc) and "imagecodecs" in str(exc)
    else:  # Python >= 3.14: tifffile decodes ZSTD with the standard library
        np.testing.assert_array_equal(raw.pixels, arr)


def test_pixel_spacing_only_from_per_centimetre_resolution(tmp_path: Path) -> None:
    arr = xray()
    tifffile.imwrite(tmp_path / "cm.tif", arr, resolution=(100, 50), resolutionunit="CENTIMETER")
    assert read(tmp_path / "cm.tif").pixel_spacing == pytest.approx((0.2, 0.1))
    tifffile.imwrite(tmp_path / "dpi.tif", arr, resolution=(72, 72), resolutionunit="INCH")
    assert read(tmp_path / "dpi.tif").pixel_spacing is None


def test_tiff_header_matches_read(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "x.tif", xray(10, 20))
    header = read_header(tmp_path / "x.tif")
    assert (header.width, header.height, header.bits_stored) == (20, 10, 16)
    assert header.samples_per_pixel == 1 and header.source_format == "tiff"


# --- fuzzed tags: typed errors, never a bare TypeError / ValueError / IndexError ----------
def _one_page(
    path: Path, patch: Callable[[bytearray, tifffile.TiffPage], None], **kw: object
) -> Path:
    tifffile.imwrite(path, kw.pop("data", np.arange(16, dtype=np.uint16).reshape(4, 4)), **kw)  # type: ignore[arg-type]
    data = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tif:
        patch(data, tif.pages[0])  # type: ignore[arg-type]
    path.write_bytes(bytes(data))
    return path


def _set_count(tag: int, count: int) -> Callable[[bytearray, tifffile.TiffPage], None]:
    def patch(data: bytearray, page: tifffile.TiffPage) -> None:
        at = page.tags[tag].offset  # type: ignore[union-attr]
        data[at + 4 : at + 8] = count.to_bytes(4, "little")

    return patch


def _set_short(tag: int, value: int) -> Callable[[bytearray, tifffile.TiffPage], None]:
    def patch(data: bytearray, page: tifffile.TiffPage) -> None:
        at = page.tags[tag].valueoffset  # type: ignore[union-attr]
        data[at : at + 2] = value.to_bytes(2, "little")

    return patch


def _rgb_bits(data: bytearray, page: tifffile.TiffPage) -> None:
    at = page.tags[258].valueoffset  # type: ignore[union-attr]
    data[at : at + 6] = b"".join(b.to_bytes(2, "little") for b in (8, 5, 8))


@pytest.mark.parametrize(
    ("make", "header_fails", "words"),
    [
        # ImageWidth with a count of 0: tifffile gives a tuple, int() raised TypeError.
        (lambda p: _one_page(p, _set_count(256, 0)), True, "TIFF tags hold values"),
        # BitsPerSample 33: no dtype; reshaping raised ValueError "axes don't match array".
        (lambda p: _one_page(p, _set_short(258, 33)), False, "33-bit values"),
        # Samples of 8, 5 and 8 bits: int(tuple) raised TypeError in the header.
        (
            lambda p: _one_page(
                p, _rgb_bits, data=np.zeros((4, 4, 3), np.uint8), photometric="rgb"
            ),
            False,
            "(8, 5, 8)-bit values",
        ),
        # A colour map of one value: reading it raised IndexError.
        (
            lambda p: _one_page(
                p,
                _set_count(320, 1),
                data=np.zeros((4, 4), np.uint8),
                photometric="palette",
                colormap=np.zeros((3, 256), np.uint16),
            ),
            False,
            "palette (colour table) is malformed",
        ),
    ],
    ids=["width-count-0", "33-bits-per-sample", "mixed-bits-per-sample", "colormap-count-1"],
)
def test_fuzzed_tiff_tags_raise_typed_errors(
    tmp_path: Path,
    make: Callable[[Path], Path],
    header_fails: bool,
    words: str,
) -> None:
    from core.errors import ImageReadError
    from core.imaging import check_image

    path = make(tmp_path / "fuzz.tif")
    with pytest.raises(ImageReadError, match="damaged") as refused:
        read(path)
    assert words in str(refused.value)
    if header_fails:
        with pytest.raises(ImageReadError, match="damaged"):
            read_header(path)
    else:
        assert check_image(path).problem == str(refused.value)  # import marks it, same words
