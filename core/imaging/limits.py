"""Sanity limits that stop a hostile or broken header from exhausting memory.

A file can claim any size in a few bytes ("decompression bomb"). Every reader checks the
header's dimensions here *before* allocating or decoding pixels. The limits sit far above
any real detector (a 43x43 cm flat panel at 100 µm is ~4300 px a side), so only broken or
malicious files hit them. They are module attributes so a test (or an unusual site) can
adjust them at run time.
"""

from __future__ import annotations

from core.errors import ImageReadError, ImageTooLargeError

MAX_SIDE = 30_000
MAX_PIXELS = 400_000_000
MAX_SAMPLES_PER_PIXEL = 4


def check_dimensions(name: str, width: int, height: int, samples_per_pixel: int = 1) -> None:
    """Raise ImageTooLargeError when the claimed size is implausible (or not positive)."""
    if width <= 0 or height <= 0:
        raise ImageTooLargeError(
            f"'{name}' claims an image of {width} x {height} pixels, which is not a valid size; "
            "the file is damaged."
        )
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise ImageTooLargeError(
            f"'{name}' claims an image of {width:,} x {height:,} pixels, beyond the safe limit "
            f"of {MAX_SIDE:,} pixels a side and {MAX_PIXELS // 1_000_000:,} million pixels; "
            "the file is damaged or not a real image, so ClinLens will not open it."
        )
    if samples_per_pixel > MAX_SAMPLES_PER_PIXEL:
        raise ImageTooLargeError(
            f"'{name}' claims {samples_per_pixel} samples per pixel; ClinLens reads grey and "
            "colour images with at most 4."
        )


def check_index(name: str, index: int, count: int, unit: str) -> None:
    """Raise ImageReadError when frame/page ``index`` is not one of the file's ``count``."""
    if not 0 <= index < count:
        valid = f"only {unit} 0" if count == 1 else f"{unit}s are numbered 0 to {count - 1}"
        raise ImageReadError(
            f"'{name}' has {count} {unit}{'s' if count != 1 else ''}; {unit} {index} does not "
            f"exist ({valid})."
        )
