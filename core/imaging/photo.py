"""PNG and JPEG reader: 8/16-bit, grey/RGB, EXIF orientation applied.

Pillow reads headers lazily (cheap ``read_header``) and decodes 8-bit PNG and JPEG. Every
16-bit PNG goes through OpenCV: Pillow silently reduces 16-bit colour to 8 bits, and libpng
via OpenCV decodes 16-bit grey faster than Pillow. Alpha is dropped (clinical display has
no use for transparency).

EXIF orientation of a PNG is read without decoding pixels: Pillow's ``PngImageFile.getexif``
decodes the whole image when the eXIf chunk was not seen before the pixel data (i.e. nearly
always), which made every PNG decode twice on ``read`` and once on ``read_header``.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from core.errors import ImageReadError, ImageTooLargeError
from core.imaging.header import ImageHeader
from core.imaging.limits import check_dimensions
from core.imaging.orientation import apply_orientation, swaps_axes
from core.imaging.raw import RawImage
from core.imaging.sniff import JPEG, PNG, check_file, display_name

PathLike = str | os.PathLike[str]
_EXIF_ORIENTATION = 0x0112
_KIND = {PNG: "PNG", JPEG: "JPEG"}


def read_photo(path: PathLike, fmt: str) -> RawImage:
    name = display_name(path)
    check_file(path)
    with _open(path, name, fmt) as im:
        width, height = im.size
        check_dimensions(name, width, height)
        orientation = _orientation(im, path, fmt)
        png_depth, png_colour = _png_ihdr(path) if fmt == PNG else (8, 0)
        try:
            if fmt == PNG and png_depth == 16 and png_colour in (0, 2, 4, 6):
                arr = _decode_cv2(path, name, grey=png_colour in (0, 4))
            else:
                arr = _to_array(im)
        except ImageReadError:
            raise
        except MemoryError:
            raise ImageReadError(
                f"'{name}' is too large to decode in the available memory."
            ) from None
        except Exception as exc:
            raise _damaged(name, fmt, exc) from None
    arr = apply_orientation(arr, orientation)
    is_colour = arr.ndim == 3
    bits = 16 if arr.dtype == np.uint16 else arr.dtype.itemsize * 8
    extra: dict[str, object] = {"exif_orientation": orientation}
    if fmt == PNG:
        extra["png_bit_depth"] = png_depth
    return RawImage(
        pixels=arr,
        source_format=fmt,
        bits_stored=bits,
        photometric="RGB" if is_colour else "MONOCHROME2",
        path=str(Path(path)),
        extra=extra,
    )


def read_photo_header(path: PathLike, fmt: str) -> ImageHeader:
    name = display_name(path)
    check_file(path)
    with _open(path, name, fmt) as im:
        width, height = im.size
        check_dimensions(name, width, height)
        orientation = _orientation(im, path, fmt)
        mode = im.mode
        colour = _is_colour_mode(im)
    if swaps_axes(orientation):
        width, height = height, width
    bits = 8
    if fmt == PNG:
        depth, ctype = _png_ihdr(path)
        bits = 16 if depth == 16 else 8
        if ctype in (0, 2, 4, 6):  # grey, RGB, grey+alpha, RGBA (3 = palette: as Pillow saw)
            colour = ctype in (2, 6)
    elif mode in ("I;16", "I;16B", "I;16L", "I"):
        bits = 16
    return ImageHeader(
        path=str(path),
        source_format=fmt,
        width=width,
        height=height,
        bits_stored=bits,
        samples_per_pixel=3 if colour else 1,
        photometric="RGB" if colour else "MONOCHROME2",
    )


def _open(path: PathLike, name: str, fmt: str) -> Image.Image:
    if fmt == PNG:
        # Our limit first, with the claimed size in the message (Pillow's check is vaguer).
        width, height = _png_size(path)
        if width and height:
            check_dimensions(name, width, height)
    try:
        return Image.open(path)
    except Image.DecompressionBombError:
        limit = 2 * (Image.MAX_IMAGE_PIXELS or 0) // 1_000_000
        raise ImageTooLargeError(
            f"'{name}' claims more than {limit:,} million pixels, more than a photo can safely "
            "be opened with; the file is damaged or not a real photo."
        ) from None
    except UnidentifiedImageError:
        raise ImageReadError(
            f"'{name}' is damaged: it is not a readable {_KIND[fmt]} file."
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise _damaged(name, fmt, exc) from None
    except Exception:
        # Image.open may have been replaced process-wide: ultralytics' version answers an
        # unidentifiable file with ModuleNotFoundError (it tries to load a HEIF plugin).
        # Whatever it raises, the file could not be opened as a photo.
        raise ImageReadError(
            f"'{name}' is damaged: it is not a readable {_KIND[fmt]} file."
        ) from None


def _damaged(name: str, fmt: str, exc: BaseException) -> ImageReadError:
    text = str(exc) or exc.__class__.__name__
    if "truncated" in text.lower() or isinstance(exc, EOFError):
        return ImageReadError(
            f"'{name}' is truncated or damaged: its {_KIND[fmt]} data ends early "
            "(incomplete copy?)."
        )
    return ImageReadError(
        f"'{name}' is damaged: its {_KIND[fmt]} data cannot be decoded ({text[:160]})."
    )


def _orientation(im: Image.Image, path: PathLike, fmt: str) -> int:
    try:
        if fmt == PNG:
            if "exif" not in im.info:
                # eXIf after the pixel data: Pillow only sees it by decoding; we skip there.
                data = _png_exif_chunk(path)
                if data is not None:
                    im.info["exif"] = b"Exif\x00\x00" + data  # as Pillow stores it
            # The base class reads EXIF (and XMP orientation) from what Image.open parsed;
            # PngImageFile.getexif would decode all pixels first.
            exif = Image.Image.getexif(im)
        else:
            exif = im.getexif()  # JPEG: from the APP1 segment, no decoding
        value = exif.get(_EXIF_ORIENTATION, 1)
        return int(value) if 1 <= int(value) <= 8 else 1
    except Exception:  # a broken EXIF block must not stop the photo from opening
        return 1


def _png_exif_chunk(path: PathLike) -> bytes | None:
    """The payload of a PNG's eXIf chunk, found by walking chunk headers: the image data
    is skipped with ``seek``, never read or inflated (~1 ms for a 20 MB file)."""
    with open(path, "rb") as fh:
        fh.seek(8)  # signature
        while True:
            head = fh.read(8)
            if len(head) < 8:
                return None
            length, kind = int.from_bytes(head[:4], "big"), head[4:]
            if kind == b"eXIf":
                data = fh.read(length)
                return data if len(data) == length else None
            if kind == b"IEND" or length > 0x7FFFFFFF:  # the end, or not a PNG chunk
                return None
            fh.seek(length + 4, os.SEEK_CUR)  # data + CRC


def _png_size(path: PathLike) -> tuple[int, int]:
    with open(path, "rb") as fh:
        head = fh.read(24)
    if len(head) < 24 or head[12:16] != b"IHDR":
        return 0, 0
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def _png_ihdr(path: PathLike) -> tuple[int, int]:
    """(bit depth, colour type) straight from the IHDR chunk (always first in a PNG)."""
    with open(path, "rb") as fh:
        head = fh.read(26)
    if len(head) < 26 or head[12:16] != b"IHDR":
        return 8, 0
    return head[24], head[25]


def _is_colour_mode(im: Image.Image) -> bool:
    if im.mode == "P":
        return not _grey_palette(im)
    return im.mode not in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F", "La")


def _grey_palette(im: Image.Image) -> bool:
    palette = im.getpalette() or []
    triples = [palette[i : i + 3] for i in range(0, len(palette) - 2, 3)]
    return all(r == g == b for r, g, b in triples)


def _to_array(im: Image.Image) -> np.ndarray:
    im.load()
    mode = im.mode
    if mode == "P":
        im = im.convert("L" if _grey_palette(im) else "RGB")
    elif mode in ("1", "LA", "La"):
        im = im.convert("L")
    elif mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        return np.asarray(im).astype(np.uint16)  # native byte order whatever the file had
    elif mode == "I":
        arr = np.asarray(im)
        if arr.size and arr.min() >= 0 and arr.max() <= 0xFFFF:
            return arr.astype(np.uint16)
        return arr.astype(np.int32)
    elif mode == "F":
        return np.asarray(im, dtype=np.float32)
    elif mode not in ("L", "RGB"):
        im = im.convert("RGB")  # RGBA, CMYK, YCbCr, LAB...
    return np.array(im)


def _png_problem(data: memoryview) -> str | None:
    """Why the PNG's chunk structure is broken ("truncated" / "damaged"), or None.

    Checked before OpenCV decodes: libpng reports a bad chunk by printing "libpng error:
    ..." straight to the process's stderr, which no Python code can catch. Walking the
    chunk headers and their CRCs costs a fraction of the decode (zlib.crc32 runs at GB/s).
    """
    pos, end = 8, len(data)
    while True:
        if pos + 12 > end:
            return "truncated"
        length = int.from_bytes(data[pos : pos + 4], "big")
        if length > 0x7FFFFFFF:
            return "damaged"
        if pos + 12 + length > end:
            return "truncated"
        kind_and_body = data[pos + 4 : pos + 8 + length]
        crc = int.from_bytes(data[pos + 8 + length : pos + 12 + length], "big")
        if zlib.crc32(kind_and_body) != crc:
            return "damaged"
        if bytes(data[pos + 4 : pos + 8]) == b"IEND":
            return None
        pos += 12 + length


def _decode_cv2(path: PathLike, name: str, *, grey: bool) -> np.ndarray:
    data = np.fromfile(path, dtype=np.uint8)  # fromfile + imdecode: non-ASCII paths on Windows
    problem = _png_problem(memoryview(data.data))  # ndarray.data: its buffer, no copy
    if problem == "truncated":
        raise ImageReadError(
            f"'{name}' is truncated or damaged: its PNG data ends early (incomplete copy?)."
        )
    if problem is not None:
        raise ImageReadError(f"'{name}' is damaged: its PNG data fails its checksum.")
    arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise ImageReadError(f"'{name}' is damaged or truncated: its PNG data cannot be decoded.")
    if arr.ndim == 2:
        return arr
    if grey or arr.shape[2] <= 2:
        return np.ascontiguousarray(arr[:, :, 0])
    return cv2.cvtColor(arr[:, :, :3], cv2.COLOR_BGR2RGB)
