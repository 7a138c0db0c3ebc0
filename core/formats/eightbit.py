"""Export pixels: photos as they are, everything else rendered to 8-bit with the recorded
display settings (ARCHITECTURE "Pixels and coordinates": a model must see at training time
the pixels it sees at suggestion time, never a reader's default conversion).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from core.errors import ImageReadError

COPYABLE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})
_EXIF_ORIENTATION = 0x0112


def needs_rendering(bit_depth: int, source_format: str | None) -> bool:
    """True for images whose 8-bit form depends on display settings (high bit depth, DICOM)."""
    return bit_depth > 8 or source_format == "dicom"


def exif_rotated(path: Path) -> bool:
    """True when a JPEG/PNG carries an EXIF orientation other than 'as stored'.

    Boxes live in the oriented frame (readers apply EXIF), so such a file cannot simply be
    copied: consumers that ignore EXIF would see other pixels under the boxes.
    """
    from PIL import Image

    try:
        with Image.open(path) as im:
            return int(im.getexif().get(_EXIF_ORIENTATION, 1) or 1) != 1
    except (OSError, ValueError, SyntaxError):
        return True  # unknown: re-encode from the decoded pixels, which is always right


def can_copy(path: Path, bit_depth: int) -> bool:
    return path.suffix.lower() in COPYABLE_SUFFIXES and bit_depth <= 8 and not exif_rotated(path)


def settings_for(
    raw: Any, image_settings: dict[str, Any] | None, default_settings: dict[str, Any] | None
) -> Any:
    """The FilterSettings to render with: the image's own, else the project's, else the
    filters' documented default for this image (the same order the viewer uses)."""
    from core.filters import FilterSettings
    from core.filters import default_settings as filters_default

    chosen = image_settings or default_settings
    return FilterSettings.from_dict(chosen) if chosen else filters_default(raw)


def export_array(
    src: Path, image_settings: dict[str, Any] | None, default_settings: dict[str, Any] | None
) -> np.ndarray:
    """uint8 (H, W) or (H, W, 3) RGB pixels of ``src`` as exported."""
    from core.filters import render
    from core.imaging import read

    raw = read(src)
    if (
        not needs_rendering(int(raw.bits_stored), raw.source_format)
        and raw.pixels.dtype == np.uint8
    ):
        return raw.pixels  # an 8-bit photo: its own pixels (EXIF orientation applied)
    return render(raw, settings_for(raw, image_settings, default_settings))


def write_png(array: np.ndarray, dst: Path) -> None:
    """Lossless 8-bit PNG (RGB arrays are written in the right channel order)."""
    img = array
    if img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    elif img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    # OpenCV's default (level 1 with the RLE strategy) is its fastest setting; asking for a
    # level explicitly switches to zlib's default strategy and measured 4x slower.
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(img))
    if not ok:
        raise ImageReadError(f"{dst}: could not encode the exported image")
    dst.write_bytes(buf.tobytes())


def copy_file(src: Path, dst: Path) -> None:
    """Copy a photo for export without its EXIF/XMP/IPTC/text metadata (it can name the
    patient, the place and the day); a file whose segments cannot be parsed although it
    decodes is re-encoded from its pixels under the same suffix instead."""
    from core.formats.metadata_strip import MetadataStripError, copy_without_metadata

    try:
        copy_without_metadata(src, dst)
    except MetadataStripError:
        _reencode(src, dst)


def _reencode(src: Path, dst: Path) -> None:
    from core.imaging import read

    pixels = read(src).pixels
    if dst.suffix.lower() == ".png":
        write_png(pixels, dst)
        return
    img = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR) if pixels.ndim == 3 else pixels
    # Quality 95: the rare malformed-but-decodable JPEG loses one generation, never its name.
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(img), [cv2.IMWRITE_JPEG_QUALITY, 95])
    if not ok:
        raise ImageReadError(f"{dst}: could not encode the exported image")
    dst.write_bytes(buf.tobytes())
