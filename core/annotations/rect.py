"""One box's area from four numbers: plain floats, no numpy.

Kept apart from ``core.annotations.geometry`` (numpy arrays of boxes) so the annotation
model and the canvas can import it without loading numpy at the window's start (#17).
"""

from __future__ import annotations


def rect_area(x1: float, y1: float, x2: float, y2: float) -> float:
    """Area of one box given as four numbers (plain floats: no array for a single box)."""
    return max(0.0, x2 - x1) * max(0.0, y2 - y1)
