"""Dispatch by content: one ``read``/``read_header`` for every supported format.

The DICOM and TIFF readers (pydicom, tifffile) load with the first file of their kind: a
project of photos never imports them, and the window's start does not wait for them."""

from __future__ import annotations

import os

from core.errors import ImageReadError
from core.imaging._quiet import quiet_reading
from core.imaging.header import ImageHeader
from core.imaging.photo import read_photo, read_photo_header
from core.imaging.raw import RawImage
from core.imaging.sniff import DICOM, TIFF, display_name, sniff

PathLike = str | os.PathLike[str]


def read(path: PathLike, frame: int = 0) -> RawImage:
    """Decode one frame (DICOM) or page (TIFF) at full bit depth; photos ignore ``frame``
    other than 0. Raises core.errors.ImageReadError subclasses with a readable message.

    The libraries' warnings and log lines about a hostile or damaged file are dropped
    (``quiet_reading``): the typed error, or the image, is the whole answer."""
    if not isinstance(frame, int) or isinstance(frame, bool):
        raise TypeError("frame must be an int")
    with quiet_reading():
        return _read(path, frame)


def read_header(path: PathLike) -> ImageHeader:
    """Size, depth, modality and the default window without decoding the pixels."""
    with quiet_reading():
        return _read_header(path)


def _read(path: PathLike, frame: int) -> RawImage:
    fmt = sniff(path)
    if fmt == DICOM:
        from core.imaging.dicom import read_dicom

        return read_dicom(path, frame)
    if fmt == TIFF:
        from core.imaging.tiff import read_tiff

        return read_tiff(path, frame)
    if frame != 0:
        raise ImageReadError(
            f"'{display_name(path)}' is a single image; frame {frame} does not exist "
            "(only frame 0)."
        )
    return read_photo(path, fmt)


def _read_header(path: PathLike) -> ImageHeader:
    fmt = sniff(path)
    if fmt == DICOM:
        from core.imaging.dicom import read_dicom_header

        return read_dicom_header(path)
    if fmt == TIFF:
        from core.imaging.tiff import read_tiff_header

        return read_tiff_header(path)
    return read_photo_header(path, fmt)
