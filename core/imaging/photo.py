"""PNG and JPEG reader: 8/16-bit, grey/RGB, EXIF orientation applied.

Pillow reads headers lazily (cheap ``read_header``) and decodes 8-bit PNG and JPEG. Every
16-bit PNG goes through OpenCV: Pillow silently reduces 16-bit colour to 8 bits, and libpng
via OpenCV decodes 16-bit grey faster than Pillow. Alpha is dropped (clinical display has
no use for transparency).

EXIF orientation of a PNG is read without decoding pixels: Pillow's ``PngImageFile.getexif``
decodes the whole image when the eXIf chunk was not seen before the pixel data (i.e. nearly
always), which made every PNG decode twice on ``read`` and once on ``read_header``.

``read_photo_header`` and ``check_photo`` (the import's header + pixel checks) open the
file once and map it: IHDR, the eXIf chunk, the chunk walk and Pillow all read from that
one opening, so the checks cost less than the four separate opens the header alone took.
"""

from __future__ import annotations

import mmap
import os
import re
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

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
# Bytes-like views of a whole file: an mmap, a numpy buffer's memoryview, bytes.
Data = mmap.mmap | memoryview | bytes
T = TypeVar("T")


def read_photo(path: PathLike, fmt: str) -> RawImage:
    name = display_name(path)
    check_file(path)
    data = None
    if fmt == PNG:
        # fromfile + imdecode: non-ASCII paths on Windows. The chunks are checked first.
        data = np.fromfile(path, dtype=np.uint8)
        _check_png(name, data)
    view = memoryview(data.data) if data is not None else None  # its buffer, no copy
    with _open(path, name, fmt, view) as im:
        width, height = im.size
        check_dimensions(name, width, height)
        orientation = _orientation(im, fmt, view)
        png_depth, png_colour = _png_ihdr(view) if view is not None else (8, 0)
        try:
            if data is not None and png_depth == 16 and png_colour in (0, 2, 4, 6):
                arr = _decode_cv2(data, name, grey=png_colour in (0, 4))
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
    return _mapped(path, lambda name, fh, data: _header(path, name, fmt, fh, data))


def check_photo(path: PathLike, fmt: str) -> tuple[ImageHeader, str | None]:
    """The header, and why the pixels cannot be decoded (None: no reason found).

    PNG: the chunk walk ``read_photo`` runs first (lengths, CRCs, IDAT, IEND). JPEG: the
    stream must reach its end-of-image marker (a cut copy does not; Pillow refuses it).
    Nothing is decoded. Raises like ``read_photo_header`` when the header cannot be read.
    """

    def both(name: str, fh: BinaryIO, data: Data) -> tuple[ImageHeader, str | None]:
        header = _header(path, name, fmt, fh, data)
        return header, (_png_problem(data, name) if fmt == PNG else _jpeg_problem(data, name))

    return _mapped(path, both)


def _mapped(path: PathLike, work: Callable[[str, BinaryIO, Data], T]) -> T:
    """``work(name, file, data)`` with the file open and mapped: pages are read only where
    touched (a header reads the first one), and nothing is copied."""
    name = display_name(path)
    check_file(path)  # also refuses an empty file, which cannot be mapped
    try:
        with open(path, "rb") as fh:
            try:
                data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError):  # a file system that cannot map: read it instead
                whole = fh.read()
                fh.seek(0)
                return work(name, fh, whole)
            with data:
                fh.seek(0)
                return work(name, fh, data)
    except OSError as exc:  # Pillow's own OSErrors are already ImageReadErrors here
        raise ImageReadError(f"'{name}' cannot be opened: {exc.strerror or exc}.") from None


def _header(path: PathLike, name: str, fmt: str, fh: BinaryIO, data: Data) -> ImageHeader:
    png = data if fmt == PNG else None
    with _open(fh, name, fmt, png) as im:
        width, height = im.size
        check_dimensions(name, width, height)
        orientation = _orientation(im, fmt, png)
        mode = im.mode
        colour = _is_colour_mode(im)
    if swaps_axes(orientation):
        width, height = height, width
    bits = 8
    if png is not None:
        depth, ctype = _png_ihdr(png)
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


# After the marker byte of a JPEG segment found in entropy-coded data: anything but a
# stuffed zero, a restart marker or a fill byte ends the scan (ITU T.81 B.1.1.2, B.1.1.5).
_NEXT_MARKER = re.compile(rb"\xff+([^\x00\xd0-\xd7\xff])")
_NO_LENGTH = frozenset({0x01, *range(0xD0, 0xDA)})  # TEM, RSTn, SOI, EOI: no length field


def _jpeg_problem(data: Data, name: str) -> str | None:
    """None when the JPEG stream reaches EOI; a "truncated" message when it ends first.

    Nearly every JPEG ends in FF D9, which costs one look at the last bytes. Otherwise (a
    phone's trailer after the image, padding, or a cut file) the segments are walked from
    SOI and the scans searched for their end, so data after EOI is never taken for damage.
    A stream whose structure cannot be followed is not judged here (Pillow will).
    """
    end = len(data)
    if bytes(data[max(end - 64, 0) :]).rstrip(b"\x00 \r\n\t").endswith(b"\xff\xd9"):
        return None
    pos = 2  # after SOI (checked by sniff)
    while pos + 2 <= end:
        if data[pos] != 0xFF:
            return None  # not where a marker should be: leave the verdict to the decoder
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker == 0xD9:
            return None
        if marker in _NO_LENGTH:
            pos += 2
            continue
        if pos + 4 > end:
            break
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xDA:  # start of scan: entropy-coded data up to the next marker
            found = _NEXT_MARKER.search(data, pos)
            if found is None:
                break
            pos = found.start(1) - 1
    return f"'{name}' is truncated or damaged: its JPEG data ends early (incomplete copy?)."


def _open(source: PathLike | BinaryIO, name: str, fmt: str, png: Data | None) -> Image.Image:
    if png is not None:
        # Our limit first, with the claimed size in the message (Pillow's check is vaguer).
        width, height = _png_size(png)
        if width and height:
            check_dimensions(name, width, height)
            _check_pillow_limit(name, width, height)
    try:
        return Image.open(source)
    except Image.DecompressionBombError:
        raise ImageTooLargeError(_pillow_limit_message(name, None)) from None
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


def _pillow_limit() -> int:
    """Pixels above which Pillow refuses to open a photo (DecompressionBombError): twice
    ``Image.MAX_IMAGE_PIXELS``, below ClinLens' own MAX_PIXELS, so it is the real limit."""
    return 2 * int(Image.MAX_IMAGE_PIXELS or 0)


def _check_pillow_limit(name: str, width: int, height: int) -> None:
    limit = _pillow_limit()
    if limit and width * height > limit:
        raise ImageTooLargeError(_pillow_limit_message(name, (width, height)))


def _pillow_limit_message(name: str, size: tuple[int, int] | None) -> str:
    limit = _pillow_limit()
    claim = (
        f"an image of {size[0]:,} x {size[1]:,} = {size[0] * size[1]:,} pixels"
        if size
        else f"more than {limit:,} pixels"
    )
    return (
        f"'{name}' claims {claim}, beyond the safe limit of {limit:,} pixels "
        f"({limit / 1_000_000:,.0f} million pixels) for a PNG or JPEG photo; the file is damaged "
        "or not a real photo."
    )


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


def _orientation(im: Image.Image, fmt: str, png: Data | None) -> int:
    try:
        if fmt == PNG:
            if "exif" not in im.info and png is not None:
                # eXIf after the pixel data: Pillow only sees it by decoding; we skip there.
                data = _png_exif_chunk(png)
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


def _png_exif_chunk(data: Data) -> bytes | None:
    """The payload of a PNG's eXIf chunk, found by walking chunk headers: the image data
    is skipped, never copied or inflated (~1 ms for a 20 MB file)."""
    pos, end = 8, len(data)  # after the signature
    while pos + 8 <= end:
        length, kind = int.from_bytes(data[pos : pos + 4], "big"), bytes(data[pos + 4 : pos + 8])
        if kind == b"eXIf":
            body = bytes(data[pos + 8 : pos + 8 + length])
            return body if len(body) == length else None
        if kind == b"IEND" or length > 0x7FFFFFFF:  # the end, or not a PNG chunk
            return None
        pos += 12 + length  # length, type, data, CRC
    return None


def _png_size(data: Data) -> tuple[int, int]:
    head = bytes(data[:24])
    if len(head) < 24 or head[12:16] != b"IHDR":
        return 0, 0
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def _png_ihdr(data: Data) -> tuple[int, int]:
    """(bit depth, colour type) straight from the IHDR chunk (always first in a PNG)."""
    head = bytes(data[:26])
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


def _png_problem(data: Data, name: str) -> str | None:
    """Why the PNG's chunk structure is broken (a one-line message), or None.

    Checked on every PNG before it is decoded, and by ``check_photo`` at import: libpng
    reports a bad chunk by printing "libpng error: ..." straight to the process's stderr,
    which no Python code can catch, and Pillow decodes past a chunk whose length is absurd
    (a 2 GB claim in a 3 kB file) as long as the pixels inflate. Walking the chunk headers
    and their CRCs costs a fraction of the decode (zlib.crc32 runs at GB/s).
    """
    pos, end = 8, len(data)
    seen_idat = False
    while True:
        if pos + 12 > end:
            return _png_truncated(name)
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = bytes(data[pos + 4 : pos + 8])
        if length > 0x7FFFFFFF:  # PNG chunk lengths are at most 2^31 - 1
            return (
                f"'{name}' is damaged: a PNG chunk claims {length:,} bytes, more than any "
                "PNG chunk can hold."
            )
        if pos + 12 + length > end:
            return _png_truncated(name)
        crc = int.from_bytes(data[pos + 8 + length : pos + 12 + length], "big")
        if zlib.crc32(data[pos + 4 : pos + 8 + length]) != crc:
            shown = kind.decode("latin-1") if kind.isalpha() else "a"
            return f"'{name}' is damaged: its PNG data fails its checksum ({shown} chunk)."
        if kind == b"IDAT":
            seen_idat = True
        elif kind == b"IEND":
            if not seen_idat:
                return f"'{name}' is damaged: its PNG data holds no image data (no IDAT chunk)."
            return None
        pos += 12 + length


def _png_truncated(name: str) -> str:
    return f"'{name}' is truncated or damaged: its PNG data ends early (incomplete copy?)."


def _check_png(name: str, data: np.ndarray) -> None:
    problem = _png_problem(memoryview(data.data), name)  # ndarray.data: its buffer, no copy
    if problem is not None:
        raise ImageReadError(problem)


def _decode_cv2(data: np.ndarray, name: str, *, grey: bool) -> np.ndarray:
    arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise ImageReadError(f"'{name}' is damaged or truncated: its PNG data cannot be decoded.")
    if arr.ndim == 2:
        return arr
    if grey or arr.shape[2] <= 2:
        return np.ascontiguousarray(arr[:, :, 0])
    return cv2.cvtColor(arr[:, :, :3], cv2.COLOR_BGR2RGB)
