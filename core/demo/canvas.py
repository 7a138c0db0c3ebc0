"""Drawing surface of the phantom: body millimetres mapped onto image pixels.

The phantom is built in *body coordinates* (millimetres, x = 0 on the body midline, y = 0 at
the top of the head, y down), so one body model serves every view: a view only picks which
rectangle of the body lands on the image and at what pixel spacing. Every primitive works on
the small pixel window its bounding box covers, never on the whole image, which keeps a
1500 x 1216 phantom well under 100 ms.

Layers (float32, one value per pixel):
- ``soft``:  path length through soft tissue in mm; overlapping parts take the maximum,
  because two soft-tissue shapes that overlap in projection are one body, not two.
- ``bone``:  extra attenuation of bone over the soft tissue it replaces (mu * mm).
- ``air``:   attenuation *missing* because of air in the lungs / sinuses (mu * mm).
- ``metal``: attenuation of foreign objects (mu * mm).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

Point = tuple[float, float]


@dataclass(frozen=True)
class View:
    """Which body rectangle the image shows: top-left corner (mm) and pixel spacing (mm)."""

    name: str
    x0: float
    y0: float
    spacing: float
    width: int
    height: int

    def to_px(self, x: float, y: float) -> tuple[float, float]:
        """Body mm -> continuous image coordinates (0, 0 = top-left corner of pixel 0)."""
        return (x - self.x0) / self.spacing, (y - self.y0) / self.spacing

    def contains(self, x: float, y: float, margin_mm: float = 0.0) -> bool:
        px, py = self.to_px(x, y)
        m = margin_mm / self.spacing
        return m <= px <= self.width - m and m <= py <= self.height - m


@dataclass(frozen=True)
class Region:
    """A pixel window and the body coordinates of its pixel centres (broadcastable)."""

    rows: slice
    cols: slice
    X: np.ndarray  # shape (1, w), mm
    Y: np.ndarray  # shape (h, 1), mm


class Canvas:
    def __init__(self, view: View) -> None:
        self.view = view
        shape = (view.height, view.width)
        self.soft = np.zeros(shape, np.float32)
        self.bone = np.zeros(shape, np.float32)
        self.air = np.zeros(shape, np.float32)
        self.metal = np.zeros(shape, np.float32)

    # --- windows -----------------------------------------------------------------------
    def region(self, x_min: float, y_min: float, x_max: float, y_max: float) -> Region | None:
        v = self.view
        c0 = max(math.floor((x_min - v.x0) / v.spacing), 0)
        c1 = min(math.ceil((x_max - v.x0) / v.spacing), v.width)
        r0 = max(math.floor((y_min - v.y0) / v.spacing), 0)
        r1 = min(math.ceil((y_max - v.y0) / v.spacing), v.height)
        if c1 <= c0 or r1 <= r0:
            return None
        xs = (v.x0 + (np.arange(c0, c1, dtype=np.float32) + 0.5) * v.spacing)[None, :]
        ys = (v.y0 + (np.arange(r0, r1, dtype=np.float32) + 0.5) * v.spacing)[:, None]
        return Region(slice(r0, r1), slice(c0, c1), xs, ys)

    def draw(
        self,
        layer: str,
        bbox: tuple[float, float, float, float],
        fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
        *,
        union: bool = False,
    ) -> None:
        """Evaluate ``fn(X, Y)`` over the bbox window and add (or max-merge) it into a layer."""
        reg = self.region(*bbox)
        if reg is None:
            return
        target = getattr(self, layer)[reg.rows, reg.cols]
        values = np.broadcast_to(fn(reg.X, reg.Y), target.shape)
        if union:
            np.maximum(target, values, out=target)
        else:
            target += values

    # --- primitives (thickness in mm) ----------------------------------------------------
    def ellipsoid(
        self, layer: str, c: Point, r: tuple[float, float, float], k: float = 1.0, *, union=False
    ) -> None:
        """An ellipsoid (semi-axes rx, ry, rz); ``k`` = attenuation per mm (1 for soft mm)."""
        cx, cy = c
        rx, ry, rz = r
        self.draw(
            layer,
            (cx - rx, cy - ry, cx + rx, cy + ry),
            lambda X, Y: ellipsoid_thickness(X - cx, Y - cy, rx, ry, rz) * k,
            union=union,
        )

    def capsule(
        self,
        layer: str,
        p0: Point,
        p1: Point,
        r0: float,
        r1: float | None = None,
        k: float = 1.0,
        *,
        union: bool = False,
    ) -> None:
        """A (tapered) cylinder from p0 to p1 with round ends, seen from the side."""
        r1 = r0 if r1 is None else r1
        rmax = max(r0, r1)
        bbox = (
            min(p0[0], p1[0]) - rmax,
            min(p0[1], p1[1]) - rmax,
            max(p0[0], p1[0]) + rmax,
            max(p0[1], p1[1]) + rmax,
        )
        self.draw(
            layer, bbox, lambda X, Y: capsule_thickness(X, Y, p0, p1, r0, r1) * k, union=union
        )

    def bone_capsule(
        self, p0: Point, p1: Point, r_out: float, r_in: float, cortical: float, marrow: float
    ) -> None:
        """A long bone: dense cortical shell around a lighter medullary canal."""
        self.capsule("bone", p0, p1, r_out, k=cortical)
        self.capsule("bone", p0, p1, r_in, k=marrow - cortical)

    def tube(
        self,
        layer: str,
        points: Sequence[Point],
        radius: float,
        k: float = 1.0,
        *,
        shell: float | None = None,
        k_inner: float = 0.0,
        closed: bool = False,
    ) -> None:
        """A round tube along a polyline (ribs, clavicles, jaw, pelvic rings).

        Distance to the centreline comes from OpenCV's distance transform of the drawn line,
        which costs one pass over the window however many segments the curve has.
        ``shell``: inner radius of a cortical shell whose inside attenuates ``k_inner``.
        """
        pts = np.asarray(points, np.float64)
        reg = self.region(
            pts[:, 0].min() - radius - 1,
            pts[:, 1].min() - radius - 1,
            pts[:, 0].max() + radius + 1,
            pts[:, 1].max() + radius + 1,
        )
        if reg is None:
            return
        v = self.view
        h = reg.rows.stop - reg.rows.start
        w = reg.cols.stop - reg.cols.start
        shift = 4  # sub-pixel precision of the drawn centreline
        px = (pts[:, 0] - v.x0) / v.spacing - reg.cols.start - 0.5
        py = (pts[:, 1] - v.y0) / v.spacing - reg.rows.start - 0.5
        poly = np.round(np.stack([px, py], axis=1) * (1 << shift)).astype(np.int32)
        line = np.full((h, w), 255, np.uint8)
        cv2.polylines(line, [poly], closed, 0, 1, cv2.LINE_8, shift)
        d = cv2.distanceTransform(line, cv2.DIST_L2, cv2.DIST_MASK_PRECISE) * v.spacing
        # Without a line pixel in the window the transform is huge: clip before squaring.
        d2 = np.square(np.minimum(d, radius + 1.0))
        t = 2.0 * np.sqrt(np.maximum(radius * radius - d2, 0.0))
        if shell is None:
            val = t * k
        else:
            t_in = 2.0 * np.sqrt(np.maximum(shell * shell - d2, 0.0))
            val = (t - t_in) * k + t_in * k_inner
        getattr(self, layer)[reg.rows, reg.cols] += val.astype(np.float32)


def ellipsoid_thickness(
    dx: np.ndarray, dy: np.ndarray, rx: float, ry: float, rz: float
) -> np.ndarray:
    q = 1.0 - (dx / rx) ** 2 - (dy / ry) ** 2
    return 2.0 * rz * np.sqrt(np.maximum(q, 0.0))


def capsule_thickness(
    X: np.ndarray, Y: np.ndarray, p0: Point, p1: Point, r0: float, r1: float
) -> np.ndarray:
    ax, ay = p0
    bx, by = p1
    vx, vy = bx - ax, by - ay
    ll = vx * vx + vy * vy
    if ll == 0.0:
        t = np.zeros_like(X + Y)
    else:
        t = np.clip(((X - ax) * vx + (Y - ay) * vy) / ll, 0.0, 1.0)
    dx = X - (ax + t * vx)
    dy = Y - (ay + t * vy)
    r = r0 + (r1 - r0) * t
    return 2.0 * np.sqrt(np.maximum(r * r - dx * dx - dy * dy, 0.0))


def bezier(p0: Point, p1: Point, p2: Point, n: int = 16) -> list[Point]:
    """Points of a quadratic Bezier curve (rib and jaw outlines)."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    a, b, c = (np.asarray(p, np.float64) for p in (p0, p1, p2))
    pts = (1 - t) ** 2 * a + 2 * (1 - t) * t * b + t**2 * c
    return [(float(x), float(y)) for x, y in pts]
