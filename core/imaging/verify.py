"""``check_image``: an image's header plus whether its pixels can be decoded, cheaply.

What an import runs on every file instead of ``read_header``. ``read_header`` alone let
through files that fail only when first shown or exported: pixel data cut short or
missing, a transfer syntax nobody decodes, Bits Stored above Bits Allocated, a frame count
of a million, garbage where JPEG 2000 should be, a cut PNG, a PNG chunk claiming 2 GB, RGB
data labelled MONOCHROME2, TIFF strips past the end of the file.

Decoding every image would catch those too, at the price of the decode itself (an import
of small PNGs twice as slow, a JPEG 2000 CR ~250 times slower than its header). Instead
each format runs the checks its reader makes before decoding, plus a look at the encoded
data's own structure:

- DICOM: pixel data present; samples per pixel that fit the photometric interpretation;
  Bits Allocated / Bits Stored sane; frames under ``limits.MAX_FRAMES``; a transfer
  syntax with an installed decoder; native data as long as the header says (and not
  twice as long); for JPEG, JPEG 2000 and RLE, the first frame's codestream header
  present and describing the same size and samples.
- TIFF: strips inside the file, enough bytes for an uncompressed page, a bit depth
  tifffile decodes, a whole colour map.
- PNG: every chunk's length inside the file, every CRC, an IDAT, an IEND.
- JPEG: the stream reaches its end-of-image marker.

``read`` makes the same checks (the same messages), so an image that imports cleanly and
one that was marked as an error behave alike in the viewer. What the checks cannot see
(deflate or entropy-coded data damaged under an intact CRC or header) still fails at
decode, as before, with a typed error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from core.imaging._quiet import quiet_reading
from core.imaging.header import ImageHeader
from core.imaging.photo import check_photo
from core.imaging.sniff import DICOM, TIFF, sniff

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class CheckedImage:
    """``header`` as ``read_header`` gives it; ``problem`` is why the pixels cannot be
    decoded (one line, naming the file by its name only), or None."""

    header: ImageHeader
    problem: str | None = None


def check_image(path: PathLike) -> CheckedImage:
    """The header and the pixel checks of one file, decoding nothing.

    Raises core.errors.ImageReadError subclasses, like ``read_header``, when even the
    header cannot be read (not an image, unsupported, empty, too large).
    """
    with quiet_reading():
        fmt = sniff(path)
        if fmt == DICOM:
            from core.imaging.dicom import check_dicom  # pydicom with the first DICOM

            header, problem = check_dicom(path)
        elif fmt == TIFF:
            from core.imaging.tiff import check_tiff

            header, problem = check_tiff(path)
        else:
            header, problem = check_photo(path, fmt)
    return CheckedImage(header, problem)
