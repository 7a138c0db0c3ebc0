"""Tiling for export: random positive tiles (each holds at least one box) and a fixed grid.

Large X-rays hold small objects; training on crops keeps them big enough for the network.
Boxes are clipped to each tile and dropped when less than ``min_fraction`` of their area
remains (a sliver of a zipper teaches nothing). Tile positions are whole pixels so the
crop and the labels agree exactly.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from core.annotations.geometry import rect_area

T = TypeVar("T")
MIN_FRACTION = 0.3


@dataclass(frozen=True)
class TileBox(Generic[T]):
    x1: float
    y1: float
    x2: float
    y2: float
    payload: T  # the caller's label / class id

    @property
    def area(self) -> float:
        return rect_area(self.x1, self.y1, self.x2, self.y2)


@dataclass(frozen=True)
class Tile(Generic[T]):
    x0: int
    y0: int
    width: int
    height: int
    boxes: tuple[TileBox[T], ...]  # in tile coordinates


def clip_to_tile(
    boxes: Sequence[TileBox[T]],
    x0: int,
    y0: int,
    width: int,
    height: int,
    min_fraction: float = MIN_FRACTION,
    keep: TileBox[T] | None = None,
) -> tuple[TileBox[T], ...]:
    """Boxes shifted into the tile, clipped, and dropped below ``min_fraction`` of their area
    (``keep``, the box a positive tile was drawn around, always stays)."""
    out: list[TileBox[T]] = []
    for b in boxes:
        cx1, cy1 = max(b.x1, x0), max(b.y1, y0)
        cx2, cy2 = min(b.x2, x0 + width), min(b.y2, y0 + height)
        if cx2 <= cx1 or cy2 <= cy1:
            continue
        kept = (cx2 - cx1) * (cy2 - cy1)
        if b is not keep and (b.area <= 0 or kept / b.area < min_fraction):
            continue
        out.append(TileBox(cx1 - x0, cy1 - y0, cx2 - x0, cy2 - y0, b.payload))
    return tuple(out)


def _origin_range(lo_edge: float, hi_edge: float, tile: int, image: int) -> tuple[int, int]:
    """Whole-pixel tile origins along one axis whose tile contains [lo_edge, hi_edge]
    (or lies inside it when the box is bigger than the tile)."""
    if hi_edge - lo_edge <= tile:
        lo, hi = math.ceil(max(0.0, hi_edge - tile)), math.floor(min(lo_edge, image - tile))
    else:
        lo, hi = math.ceil(lo_edge), math.floor(hi_edge - tile)
    lo, hi = max(lo, 0), min(hi, image - tile)
    if lo > hi:  # fractional edges: centre on the box
        c = round((lo_edge + hi_edge) / 2 - tile / 2)
        lo = hi = min(max(c, 0), image - tile)
    return lo, hi


def random_positive_tiles(
    width: int,
    height: int,
    boxes: Sequence[TileBox[T]],
    n: int,
    size: int,
    rng: random.Random,
    min_fraction: float = MIN_FRACTION,
) -> list[Tile[T]]:
    """Up to ``n`` distinct tiles of ``size`` px (smaller if the image is), each drawn around
    a randomly chosen box. An image without boxes gives no tiles."""
    if not boxes or n <= 0:
        return []
    tw, th = min(size, width), min(size, height)
    tiles: list[Tile[T]] = []
    seen: set[tuple[int, int]] = set()
    for _ in range(n * 10):  # bounded retries: a small image may have few distinct tiles
        if len(tiles) >= n:
            break
        b = boxes[rng.randrange(len(boxes))]
        x_lo, x_hi = _origin_range(b.x1, b.x2, tw, width)
        y_lo, y_hi = _origin_range(b.y1, b.y2, th, height)
        x0, y0 = rng.randint(x_lo, x_hi), rng.randint(y_lo, y_hi)
        if (x0, y0) in seen:
            continue
        seen.add((x0, y0))
        kept = clip_to_tile(boxes, x0, y0, tw, th, min_fraction, keep=b)
        tiles.append(Tile(x0, y0, tw, th, kept))
    return tiles


def _grid_positions(extent: int, tile: int, overlap: float) -> list[int]:
    if extent <= tile:
        return [0]
    step = max(1, int(tile * (1.0 - overlap)))
    pos = list(range(0, extent - tile + 1, step))
    if pos[-1] != extent - tile:
        pos.append(extent - tile)  # last tile flush with the edge, not past it
    return pos


def grid_tiles(
    width: int,
    height: int,
    boxes: Sequence[TileBox[T]],
    size: int,
    overlap: float = 0.2,
    min_fraction: float = MIN_FRACTION,
    keep_empty: bool = True,
) -> list[Tile[T]]:
    """A fixed grid of ``size`` px tiles overlapping by ``overlap`` (0..0.9), row by row."""
    if not 0.0 <= overlap < 1.0:
        raise ValueError("overlap must be in [0, 1)")
    tw, th = min(size, width), min(size, height)
    tiles: list[Tile[T]] = []
    for y0 in _grid_positions(height, th, overlap):
        for x0 in _grid_positions(width, tw, overlap):
            kept = clip_to_tile(boxes, x0, y0, tw, th, min_fraction)
            if kept or keep_empty:
                tiles.append(Tile(x0, y0, tw, th, kept))
    return tiles
