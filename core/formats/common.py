"""Shared pieces of the format layer: parsed annotations, box checks, progress and cancel."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.annotations import Box
from core.errors import FormatError
from core.safe_yaml import load_yaml
from core.text import shorten


@dataclass
class ParsedBox:
    """A box as read from an annotation file, before it is checked against the image."""

    label: str
    x1: float
    y1: float
    x2: float
    y2: float
    line: int | None = None
    difficult: bool = False
    truncated: bool = False
    occluded: bool = False
    pose: str = "Unspecified"


@dataclass
class ParsedAnnotation:
    """What one annotation file (or one line of a list file) says about one image."""

    source: str  # annotation file, for messages
    image_name: str | None = None  # <filename>, or the path in a list file
    width: int | None = None  # None when the file does not say (or says 0)
    height: int | None = None
    depth: int | None = None
    boxes: list[ParsedBox] = field(default_factory=list)
    line: int | None = None  # for list files: the line that describes the image

    def where(self, line: int | None) -> str:
        return f"{self.source}, line {line}" if line else self.source


def validate_boxes(
    ann: ParsedAnnotation,
    width: int,
    height: int,
    *,
    tolerance_px: float = 1.0,
) -> list[Box]:
    """Check every box against the real image size and return clamped store boxes.

    Boxes a pixel outside the image are common (0-based writers in a 1-based format,
    rounding) and are clamped; anything further out, inverted or empty is an error that
    names the annotation file and line, so nothing half-right is stored. Labels come from
    the user's file (any length, any characters), so messages show them shortened.
    """
    if ann.width and ann.height and (ann.width, ann.height) != (width, height):
        raise FormatError(
            f"{ann.where(ann.line)}: the annotation is for a {ann.width}x{ann.height} image "
            f"but the image is {width}x{height} (was it resized after annotating?)"
        )
    out: list[Box] = []
    for b in ann.boxes:
        where = ann.where(b.line)
        coords = (b.x1, b.y1, b.x2, b.y2)
        if not all(math.isfinite(c) for c in coords):
            raise FormatError(
                f"{where}: box '{shorten(b.label)}' has a coordinate that is not a number"
            )
        if b.x2 < b.x1 or b.y2 < b.y1:
            raise FormatError(
                f"{where}: box '{shorten(b.label)}' has its maximum before its minimum "
                f"(x {b.x1:g}..{b.x2:g}, y {b.y1:g}..{b.y2:g})"
            )
        if b.x2 == b.x1 or b.y2 == b.y1:
            raise FormatError(f"{where}: box '{shorten(b.label)}' has no area")
        if (
            b.x1 < -tolerance_px
            or b.y1 < -tolerance_px
            or b.x2 > width + tolerance_px
            or b.y2 > height + tolerance_px
        ):
            raise FormatError(
                f"{where}: box '{shorten(b.label)}' (x {b.x1:g}..{b.x2:g}, "
                f"y {b.y1:g}..{b.y2:g}) lies outside the {width}x{height} image"
            )
        x1, x2 = max(b.x1, 0.0), min(b.x2, float(width))
        y1, y2 = max(b.y1, 0.0), min(b.y2, float(height))
        if x2 <= x1 or y2 <= y1:
            raise FormatError(
                f"{where}: box '{shorten(b.label)}' lies outside the {width}x{height} image"
            )
        out.append(
            Box(
                x1=x1,
                y1=y1,
                x2=x2,
                y2=y2,
                label=b.label,
                difficult=b.difficult,
                truncated=b.truncated,
                occluded=b.occluded,
                pose=b.pose,
            )
        )
    return out


def read_text_lines(path: Path, max_bytes: int = 50 * 1024 * 1024) -> list[str]:
    """Lines of a UTF-8 text annotation file (BOM tolerated), with a clear error if unreadable."""
    return read_text(path, max_bytes).splitlines()


def read_text(path: Path, max_bytes: int = 50 * 1024 * 1024) -> str:
    """A UTF-8 text file (BOM tolerated); FormatError naming the file (and line) if unreadable,
    too large, or not UTF-8."""
    try:
        if path.stat().st_size > max_bytes:
            raise FormatError(f"{path}: file is larger than {max_bytes // (1024 * 1024)} MB")
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(
            f"{path}: cannot read ({exc.strerror or exc.__class__.__name__})"
        ) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FormatError(f"{path}, line {line}: not UTF-8 text") from None
    return text


def parse_yaml(text: str, path: Path) -> Any:
    """YAML from a user's file, bounded (no anchors/aliases, size, depth, node count: see
    core.safe_yaml); FormatError naming the file and line of what is wrong."""
    return load_yaml(text, path)
