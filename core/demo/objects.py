"""Foreign objects as analytic shapes: ``shape(u, v) -> attenuation`` (mu * mm).

Each shape lives in its own millimetre frame (u right, v down, origin at the object's
centre) and returns, per point, the attenuation of the X-ray path through it: the metal's
linear attenuation coefficient times the path length. Solid 3D parts (screw shafts, balls,
wire) use their chord length, so they look round on the image as they do on a radiograph;
flat parts (key, buckle) have a constant thickness. The anomalies module places, rotates
and rasterises them with supersampling.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Fn = Callable[[np.ndarray, np.ndarray], np.ndarray]

# Linear attenuation coefficients per mm at ~60 keV (NIST XCOM, rounded).
STEEL = 0.95
TITANIUM = 0.20
COBALT_CHROME = 2.0
BRASS = 1.30
ZINC_ALLOY = 1.05
SILVER = 2.6
GOLD = 6.0
PLASTIC = 0.006  # excess over the soft tissue it displaces
PACKED_POWDER = 0.022


@dataclass(frozen=True)
class Shape:
    fn: Fn
    radius: float  # mm; the shape is zero outside this distance from its origin
    detail: float = 0.3  # mm; finest feature, sets how finely it is supersampled
    extent: tuple[float, float] | None = None  # half-size along (u, v) when tighter than radius

    def half_size(self, angle: float) -> tuple[float, float]:
        """Half width and height of the axis-aligned box around the shape rotated by angle."""
        if self.extent is None:
            return self.radius, self.radius
        hu, hv = self.extent
        c, s = abs(math.cos(angle)), abs(math.sin(angle))
        return c * hu + s * hv, s * hu + c * hv


# --- building blocks (thickness in mm) ----------------------------------------------------
def chord(r: float | np.ndarray, d: np.ndarray) -> np.ndarray:
    """Path length through a cylinder/sphere of radius r at distance d from its axis/centre."""
    return 2.0 * np.sqrt(np.maximum(r * r - d * d, 0.0))


def rect(u: np.ndarray, v: np.ndarray, hw: float, hh: float, corner: float = 0.0) -> np.ndarray:
    """Rounded rectangle (half-width, half-height) as a boolean mask."""
    qx = np.maximum(np.abs(u) - (hw - corner), 0.0)
    qy = np.maximum(np.abs(v) - (hh - corner), 0.0)
    inside = (np.abs(u) <= hw) & (np.abs(v) <= hh)
    return inside & (qx * qx + qy * qy <= corner * corner)


def disk(u: np.ndarray, v: np.ndarray, r: float) -> np.ndarray:
    return u * u + v * v <= r * r


def rod(
    u: np.ndarray, v: np.ndarray, p0: tuple[float, float], p1: tuple[float, float], r: float
) -> np.ndarray:
    """Round rod (capsule) between two points, seen from the side."""
    ax, ay = p0
    vx, vy = p1[0] - ax, p1[1] - ay
    ll = vx * vx + vy * vy or 1.0
    t = np.clip(((u - ax) * vx + (v - ay) * vy) / ll, 0.0, 1.0)
    return chord(r, np.hypot(u - ax - t * vx, v - ay - t * vy))


def ellipse_wire(u: np.ndarray, v: np.ndarray, a: float, b: float, r: float) -> np.ndarray:
    """A round wire bent into an ellipse (semi-axes a, b) lying in the image plane."""
    rho = np.sqrt((u / a) ** 2 + (v / b) ** 2) + 1e-9
    grad = np.sqrt((u / (a * a)) ** 2 + (v / (b * b)) ** 2) / rho + 1e-9
    return chord(r, (rho - 1.0) / grad)


def band(u: np.ndarray, v: np.ndarray, radius: float, half_width: float, wall: float) -> np.ndarray:
    """A ring around a limb seen edge-on (watch strap, finger ring, cuff): dense at its sides."""
    outer = chord(radius, u)
    inner = chord(max(radius - wall, 0.0), u)
    return (outer - inner) * (np.abs(v) <= half_width)


def moved(
    fn: Fn, du: float = 0.0, dv: float = 0.0, angle: float = 0.0, radius: float | None = None
) -> Fn:
    """The same shape translated by (du, dv) and rotated by ``angle`` (radians).

    ``radius``: the part is zero farther than this from its origin; it is then evaluated
    only on the points within reach (a key of a bunch covers a fraction of the bunch's area).
    """
    c, s = math.cos(angle), math.sin(angle)

    def out(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        x, y = np.broadcast_arrays(u - du, v - dv)
        if radius is None:
            return fn(c * x + s * y, -s * x + c * y)
        near = x * x + y * y <= radius * radius
        result = np.zeros(x.shape, np.float32)
        xn, yn = x[near], y[near]
        result[near] = fn(c * xn + s * yn, -s * xn + c * yn)
        return result

    return out


def union(fns: Sequence[Fn]) -> Fn:
    def out(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        total = fns[0](u, v)
        for f in fns[1:]:
            total = total + f(u, v)
        return total

    return out


# --- personal effects ---------------------------------------------------------------------
def key(rng: np.random.Generator) -> Fn:
    """A flat brass key: round bow with a hole, shoulder, blade with bitting and a groove."""
    cuts = rng.uniform(0.5, 3.2, 6)
    blade_len = float(rng.uniform(30.0, 40.0))

    def fn(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        bow = disk(u, v + 14.0, 12.0) & ~disk(u, v + 19.0, 3.2)
        shoulder = rect(u, v + 1.0, 6.0, 2.5)
        seg = np.clip(((v - 2.0) / blade_len * 6).astype(int), 0, 5)
        edge = 4.0 - cuts[seg] * np.abs(((v - 2.0) / blade_len * 6) % 1.0 - 0.5) * 2.0
        tip = np.clip((blade_len + 2.0 - v) / 6.0, 0.0, 1.0) * 4.0
        blade = (v >= 0.0) & (v <= blade_len + 2.0) & (u >= -4.0) & (u <= np.minimum(edge, tip))
        groove = 1.0 - 0.35 * (blade & (np.abs(u + 1.0) < 0.9))
        return (bow | shoulder | blade) * 2.0 * groove * BRASS

    return fn


def key_bunch(rng: np.random.Generator) -> Shape:
    n = int(rng.integers(1, 4))
    parts: list[Fn] = [moved(lambda u, v: ellipse_wire(u, v, 13.0, 13.0, 0.8) * STEEL, radius=15.0)]
    for i in range(n):
        ang = (i - (n - 1) / 2) * 0.55 + float(rng.normal(0.0, 0.1))
        # Each key hangs from the ring through the hole in its bow (19 mm above the key's
        # origin); re-centred on its middle (9 mm down the blade) so culling is tight.
        k = moved(key(rng), dv=-9.0, radius=40.0)
        dv = 13.0 + 19.0 + 9.0
        parts.append(moved(k, du=-math.sin(ang) * dv, dv=math.cos(ang) * dv, angle=ang))
    return Shape(union(parts), 80.0)


def zipper_chain(length: float) -> Shape:
    pitch = 3.1

    def fn(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        inside = np.abs(v) <= length / 2
        left = (u >= -3.3) & (u <= 0.6) & (((v / pitch) % 1.0) < 0.55)
        right = (u >= -0.6) & (u <= 3.3) & ((((v / pitch) + 0.5) % 1.0) < 0.55)
        stop = rect(u, v - length / 2 - 2.0, 3.5, 1.5)
        return ((left | right) & inside) * 1.3 * BRASS + stop * 2.0 * BRASS

    return Shape(fn, length / 2 + 5, extent=(4.0, length / 2 + 4.0))


def zipper_head() -> Shape:
    """Slider at the top of the chain with its pull tab folded down over the teeth."""

    def fn(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        width = 5.5 - 1.8 * np.clip((v + 7.0) / 14.0, 0.0, 1.0)
        slider = (np.abs(v) <= 7.0) & (np.abs(u) <= width)
        tab = rect(u, v - 12.0, 3.6, 10.0, 2.5) & ~rect(u, v - 17.0, 1.3, 3.2, 1.0)
        return slider * 3.2 * ZINC_ALLOY + tab * 1.2 * ZINC_ALLOY

    return Shape(fn, 25.0)


def shirt_button(rng: np.random.Generator) -> Shape:
    r = float(rng.uniform(4.5, 6.0))
    snap = bool(rng.random() < 0.5)

    def fn(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        rho = np.hypot(u, v)
        if snap:  # pearl-snap: metal ring with a stud
            return (chord(0.9, rho - r * 0.8) * 1.2 + chord(2.0, rho)) * STEEL
        solid = disk(u, v, r)
        for dx, dy in ((1.6, 1.6), (-1.6, 1.6), (1.6, -1.6), (-1.6, -1.6)):
            solid = solid & ~disk(u - dx, v - dy, 0.8)  # four thread holes
        return solid * (1.0 + 0.6 * (rho > r - 1.0)) * BRASS

    return Shape(fn, 8.0)


def pants_button() -> Shape:
    """Jeans tack button: domed cap, rolled rim and the tack through the fabric."""

    def fn(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        rho = np.hypot(u, v)
        cap = disk(u, v, 8.5) * 0.9 + chord(0.8, rho - 7.9) * 1.5
        return (cap + chord(2.6, rho) * 1.2) * ZINC_ALLOY

    return Shape(fn, 10.0)


def belt_buckle(rng: np.random.Generator) -> Shape:
    hw, hh = float(rng.uniform(26.0, 34.0)), float(rng.uniform(18.0, 24.0))
    plate = bool(rng.random() < 0.35)

    def fn(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        if plate:  # a solid plate buckle with an embossed rim
            body = rect(u, v, hw, hh, 6.0) * 1.6
            rim = (rect(u, v, hw, hh, 6.0) & ~rect(u, v, hw - 4, hh - 4, 3.0)) * 1.2
            hook = rect(u + hw - 6.0, v, 2.0, 6.0) * 3.0
            return (body + rim + hook) * ZINC_ALLOY
        frame = rect(u, v, hw, hh, 5.0) & ~rect(u, v, hw - 5.0, hh - 5.0, 2.0)
        bar = rect(u + hw * 0.35, v, 2.0, hh - 2.0)
        prong = rod(u, v, (-hw * 0.35, 0.0), (hw - 2.0, 0.0), 1.6)
        return (frame | bar) * 3.0 * ZINC_ALLOY + prong * STEEL

    return Shape(fn, math.hypot(hw, hh) + 2)


def watch(rng: np.random.Generator, wrist_r: float) -> Shape:
    """Wristwatch on the back of the wrist, face-on; u runs across the forearm, v along it.

    A metal bracelet wraps around the wrist, so on the image it is a band across the forearm
    that gets denser towards the wrist's edges, where the beam runs along it.
    """
    r = float(rng.uniform(16.0, 21.0))
    bracelet = bool(rng.random() < 0.6)

    def fn(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        rho = np.hypot(u, v)
        face = disk(u, v, r)
        case = (face & (rho > r - 3.0)) * 7.0 + face * 1.2
        gears = np.sin(u * 1.3) * np.cos(v * 1.1) > 0.3
        movement = disk(u, v, r - 3.0) * (1.2 + 0.8 * gears)
        battery = chord(5.5, np.hypot(u - r * 0.35, v + r * 0.2)) * 0.25
        crown = rect(u, v - r - 1.5, 2.0, 1.8) * 4.0
        lugs = sum(
            rect(u - dx, v - dy, 3.5, 2.0) * 4.0
            for dx in (-r - 2, r + 2)
            for dy in (-r * 0.6, r * 0.6)
        )
        total = (case + movement + crown + lugs + battery) * STEEL
        if bracelet:
            links = band(u, v, wrist_r, r * 0.55, 2.5)
            links = links * ((np.abs(u) > r) & (((u / 7.0) % 1.0) < 0.82))
            total = total + links * STEEL
        else:  # leather strap: only its buckle on the palm side shows, behind the case
            frame = rect(u, v, 10.0, 8.0, 1.0) & ~rect(u, v, 8.0, 6.0, 1.0)
            total = total + frame * 2.0 * STEEL
        return total

    return Shape(fn, max(wrist_r, r) + 8)


def glasses(rng: np.random.Generator) -> Shape:
    a, b = float(rng.uniform(22.0, 27.0)), float(rng.uniform(16.0, 21.0))
    glass_lenses = bool(rng.random() < 0.4)

    def fn(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        total = np.zeros(np.broadcast(u, v).shape)
        for s in (-1, 1):
            cu = s * (a + 8.0)
            total += ellipse_wire(u - cu, v, a, b, 0.9) * STEEL
            if glass_lenses:
                total += (((u - cu) / a) ** 2 + (v / b) ** 2 < 1.0) * 2.5 * 0.06
            total += chord(2.6, np.hypot(u - s * 9.0, v - 6.0)) * 0.5 * STEEL  # nose pads
            # Temples run back along the beam: a short, very dense stub at each hinge.
            total += rect(u - s * (2 * a + 9.5), v + 3.0, 2.0, 2.5, 0.8) * 20.0 * STEEL
        total += rod(u, v, (-8.0, -b * 0.55), (8.0, -b * 0.55), 1.0) * STEEL
        return total

    return Shape(fn, 2 * a + 14)


def piercing(rng: np.random.Generator) -> Shape:
    kind = int(rng.integers(0, 3))
    mu = float(rng.choice([STEEL, TITANIUM * 3, GOLD * 0.5]))

    def fn(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        if kind == 0:  # hoop
            return ellipse_wire(u, v, 5.0, 5.0, 0.7) * mu
        if kind == 1:  # stud with its butterfly back
            return (chord(2.2, np.hypot(u, v)) + rect(u, v, 3.0, 1.0) * 1.0) * mu
        # barbell (navel / eyebrow)
        return (
            chord(2.5, np.hypot(u, v + 6.0))
            + chord(3.5, np.hypot(u, v - 7.0))
            + rod(u, v, (0.0, -6.0), (0.0, 7.0), 0.8)
        ) * mu

    return Shape(fn, 12.0)


def necklace(half_width: float, drop: float, pendant: bool) -> Shape:
    """A chain hanging as a parabola from both sides of the neck, with an optional pendant."""
    c = drop / (half_width * half_width)
    mid = (drop + 16.0) / 2  # origin at the middle of the chain and pendant

    def fn(u: np.ndarray, v0: np.ndarray) -> np.ndarray:
        v = v0 + mid
        yc = drop - c * u * u  # v grows downwards: lowest point at u = 0
        d = (v - yc) / np.sqrt(1.0 + (2.0 * c * u) ** 2)
        links = 0.6 + 0.4 * np.cos(u * 2.2)
        chain = chord(0.8, d) * links * (np.abs(u) <= half_width)
        total = chain * SILVER
        if pendant:
            total = total + chord(7.0, np.hypot(u, (v - drop - 9.0))) * 0.25 * SILVER
        return total

    return Shape(fn, math.hypot(half_width, mid) + 4)


def finger_ring(finger_r: float) -> Shape:
    return Shape(lambda u, v: band(u, v, finger_r + 1.5, 2.5, 1.6) * GOLD, finger_r + 5)


def bracelet(wrist_r: float) -> Shape:
    def fn(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        links = 0.5 + 0.5 * (((u / 4.0) % 1.0) < 0.7)
        return band(u, v, wrist_r + 2.0, 3.5, 1.5) * links * SILVER

    return Shape(fn, wrist_r + 6)


def bra_underwire(gap: float, rng: np.random.Generator) -> Shape:
    a, b = float(rng.uniform(50.0, 62.0)), float(rng.uniform(38.0, 48.0))

    def fn(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        total = np.zeros(np.broadcast(u, v).shape)
        for s in (-1, 1):
            cu = s * (gap / 2 + a)
            total += ellipse_wire(u - cu, v, a, b, 0.9) * (v > -b * 0.15) * STEEL
        # hook-and-eye closure at the back projects onto the midline
        for dy in (-5.0, 0.0, 5.0):
            total += rod(u, v + b * 0.7, (-9.0, dy), (9.0, dy), 0.7) * STEEL
        return total

    return Shape(fn, gap / 2 + 2 * a + 4)


def ankle_monitor(leg_r: float, side: int, rng: np.random.Generator) -> Shape:
    """Tracker housing on the outer side of the ankle and the strap around it."""
    dots = rng.uniform(-1.0, 1.0, (12, 2))

    def fn(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        hu = u - side * (leg_r + 10.0)
        housing = rect(hu, v, 13.0, 26.0, 4.0) * 55.0 * PLASTIC * 3.0
        battery = rect(hu, v - 4.0, 5.0, 15.0, 1.5) * 30.0 * 0.25
        comps = sum(chord(1.2, np.hypot(hu - 8 * dx, v + 12 + 6 * dy)) for dx, dy in dots) * STEEL
        strap = band(u, v, leg_r + 2.0, 8.0, 1.2) * 0.2 + band(u, v, leg_r + 1.5, 1.0, 0.6) * STEEL
        return housing + battery + comps + strap

    return Shape(fn, leg_r + 45)


def fragment(rng: np.random.Generator) -> Shape:
    """An irregular metal fragment (shrapnel, a broken tool tip): star-shaped outline."""
    r0 = float(rng.uniform(3.0, 11.0))
    harmonics = rng.normal(0.0, 0.18, (4, 2))
    thick = float(rng.uniform(1.5, 5.0))
    mu = float(rng.choice([STEEL, 1.8, 3.0]))

    def fn(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        th = np.arctan2(v, u)
        r = np.full_like(th, r0)
        for k, (a, b) in enumerate(harmonics, start=2):
            r = r + r0 * (a * np.cos(k * th) + b * np.sin(k * th))
        rho = np.hypot(u, v)
        return (rho <= r) * thick * (1.0 - 0.4 * (rho / np.maximum(r, 1e-6)) ** 2) * mu

    return Shape(fn, r0 * 2.2)


def drug_packets(rng: np.random.Generator) -> Shape:
    """Swallowed packets (body packing): a cluster of dense, smooth ovals in the bowel."""
    n = int(rng.integers(4, 10))
    centres = rng.uniform(-45.0, 45.0, (n, 2))
    angles = rng.uniform(0.0, math.pi, n)

    def fn(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        total = np.zeros(np.broadcast(u, v).shape)
        for (cx, cy), ang in zip(centres, angles, strict=True):
            c, s = math.cos(ang), math.sin(ang)
            x, y = u - cx, v - cy
            pu, pv = c * x + s * y, -s * x + c * y
            t = chord(1.0, np.hypot(pu / 9.0, pv / 20.0)) * 9.0
            total += t * PACKED_POWDER
        return total

    return Shape(fn, 75.0, detail=3.0)
