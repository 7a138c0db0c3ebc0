"""What the status bar says about the pixel under the pointer."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy is there once an image is (#17)
    import numpy as np


@dataclass(frozen=True)
class PixelReadout:
    x: int
    y: int
    stored: tuple[float, ...]  # one value (grey) or R, G, B
    modality: float | None  # after rescale / Modality LUT (e.g. HU); None for photos
    unit: str | None  # "HU" etc. when the file says so

    def text(self) -> str:
        if len(self.stored) == 1:
            value = f"stored {_num(self.stored[0])}"
        else:
            value = "RGB " + ", ".join(_num(v) for v in self.stored)
        if self.modality is not None and (len(self.stored) != 1 or self.modality != self.stored[0]):
            unit = f" {self.unit}" if self.unit else ""
            value += f" · value {_num(self.modality)}{unit}"
        return f"x {self.x}, y {self.y} · {value}"


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.2f}"


def pixel_readout(raw: Any, x: float, y: float) -> PixelReadout | None:
    """The stored and modality value at continuous image point (x, y), or None outside."""
    if raw is None or math.isnan(x) or math.isnan(y):
        return None
    col, row = math.floor(x), math.floor(y)
    if not (0 <= col < raw.width and 0 <= row < raw.height):
        return None
    import numpy as np

    px = raw.pixels[row, col]
    if np.ndim(px) == 0:
        stored: tuple[float, ...] = (float(px),)
        modality = _modality(raw, np.asarray([px]))
        unit = getattr(raw, "rescale_type", None)
    else:
        stored = tuple(float(v) for v in px[:3])
        modality, unit = None, None
    return PixelReadout(col, row, stored, modality, unit)


def _modality(raw: Any, stored: np.ndarray) -> float | None:
    try:
        from core.imaging.modality import to_modality

        return float(to_modality(raw, stored)[0])
    except Exception:  # a reader without modality support: fall back to the linear rescale
        return float(stored[0]) * float(raw.rescale_slope) + float(raw.rescale_intercept)
