"""VOI transformation (PS3.3 C.11.2): modality values -> display intensity in [0, 1].

The filters build their display LUT with these functions, so the file's own VOI (a VOI LUT
Sequence or a Window Center/Width with its VOI LUT Function) is shown exactly as DICOM and
pydicom define it. The output is normalised to [0, 1] instead of pydicom's output range;
``pydicom.pixels.apply_voi_lut`` equals ``y_min + apply_voi(...) * (y_max - y_min)``.
MONOCHROME1 inversion is *not* applied here (the filters' invert step owns it).

VOI choices of an image, in the order ``index`` counts them (pydicom's ``prefer_lut``):
the VOI LUT (when the file has one) first, then each Window Center/Width pair.
"""

from __future__ import annotations

import numpy as np

from core.imaging.raw import RawImage, VoiWindow


def has_voi(raw: RawImage) -> bool:
    """Whether the file brings its own VOI (else the filters pick robust percentiles)."""
    return raw.voi_lut is not None or bool(raw.voi_windows)


def voi_labels(raw: RawImage) -> list[str]:
    """Human labels of the VOI choices, indexable like ``apply_voi``'s ``index``."""
    labels = ["VOI LUT (from file)"] if raw.voi_lut is not None else []
    for i, w in enumerate(raw.voi_windows, start=1):
        text = w.explanation or f"Window {i}"
        labels.append(f"{text} (C {w.center:g} / W {w.width:g})")
    return labels


def voi_count(raw: RawImage) -> int:
    return (raw.voi_lut is not None) + len(raw.voi_windows)


def voi_window(raw: RawImage, index: int = 0) -> VoiWindow | None:
    """The window behind choice ``index``, or None when that choice is the VOI LUT."""
    offset = 1 if raw.voi_lut is not None else 0
    if index < offset:
        return None
    if not 0 <= index - offset < len(raw.voi_windows):
        raise IndexError(f"VOI choice {index} does not exist (the image has {voi_count(raw)})")
    return raw.voi_windows[index - offset]


def apply_voi(raw: RawImage, values: np.ndarray, index: int = 0) -> np.ndarray:
    """Apply the file's VOI choice ``index`` to modality ``values``; float32 in [0, 1].

    Raises ValueError when the image has no VOI of its own (check ``has_voi`` first).
    """
    if not has_voi(raw):
        raise ValueError("the image has no VOI LUT or window of its own")
    window = voi_window(raw, index)
    if window is None:
        assert raw.voi_lut is not None
        table, first, bits = raw.voi_lut
        return apply_voi_lut(values, table, first, bits)
    return apply_window(values, window.center, window.width, raw.voi_lut_function)


def apply_window(
    values: np.ndarray, center: float, width: float, function: str = "LINEAR"
) -> np.ndarray:
    """Window Center/Width with a VOI LUT Function (LINEAR, LINEAR_EXACT, SIGMOID) -> [0, 1]."""
    x = np.asarray(values, dtype=np.float64)
    function = function.upper()
    if function == "SIGMOID":
        if width <= 0:
            raise ValueError("a SIGMOID window needs a width above 0")
        out = 1.0 / (1.0 + np.exp(-4.0 * (x - center) / width))
        return out.astype(np.float32)
    if function == "LINEAR_EXACT":
        if width <= 0:
            raise ValueError("a LINEAR_EXACT window needs a width above 0")
        c, w = center, width
    else:  # LINEAR (the default; PS3.3 C.11.2.1.2.1 shifts by half a step)
        if width < 1:
            raise ValueError("a LINEAR window needs a width of at least 1")
        c, w = center - 0.5, width - 1.0
    if w == 0:  # LINEAR with width 1: a pure threshold at c
        return (x > c).astype(np.float32)
    out = (x - c) / w + 0.5
    np.clip(out, 0.0, 1.0, out=out)
    return out.astype(np.float32)


def apply_voi_lut(values: np.ndarray, table: np.ndarray, first: int, bits: int) -> np.ndarray:
    """A VOI LUT Sequence table -> [0, 1] (output scaled by its nominal bit depth)."""
    x = np.asarray(values)
    if x.dtype.kind == "f":
        x = np.floor(x)  # pydicom truncates non-integer input the same way for x >= first
    index = x.astype(np.int64) - first
    np.clip(index, 0, table.size - 1, out=index)
    scale = float(2**bits - 1) if bits > 0 else float(max(int(table.max()), 1))
    return (table[index].astype(np.float32) / np.float32(scale)).astype(np.float32)
