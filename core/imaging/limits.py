"""Sanity limits that stop a hostile or broken header from exhausting memory.

A file can claim any size in a few bytes ("decompression bomb"). Every reader checks the
header's dimensions here *before* allocating or decoding pixels. The limits sit far above
any real detector (a 43x43 cm flat panel at 100 µm is ~4300 px a side), so only broken or
malicious files hit them. They are module attributes so a test (or an unusual site) can
adjust them at run time; the messages are built from the current values, and each names
the one limit the file exceeded, so what the user reads is the rule that was applied.
"""

from __future__ import annotations

from core.errors import ImageReadError, ImageTooLargeError

MAX_SIDE = 30_000
MAX_PIXELS = 400_000_000
MAX_SAMPLES_PER_PIXEL = 4
# Frames of one DICOM object. Cine loops and tomosynthesis stacks hold hundreds to a few
# thousand; 100,000 leaves room for anything real and refuses a NumberOfFrames of 1e6
# before any per-frame work (offset tables, length checks) is sized by it.
MAX_FRAMES = 100_000


def _millions(n: int) -> str:
    return f"{n / 1_000_000:,.0f} million" if n >= 1_000_000 else f"{n:,}"


def check_dimensions(name: str, width: int, height: int, samples_per_pixel: int = 1) -> None:
    """Raise ImageTooLargeError when the claimed size is implausible (or not positive)."""
    if width <= 0 or height <= 0:
        raise ImageTooLargeError(
            f"'{name}' claims an image of {width} x {height} pixels, which is not a valid size; "
            "the file is damaged."
        )
    if width > MAX_SIDE or height > MAX_SIDE:
        raise ImageTooLargeError(
            f"'{name}' claims an image of {width:,} x {height:,} pixels, beyond the safe limit "
            f"of {MAX_SIDE:,} pixels a side; the file is damaged or not a real image, so "
            "ClinLens will not open it."
        )
    if width * height > MAX_PIXELS:
        raise ImageTooLargeError(
            f"'{name}' claims an image of {width:,} x {height:,} = {width * height:,} pixels, "
            f"beyond the safe limit of {MAX_PIXELS:,} pixels ({_millions(MAX_PIXELS)}); the "
            "file is damaged or not a real image, so ClinLens will not open it."
        )
    if samples_per_pixel > MAX_SAMPLES_PER_PIXEL:
        raise ImageTooLargeError(
            f"'{name}' claims {samples_per_pixel} samples per pixel; ClinLens reads grey and "
            f"colour images with at most {MAX_SAMPLES_PER_PIXEL}."
        )


def check_frames(name: str, count: int) -> None:
    """Raise ImageTooLargeError when a file claims more frames than any real one holds."""
    if count > MAX_FRAMES:
        raise ImageTooLargeError(
            f"'{name}' claims {count:,} frames, beyond the safe limit of {MAX_FRAMES:,}; its "
            "header is damaged, so ClinLens will not open it."
        )


def check_index(name: str, index: int, count: int, unit: str) -> None:
    """Raise ImageReadError when frame/page ``index`` is not one of the file's ``count``."""
    if not 0 <= index < count:
        valid = f"only {unit} 0" if count == 1 else f"{unit}s are numbered 0 to {count - 1}"
        raise ImageReadError(
            f"'{name}' has {count} {unit}{'s' if count != 1 else ''}; {unit} {index} does not "
            f"exist ({valid})."
        )
