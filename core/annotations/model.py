"""Boxes and grades.

Coordinates are floats in continuous image space: (0, 0) is the top-left corner of the
top-left pixel and (W, H) the bottom-right corner of the image (see ARCHITECTURE.md).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from core.annotations.rect import rect_area

BOX_SOURCES = ("human", "model")
BOX_STATUSES = ("suggested", "accepted", "edited", "rejected")
REVIEW_STATUSES = ("new", "in_progress", "to_review", "done")


@dataclass(frozen=True)
class Box:
    """An axis-aligned box with its label and provenance."""

    x1: float
    y1: float
    x2: float
    y2: float
    label: str
    difficult: bool = False
    truncated: bool = False
    occluded: bool = False
    pose: str = "Unspecified"
    source: str = "human"  # one of BOX_SOURCES
    status: str = "accepted"  # one of BOX_STATUSES
    score: float | None = None
    model_version: str | None = None
    author: str | None = None
    id: int | None = None  # store row id; None until stored

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return rect_area(self.x1, self.y1, self.x2, self.y2)

    def with_coords(self, x1: float, y1: float, x2: float, y2: float) -> Box:
        return replace(self, x1=x1, y1=y1, x2=x2, y2=y2)


def clamp_box(box: Box, width: float, height: float) -> Box:
    """Order the corners and clamp them into the image [0, W] x [0, H]."""
    x1, x2 = sorted((box.x1, box.x2))
    y1, y2 = sorted((box.y1, box.y2))
    x1 = min(max(x1, 0.0), float(width))
    x2 = min(max(x2, 0.0), float(width))
    y1 = min(max(y1, 0.0), float(height))
    y2 = min(max(y2, 0.0), float(height))
    return box.with_coords(x1, y1, x2, y2)


@dataclass(frozen=True)
class Grade:
    """An image-level grade on one scale."""

    scale: str
    value: float
    author: str | None = None
    source: str = "human"  # "human" | "model"
    model_version: str | None = None
    confidence: float | None = None
    id: int | None = None
