"""TIFF reader (tifffile): 8/16-bit and float, grey/RGB/palette, one page at a time.

Multi-page files open on the first page (``frame`` picks another). MINISWHITE maps to
MONOCHROME1 so the filters show it the right way round. Compressions tifffile can only
decode with the optional ``imagecodecs`` package (LZW, PackBits, JPEG) fall back to
OpenCV's libtiff, which reads them at full bit depth.

Every failure is an ImageReadError: tifffile answers some hostile tag values (a count of
0, an odd BitsPerSample, a one-entry colour map) with a plain TypeError, ValueError or
IndexError from deep inside, so each entry point turns anything untyped into "damaged".
``check_tiff`` (for import) runs every check ``read_tiff`` makes before decoding: strips
inside the file, enough bytes for an uncompressed image, a bit depth tifffile can decode,
a whole colour map. It decodes nothing.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import tifffile

from core.errors import ClinLensError, ImageReadError, MissingCodecError, UnsupportedFormatError
from core.imaging.header import ImageHeader
from core.imaging.limits import check_dimensions, check_index
from core.imaging.orientation import apply_orientation, swaps_axes
from core.imaging.raw import RawImage
from core.imaging.sniff import check_file, display_name
from core.text import shorten

PathLike = str | os.PathLike[str]
_PH = tifffile.PHOTOMETRIC
_ORIENTATION_TAG = 274


def read_tiff(path: PathLike, frame: int = 0) -> RawImage:
    name = display_name(path)
    size = check_file(path)
    with _open(path, name) as tif, _typed(name):
        n_pages = _page_count(tif, name)
        check_index(name, frame, n_pages, "page")
        page = _page(tif, frame, name)
        _geometry(page, name)
        photometric = _photometric(page, name)
        _check_data(page, size, name, photometric)
        orientation = int(page.tags.valueof(_ORIENTATION_TAG, 1) or 1)
        arr = _decode(path, page, frame, name, photometric)
        bits = _bits(page)
        resolution = _spacing(page)
    arr = apply_orientation(arr, orientation)
    is_colour = arr.ndim == 3
    if arr.dtype == np.bool_:
        arr, bits = arr.astype(np.uint8), 1
    extra: dict[str, Any] = {"tiff_photometric": _PH(photometric).name, "orientation": orientation}
    return RawImage(
        pixels=arr,
        source_format="tiff",
        bits_stored=bits,
        photometric="RGB"
        if is_colour
        else ("MONOCHROME1" if photometric == _PH.MINISWHITE else "MONOCHROME2"),
        path=str(Path(path)),
        pixel_spacing=resolution,
        frame_index=frame,
        frame_count=n_pages,
        extra=extra,
    )


def read_tiff_header(path: PathLike) -> ImageHeader:
    name = display_name(path)
    check_file(path)
    with _open(path, name) as tif, _typed(name):
        return _header(path, tif, name)[0]


def check_tiff(path: PathLike) -> tuple[ImageHeader, str | None]:
    """The header, and why the first page cannot be decoded (None: no reason found).
    Raises like ``read_tiff_header`` when even the header cannot be read."""
    name = display_name(path)
    size = check_file(path)
    with _open(path, name) as tif, _typed(name):
        header, page, photometric = _header(path, tif, name)
        try:
            with _typed(name):
                _check_data(page, size, name, photometric)
        except ImageReadError as exc:
            return header, str(exc)
    return header, None


def _header(
    path: PathLike, tif: tifffile.TiffFile, name: str
) -> tuple[ImageHeader, tifffile.TiffPage, int]:
    n_pages = _page_count(tif, name)
    page = _page(tif, 0, name)
    width, height, _ = _geometry(page, name)
    photometric = _photometric(page, name)
    orientation = int(page.tags.valueof(_ORIENTATION_TAG, 1) or 1)
    colour = photometric in (_PH.RGB, _PH.YCBCR) or (
        photometric == _PH.PALETTE and not _grey_colormap(page.colormap)
    )
    bits = _bits(page)
    spacing = _spacing(page)
    if swaps_axes(orientation):
        width, height = height, width
    header = ImageHeader(
        path=str(path),
        source_format="tiff",
        width=width,
        height=height,
        bits_stored=8 if photometric == _PH.PALETTE else bits,
        samples_per_pixel=3 if colour else 1,
        photometric="RGB"
        if colour
        else ("MONOCHROME1" if photometric == _PH.MINISWHITE else "MONOCHROME2"),
        frame_count=n_pages,
        pixel_spacing=spacing,
    )
    return header, page, photometric


@contextlib.contextmanager
def _typed(name: str) -> Iterator[None]:
    """Anything untyped raised while tifffile interprets the tags means a damaged file."""
    try:
        yield
    except (ClinLensError, MemoryError):
        raise
    except Exception as exc:
        # The library's words (e.g. "int() argument must be ... not 'tuple'") would not help
        # a user; the class name goes to the message for whoever reports it.
        raise ImageReadError(
            f"'{name}' is damaged: its TIFF tags hold values no image can have "
            f"({exc.__class__.__name__})."
        ) from None


def _bits(page: tifffile.TiffPage) -> int:
    """Bits per sample; tifffile gives a tuple when the samples differ (refused later by
    ``_check_data``: there is no dtype for them), so the header takes the largest."""
    bits = page.bitspersample
    return int(max(bits)) if isinstance(bits, tuple) and bits else int(bits)


def _open(path: PathLike, name: str) -> tifffile.TiffFile:
    try:
        return tifffile.TiffFile(os.fspath(path))
    except Exception as exc:  # TiffFileError, struct.error, ValueError... all mean damaged
        raise ImageReadError(
            f"'{name}' is damaged or truncated: its TIFF structure cannot be read ({_detail(exc)})."
        ) from None


def _detail(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [exc.__class__.__name__])[0][:160]


def _page_count(tif: tifffile.TiffFile, name: str) -> int:
    try:
        n = len(tif.pages)
    except Exception as exc:
        raise ImageReadError(
            f"'{name}' is damaged: its page list cannot be read ({_detail(exc)})."
        ) from None
    if n == 0:
        raise ImageReadError(f"'{name}' is damaged: it holds no readable TIFF image page.")
    return n


def _page(tif: tifffile.TiffFile, index: int, name: str) -> tifffile.TiffPage:
    try:
        return tif.pages[index].aspage()  # a TiffFrame (light page) becomes a full TiffPage
    except Exception as exc:
        raise ImageReadError(
            f"'{name}' is damaged: page {index} cannot be read ({_detail(exc)})."
        ) from None


def _geometry(page: tifffile.TiffPage, name: str) -> tuple[int, int, int]:
    width, height = int(page.imagewidth), int(page.imagelength)
    spp = int(page.samplesperpixel)
    check_dimensions(name, width, height, min(spp, 4) if page.extrasamples else spp)
    return width, height, spp


def _check_data(page: tifffile.TiffPage, file_size: int, name: str, photometric: int) -> None:
    """What must hold before decoding: tifffile would fill missing strips with zeros,
    raise an untyped error, or decode garbage otherwise."""
    offsets, counts = page.dataoffsets, page.databytecounts
    if not offsets or not any(counts):
        raise ImageReadError(f"'{name}' is damaged: its first page holds no image data.")
    for offset, count in zip(offsets, counts, strict=False):
        if count and offset + count > file_size:
            have = max(file_size - int(offset), 0)
            raise ImageReadError(
                f"'{name}' is truncated: part of its image data lies beyond the end of the file "
                f"(a strip has {have:,} of its {count:,} bytes; incomplete copy?)."
            )
    if page.dtype is None:
        kinds = {2: "signed ", 3: "floating-point "}
        kind = kinds.get(int(page.sampleformat), "") if isinstance(page.sampleformat, int) else ""
        raise ImageReadError(
            f"'{name}' is damaged: its samples are {shorten(page.bitspersample, 40)}-bit "
            f"{kind}values, which no TIFF reader decodes."
        )
    if int(page.compression) == 1:
        # Uncompressed: the strips must hold at least width x height x samples x bits
        # (rows padded to whole bytes only add to that).
        spp = int(page.samplesperpixel)
        needed = (int(page.imagewidth) * int(page.imagelength) * spp * _bits(page) + 7) // 8
        held = int(sum(int(c) for c in counts))
        if held < needed:
            raise ImageReadError(
                f"'{name}' is damaged: its image data holds {held:,} bytes but "
                f"{page.imagewidth} x {page.imagelength} pixels at {_bits(page)} bits x "
                f"{spp} sample(s) need {needed:,}."
            )
    if photometric == _PH.PALETTE:
        colormap = page.colormap
        if colormap is not None and (colormap.ndim != 2 or colormap.shape[0] != 3):
            raise ImageReadError(
                f"'{name}' is damaged: its TIFF palette (colour table) is malformed "
                f"({colormap.size} value(s) where red, green and blue tables are needed)."
            )


def _photometric(page: tifffile.TiffPage, name: str) -> int:
    ph = int(page.photometric) if page.photometric is not None else int(_PH.MINISBLACK)
    ok = {_PH.MINISWHITE, _PH.MINISBLACK, _PH.RGB, _PH.PALETTE}
    if ph in ok or (ph == _PH.YCBCR and page.compression in (6, 7)):
        return ph
    try:
        label = _PH(ph).name
    except ValueError:
        label = str(ph)
    raise UnsupportedFormatError(
        f"'{name}' uses the TIFF colour model {label}; ClinLens reads grey, RGB and palette TIFFs."
    )


def _decode(
    path: PathLike, page: tifffile.TiffPage, frame: int, name: str, photometric: int
) -> np.ndarray:
    try:
        arr = page.asarray()
    except MemoryError:
        raise ImageReadError(f"'{name}' is too large to decode in the available memory.") from None
    except (KeyError, ValueError, ImportError) as exc:
        # Any ImportError means a decoder module is missing, whatever it names: without
        # imagecodecs, tifffile's ZSTD fallback imports `compression.zstd` (Python 3.14+).
        if not isinstance(exc, ImportError) and "imagecodecs" not in str(exc):
            raise ImageReadError(
                f"'{name}' is damaged: its TIFF data cannot be decoded ({_detail(exc)})."
            ) from None
        return _decode_cv2(path, frame, name, page)
    except Exception as exc:
        raise ImageReadError(
            f"'{name}' is damaged: its TIFF data cannot be decoded ({_detail(exc)})."
        ) from None
    arr = _to_yxs(arr, page.axes)
    if photometric == _PH.PALETTE:
        return _apply_colormap(arr, page.colormap, name)
    if arr.ndim == 3:
        arr = arr[:, :, :3] if arr.shape[2] >= 3 else arr[:, :, 0]
    return np.ascontiguousarray(arr)


def _to_yxs(arr: np.ndarray, axes: str) -> np.ndarray:
    """Reorder tifffile's axes to (Y, X) or (Y, X, S), taking index 0 of anything else."""
    for i in range(len(axes) - 1, -1, -1):
        if axes[i] not in "YXS":
            arr = arr.take(0, axis=i)
            axes = axes[:i] + axes[i + 1 :]
    order = [axes.index(a) for a in "YXS" if a in axes]
    return arr.transpose(order)


def _grey_colormap(colormap: np.ndarray | None) -> bool:
    if colormap is None or colormap.ndim != 2 or colormap.shape[0] != 3:
        return False  # malformed: refused by _check_data before any pixel is read
    return bool(np.all(colormap[0] == colormap[1]) and np.all(colormap[1] == colormap[2]))


def _apply_colormap(index: np.ndarray, colormap: np.ndarray | None, name: str) -> np.ndarray:
    if colormap is None:
        return index
    # A palette holds whole-number indices into a SHORT table. Float indices or a float
    # table (NaN, 1e30) would be cast with numpy's "invalid value" warning into garbage.
    if index.dtype.kind not in "biu" or colormap.dtype.kind not in "iu":
        raise ImageReadError(
            f"'{name}' is damaged: its TIFF palette is not made of whole numbers "
            f"(indices {index.dtype}, colour table {colormap.dtype})."
        )
    table = (colormap >> 8).astype(np.uint8) if colormap.max() > 255 else colormap.astype(np.uint8)
    idx = np.clip(index.astype(np.int64), 0, table.shape[1] - 1)
    if _grey_colormap(colormap):
        return table[0][idx]
    return np.ascontiguousarray(np.moveaxis(table[:, idx], 0, -1))


def _decode_cv2(path: PathLike, frame: int, name: str, page: tifffile.TiffPage) -> np.ndarray:
    data = np.fromfile(path, dtype=np.uint8)
    ok, mats = cv2.imdecodemulti(data, cv2.IMREAD_UNCHANGED, None, (frame, frame + 1))
    if not ok or not mats:
        compression = getattr(page.compression, "name", str(page.compression))
        raise MissingCodecError(
            f"'{name}' is a TIFF compressed with {compression}, which this installation cannot "
            "decode; install the 'imagecodecs' package."
        )
    arr = mats[0]
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr[:, :, :3], cv2.COLOR_BGR2RGB) if arr.shape[2] >= 3 else arr[:, :, 0]
    return arr


def _spacing(page: tifffile.TiffPage) -> tuple[float, float] | None:
    """Pixel size in mm from X/YResolution, only when given per centimetre.

    Dots-per-inch values are mostly software defaults (72, 96, 300 dpi) that say nothing
    about the detector, and a wrong spacing is worse than none for measurements.
    """
    try:
        unit = int(page.tags.valueof(296, 2) or 2)
        xres = page.tags.valueof(282)
        yres = page.tags.valueof(283)
        if unit != 3 or not xres or not yres:
            return None
        x = xres[0] / xres[1] if isinstance(xres, tuple) else float(xres)
        y = yres[0] / yres[1] if isinstance(yres, tuple) else float(yres)
        if x <= 0 or y <= 0:
            return None
        return (10.0 / y, 10.0 / x)
    except (TypeError, ValueError, ZeroDivisionError, IndexError):
        return None
