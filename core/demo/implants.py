"""Surgical implants as analytic shapes (see objects.py for the conventions).

Screws, plates, hip and knee replacements, spinal rods and sternal wires, as they appear on
an AP radiograph: solid parts use chord lengths so they look round; a plate on the side of a
bone is seen edge-on, so the beam crosses its full width.
"""

from __future__ import annotations

import math

import numpy as np

from core.demo.objects import (
    COBALT_CHROME,
    STEEL,
    TITANIUM,
    Fn,
    Shape,
    chord,
    ellipse_wire,
    moved,
    rect,
    rod,
    union,
)


def screw_fn(length: float, r_core: float, r_thread: float, head_r: float, mu: float) -> Fn:
    """Bone screw along v, head at v = -length/2, tip at +length/2."""
    pitch = max(r_thread * 1.1, 1.0)

    def fn(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        tri = np.abs(((v / pitch) % 1.0) - 0.5) * 2.0
        r = r_core + (r_thread - r_core) * tri
        tip = np.clip((length / 2 - v) / (0.18 * length), 0.0, 1.0)
        shaft = chord(r * tip, u) * (v >= -length / 2) * (v <= length / 2)
        hv = v + length / 2 + head_r * 0.5
        head = chord(head_r, np.hypot(u, hv * 1.6)) * (v < -length / 2)
        socket = 1.0 - 0.45 * (np.abs(u) < head_r * 0.4)
        return (shaft + head * socket) * mu

    return fn


def bone_plate(length: float, holes: int, mu: float, screw_len: float, side: int) -> Shape:
    """A plate on the outer side of a long bone (seen edge-on) with screws across the bone.

    ``side`` = +1 when the plate is on the image right of the bone: screws point left.
    """
    depth, half_t = 14.0, 2.4
    pitch = length / holes

    def plate(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        body = rect(u, v, half_t, length / 2, 1.5) * depth
        phase = np.abs(((v + length / 2) % pitch) - pitch / 2)
        return (body - chord(2.6, phase) * 0.8 * rect(u, v, half_t, length / 2)) * mu

    parts: list[Fn] = [plate]
    screw = screw_fn(screw_len, 1.6, 2.25, 4.0, mu)
    for i in range(holes):
        v = -length / 2 + (i + 0.5) * pitch
        du = side * (-screw_len / 2 + 1.0)
        parts.append(moved(screw, du=du, dv=v, angle=side * math.pi / 2, radius=screw_len / 2 + 7))
    return Shape(union(parts), math.hypot(screw_len + 6, length / 2 + 2))


def hip_prosthesis(side: int) -> Shape:
    """Femoral stem, head and acetabular cup of a total hip replacement (head at origin)."""

    def fn(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        stem = rod(u, v, (side * 30.0, 40.0), (side * 42.0, 165.0), 7.0)
        stem = np.maximum(stem, rod(u, v, (side * 22.0, 18.0), (side * 34.0, 60.0), 9.5))
        neck = rod(u, v, (0.0, 0.0), (side * 26.0, 26.0), 6.0)
        head = chord(14.0, np.hypot(u, v))
        cup = chord(27.0, np.hypot(u, v)) - chord(24.0, np.hypot(u, v))
        cup = cup * (v < 4.0)
        return (stem + neck) * TITANIUM * 1.4 + head * COBALT_CHROME * 0.5 + cup * TITANIUM

    return Shape(fn, 175.0, detail=1.0)


def spinal_fixation(levels: int) -> Shape:
    """Pedicle screws and two rods over ``levels`` lumbar levels (AP view)."""
    span = 38.0 * levels

    def fn(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        total = np.zeros(np.broadcast(u, v).shape)
        for s in (-1, 1):
            total += rod(u, v, (s * 24.0, -span / 2 - 6), (s * 24.0, span / 2 + 6), 2.8) * STEEL
            for k in range(levels + 1):
                y = -span / 2 + k * 38.0
                total += chord(6.5, np.hypot((u - s * 25) / 1.2, y - v)) * STEEL * 0.6
                total += rod(u, v, (s * 22.0, y), (s * 6.0, y + 3), 3.0) * TITANIUM * 2
        return total

    return Shape(fn, span / 2 + 30, detail=0.8)


def knee_replacement() -> Shape:
    """Femoral component (curved shell) and tibial tray with its keel (AP view)."""

    def fn(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        fem = (chord(34.0, np.hypot(u / 1.25, v + 8)) - chord(29.0, np.hypot(u / 1.25, v + 8))) * (
            v > -14
        )
        tray = rect(u, v - 22, 36, 2.5, 1.0) * 50.0
        keel = rod(u, v, (0.0, 24.0), (0.0, 62.0), 6.0)
        return fem * COBALT_CHROME * 0.5 + (tray * 0.3 + keel) * TITANIUM

    return Shape(fn, 75.0, detail=1.0)


def sternal_wires(n: int, spacing: float) -> Shape:
    def fn(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        total = np.zeros(np.broadcast(u, v).shape)
        for k in range(n):
            y = (k - (n - 1) / 2) * spacing
            total += ellipse_wire(u, v - y, 16.0, 4.5, 0.6) * STEEL
            total += chord(2.2, np.hypot(u - 17.0, v - y)) * STEEL  # twisted knot
        return total

    return Shape(fn, (n / 2) * spacing + 22)
