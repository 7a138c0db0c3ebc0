"""Placing foreign objects on the body and measuring their ground-truth boxes.

Each anomaly class knows where it is worn (a watch on a wrist, a zipper on the fly, an
implant on a bone). When that part of the body is outside the view, the object goes to a
random place on the body instead, as in real scans where a key may sit in any pocket.
Objects are rasterised with supersampling (partial-volume edges like a real detector), and
the box is the tight hull of the pixels the object covers, in continuous image coordinates.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from core.annotations import Box
from core.demo import implants as im
from core.demo import objects as ob
from core.demo.anatomy import Body
from core.demo.canvas import Canvas, Point

PxBox = tuple[float, float, float, float]

# Coverage of a pixel by an object above which the pixel belongs to its box.
_COVERAGE = 0.25
# Mean attenuation (mu * mm) of a pixel above which a sub-pixel object is visible in it.
_VISIBLE = 0.08


@dataclass
class Placer:
    canvas: Canvas
    body: Body
    rng: np.random.Generator

    # --- geometry ------------------------------------------------------------------------
    def fits(self, c: Point, radius: float, core: float = 0.5) -> bool:
        """Inside the view, and the object's core does not sit on metal already placed.

        Boxes may overlap (shirt buttons inside a bra's box, a key ring over a zipper), as
        they do in real annotations; metal on metal would only make an unreadable blob.
        """
        v = self.canvas.view
        if not v.contains(c[0], c[1], margin_mm=radius * 0.75 + 2 * v.spacing):
            return False
        r = radius * core  # open shapes (a bra, a necklace) have an empty middle: small core
        reg = self.canvas.region(c[0] - r, c[1] - r, c[0] + r, c[1] + r)
        return reg is None or float(self.canvas.metal[reg.rows, reg.cols].max(initial=0.0)) < 0.05

    def body_point(self, radius: float, min_soft: float = 60.0) -> Point:
        """A random point on the body where the object fits (``min_soft``: tissue mm there)."""
        canvas, v = self.canvas, self.canvas.view
        step = max(1, min(v.width, v.height) // 64)
        thick = canvas.soft[::step, ::step]
        rows, cols = np.nonzero(thick > min_soft)
        if rows.size == 0:
            rows, cols = np.nonzero(thick > 20.0)
        if rows.size == 0:  # no body in view (extreme crops): anywhere in the image
            rows, cols = np.nonzero(np.ones_like(thick, dtype=bool))
        c = (0.0, 0.0)
        for _ in range(40):
            i = int(self.rng.integers(rows.size))
            c = (
                v.x0 + (cols[i] * step + 0.5) * v.spacing,
                v.y0 + (rows[i] * step + 0.5) * v.spacing,
            )
            if self.fits(c, radius):
                return c
        return c

    def choose(
        self, anchors: Sequence[Point], radius: float, jitter: float = 8.0, min_soft: float = 60.0
    ) -> Point:
        """First anchor (shuffled, jittered) where the object fits; else a body point."""
        order: list[int] = [int(i) for i in self.rng.permutation(len(anchors))]
        for i in order:
            ax, ay = anchors[int(i)]
            c = (ax + float(self.rng.normal(0, jitter)), ay + float(self.rng.normal(0, jitter)))
            if self.fits(c, radius):
                return c
        return self.body_point(radius, min_soft)

    def lm(self, *names: str) -> list[Point]:
        return [self.body.landmarks[n] for n in names if n in self.body.landmarks]

    # --- rasterising ---------------------------------------------------------------------
    def stamp(self, shape: ob.Shape, c: Point, angle: float = 0.0) -> PxBox | None:
        """Draw a shape into the metal layer; return its pixel-hull box (or None if unseen)."""
        canvas, v = self.canvas, self.canvas.view
        hx, hy = shape.half_size(angle)
        reg = canvas.region(c[0] - hx, c[1] - hy, c[0] + hx, c[1] + hy)
        if reg is None:
            return None
        ss = int(np.clip(math.ceil(v.spacing / shape.detail), 1, 5))
        r0, c0 = reg.rows.start, reg.cols.start
        h, w = reg.rows.stop - r0, reg.cols.stop - c0
        xs = (
            v.x0
            + (np.arange(c0 * ss, (c0 + w) * ss, dtype=np.float32) + 0.5) / ss * v.spacing
            - c[0]
        )
        ys = (
            v.y0
            + (np.arange(r0 * ss, (r0 + h) * ss, dtype=np.float32) + 0.5) / ss * v.spacing
            - c[1]
        )
        X, Y = xs[None, :], ys[:, None]
        co, si = np.float32(math.cos(angle)), np.float32(math.sin(angle))
        U = co * X + si * Y
        V = -si * X + co * Y
        att = np.broadcast_to(shape.fn(U, V), (h * ss, w * ss)).astype(np.float32)
        blocks = att.reshape(h, ss, w, ss)
        mean_att = blocks.mean(axis=(1, 3))
        canvas.metal[reg.rows, reg.cols] += mean_att
        # A pixel is the object's when the object covers enough of it, or, for a wire much
        # thinner than a pixel, when it still darkens the beam visibly.
        cover = ((blocks > 1e-4).mean(axis=(1, 3)) >= _COVERAGE) | (mean_att >= _VISIBLE)
        rows = np.flatnonzero(cover.any(axis=1))
        cols = np.flatnonzero(cover.any(axis=0))
        if rows.size == 0:
            return None
        box = (
            float(c0 + cols[0]),
            float(r0 + rows[0]),
            float(c0 + cols[-1] + 1),
            float(r0 + rows[-1] + 1),
        )
        return box

    def box(self, label: str, px: PxBox | None) -> list[Box]:
        if px is None:
            return []
        v = self.canvas.view
        truncated = px[0] <= 0 or px[1] <= 0 or px[2] >= v.width or px[3] >= v.height
        return [Box(*px, label=label, truncated=truncated)]


def _hull(*boxes: PxBox | None) -> PxBox | None:
    real = [b for b in boxes if b is not None]
    if not real:
        return None
    return (
        min(b[0] for b in real),
        min(b[1] for b in real),
        max(b[2] for b in real),
        max(b[3] for b in real),
    )


def _forearm(p: Placer, side: int) -> tuple[Point, float]:
    e, w = p.body.landmarks[f"elbow{side}"], p.body.landmarks[f"wrist{side}"]
    ang = math.atan2(w[1] - e[1], w[0] - e[0]) - math.pi / 2  # v of the object along the arm
    t = 0.88
    return (e[0] + (w[0] - e[0]) * t, e[1] + (w[1] - e[1]) * t), ang


# --- one function per class ---------------------------------------------------------------
def _implant(p: Placer) -> list[Box]:
    b, rng = p.body, p.rng
    options: list[Callable[[], PxBox | None]] = []
    for side in (-1, 1):
        femur = b.landmarks[f"femur{side}"]
        if p.fits(femur, 90):
            length = float(rng.uniform(110, 170))
            shape = im.bone_plate(length, int(length // 16), ob.STEEL, 30.0, side)
            ang = side * 0.095  # along the femoral shaft, which leans in towards the knee
            c = (femur[0] + side * 16 * b.scale, femur[1])
            options.append(partial(p.stamp, shape, c, ang))
        hip = b.landmarks[f"hip{side}"]
        if p.fits((hip[0], hip[1] + 80), 120):
            options.append(partial(p.stamp, im.hip_prosthesis(side), hip, -side * 0.05))
        knee = b.landmarks[f"knee{side}"]
        if p.fits(knee, 70):
            options.append(partial(p.stamp, im.knee_replacement(), (knee[0], knee[1] + 8), 0.0))
    if p.fits(b.landmarks["lumbar"], 80):
        lv = int(rng.integers(1, 4))
        options.append(lambda: p.stamp(im.spinal_fixation(lv), b.landmarks["lumbar"], 0.0))
    if p.fits(b.landmarks["sternum"], 80):
        n = int(rng.integers(4, 7))
        options.append(lambda: p.stamp(im.sternal_wires(n, 26.0), b.landmarks["sternum"], 0.0))
    if options:
        return p.box("surgical implant", options[int(rng.integers(len(options)))]())
    shape = ob.Shape(im.screw_fn(float(rng.uniform(25, 60)), 1.8, 2.6, 4.2, ob.STEEL), 36.0)
    return p.box(
        "surgical implant", p.stamp(shape, p.body_point(36), float(rng.uniform(0, math.pi)))
    )


def _key(p: Placer) -> list[Box]:
    shape = ob.key_bunch(p.rng)
    c = p.choose(p.lm("pocket-1", "pocket1"), 50.0, jitter=15.0)
    return p.box("key", p.stamp(shape, c, float(p.rng.uniform(-1.2, 1.2))))


def _zipper(p: Placer, with_chain: bool = True) -> list[Box]:
    """A trouser fly or a jacket zipper, closed: slider at the top, chain below."""
    b, rng = p.body, p.rng
    x = b.landmarks["fly"][0] + float(rng.normal(0, 4))
    fly_top = b.landmarks["waist"][1] + 32 * b.scale  # below the waistband (buckle, button)
    jacket_top = b.landmarks["neck"][1] + 30
    jacket_len = b.landmarks["waist"][1] - 20 - jacket_top
    options = [
        (x, fly_top, float(rng.uniform(100, 130)) * b.scale),
        (x, jacket_top, float(rng.uniform(0.6, 1.0)) * jacket_len),
    ]
    if rng.random() < 0.4:
        options.reverse()
    # Neither in view (or taken): a shorter zipper (a pocket, a bag) somewhere on the body.
    short = float(rng.uniform(50, 90)) * b.scale
    bx, by = p.body_point(short / 2)
    options.append((bx, by - short / 2, short))
    for x0, top, length in options:
        c = (x0, top + length / 2)
        v = p.canvas.view
        ends_in = v.contains(x0, top - 18, 4 * v.spacing) and v.contains(
            x0, top + length + 4, 4 * v.spacing
        )
        if ends_in and p.fits(c, 12.0):
            break
    ang = float(rng.normal(0, 0.03))
    head_c = (c[0] - math.sin(ang) * (length / 2 + 4), c[1] - math.cos(ang) * (length / 2 + 4))
    if not with_chain:
        return p.box("zipper head", p.stamp(ob.zipper_head(), head_c, ang))
    chain = p.stamp(ob.zipper_chain(length), c, ang)
    head = p.stamp(ob.zipper_head(), head_c, ang)
    return p.box("zipper", _hull(chain, head)) + p.box("zipper head", head)


def _shirt_buttons(p: Placer) -> list[Box]:
    b, rng = p.body, p.rng
    x = b.landmarks["sternum"][0] + float(rng.normal(0, 3))
    y0, y1 = b.landmarks["neck"][1] + 40, b.landmarks["navel"][1] + 40
    n_max = int((y1 - y0) // 85) + 1
    shape = ob.shirt_button(rng)
    boxes: list[Box] = []
    for k in range(n_max):
        c = (x + float(rng.normal(0, 1.5)), y0 + k * 85.0 * b.scale)
        if p.fits(c, 8.0):
            boxes += p.box("shirt button", p.stamp(shape, c, float(rng.uniform(0, 6.3))))
    if not boxes:
        boxes = p.box("shirt button", p.stamp(shape, p.body_point(8.0), 0.0))
    return boxes


def _simple(
    label: str, make: Callable[[Placer], ob.Shape], anchors: Sequence[str], jitter: float = 5.0
) -> Callable[[Placer], list[Box]]:
    def place(p: Placer) -> list[Box]:
        shape = make(p)
        c = p.choose(p.lm(*anchors), shape.radius, jitter)
        return p.box(label, p.stamp(shape, c, float(p.rng.normal(0, 0.08))))

    return place


def _watch(p: Placer) -> list[Box]:
    sides = [s for s in (1, -1) if p.fits(_forearm(p, s)[0], 40)]
    wrist_r = 27.0 * p.body.scale * p.body.build
    shape = ob.watch(p.rng, wrist_r)
    if sides:
        c, ang = _forearm(p, sides[0] if p.rng.random() < 0.75 else sides[-1])
    else:
        c, ang = p.body_point(shape.radius), float(p.rng.uniform(0, math.pi))
    return p.box("watch", p.stamp(shape, c, ang))


def _jewelry(p: Placer) -> list[Box]:
    b, rng = p.body, p.rng
    neck = b.landmarks["neck"]
    if p.fits((neck[0], neck[1] + 10), 60, core=0.1) and rng.random() < 0.85:
        drop = float(rng.uniform(40, 90))
        shape = ob.necklace(45.0 * b.scale * b.build, drop, bool(rng.random() < 0.7))
        return p.box("jewelry", p.stamp(shape, (neck[0], neck[1] - 40 + (drop + 16) / 2), 0.0))
    for side in (1, -1):
        finger = b.landmarks.get(f"finger{side}")
        if finger and p.fits(finger, 12) and rng.random() < 0.6:
            return p.box("jewelry", p.stamp(ob.finger_ring(6.5), finger, 0.0))
        fc, ang = _forearm(p, side)
        if p.fits(fc, 40):
            c = (
                (fc[0] + b.landmarks[f"wrist{side}"][0]) / 2,
                (fc[1] + b.landmarks[f"wrist{side}"][1]) / 2,
            )
            return p.box("jewelry", p.stamp(ob.bracelet(27.0 * b.scale * b.build), c, ang))
    shape = ob.necklace(35.0, 30.0, True)
    return p.box("jewelry", p.stamp(shape, p.body_point(shape.radius), float(rng.uniform(0, 6.3))))


def _bra(p: Placer) -> list[Box]:
    b = p.body
    left, right = b.landmarks["breast-1"], b.landmarks["breast1"]
    c = ((left[0] + right[0]) / 2, left[1] + 10 * b.scale)
    shape = ob.bra_underwire(22.0 * b.build, p.rng)
    if not p.fits(c, shape.radius * 0.8, core=0.05):
        c = p.body_point(shape.radius)
    return p.box("bra", p.stamp(shape, c, float(p.rng.normal(0, 0.02))))


def _ankle_monitor(p: Placer) -> list[Box]:
    b = p.body
    side = 1 if p.rng.random() < 0.5 else -1
    ankle = b.landmarks[f"ankle{side}"]
    c = (ankle[0], ankle[1] - 40 * b.scale)
    shape = ob.ankle_monitor(40.0 * b.scale * b.build, side, p.rng)
    if not p.fits(c, shape.radius * 0.9):
        c = p.body_point(shape.radius)
    return p.box("ankle monitor", p.stamp(shape, c, 0.0))


def _cuffs(p: Placer) -> list[Box]:
    def fn(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        rings = ob.ellipse_wire(u + 42, v, 30, 26, 3.0) + ob.ellipse_wire(u - 42, v, 30, 26, 3.0)
        chain = ob.chord(1.5, np.hypot((u % 6.0) - 3.0, v)) * (np.abs(u) < 12.5)
        return (rings + chain) * ob.STEEL

    shape = ob.Shape(fn, 80.0)
    c = p.choose(p.lm("pocket-1", "pocket1", "abdomen"), shape.radius, 15.0)
    return p.box("cuffs", p.stamp(shape, c, float(p.rng.uniform(-0.6, 0.6))))


def _drugs(p: Placer) -> list[Box]:
    shape = ob.drug_packets(p.rng)
    ax, ay = p.body.landmarks["abdomen"]
    anchors = [(ax + dx, ay + dy) for dx in (-60.0, 0.0, 60.0) for dy in (0.0, 60.0)]
    c = p.choose(anchors, shape.radius, jitter=10.0, min_soft=180.0)  # else: on the trunk
    return p.box("drugs", p.stamp(shape, c, 0.0))


# Order of placement: big and anatomy-bound objects first, small ones fill in around them.
PLACERS: dict[str, Callable[[Placer], list[Box]]] = {
    "surgical implant": _implant,
    "drugs": _drugs,
    "bra": _bra,
    "jewelry": _jewelry,
    "glasses": _simple("glasses", lambda p: ob.glasses(p.rng), ["eyes"], 2.0),
    "watch": _watch,
    "belt buckle": _simple("belt buckle", lambda p: ob.belt_buckle(p.rng), ["waist"], 3.0),
    "pants button": _simple("pants button", lambda p: ob.pants_button(), ["waist"], 3.0),
    "zipper": _zipper,
    "zipper head": lambda p: _zipper(p, with_chain=False),
    "ankle monitor": _ankle_monitor,
    "cuffs": _cuffs,
    "key": _key,
    "shirt button": _shirt_buttons,
    "piercing": _simple(
        "piercing", lambda p: ob.piercing(p.rng), ["ear-1", "ear1", "navel", "nose"], 2.0
    ),
    "unknown anomaly": lambda p: p.box(
        "unknown anomaly",
        p.stamp(s := ob.fragment(p.rng), p.body_point(s.radius), float(p.rng.uniform(0, 6.3))),
    ),
}

# Where each class is typically worn: used to pick plausible classes for a view.
ANCHORS: dict[str, tuple[str, ...]] = {
    "glasses": ("eyes",),
    "piercing": ("ear1", "navel"),
    "jewelry": ("neck", "wrist1"),
    "shirt button": ("sternum",),
    "zipper": ("fly", "sternum"),
    "zipper head": ("fly",),
    "belt buckle": ("waist",),
    "pants button": ("waist",),
    "key": ("pocket1", "pocket-1"),
    "watch": ("wrist1", "wrist-1"),
    "surgical implant": ("femur1", "hip-1", "lumbar", "knee1", "sternum"),
    "bra": ("breast1",),
    "ankle monitor": ("ankle1", "ankle-1"),
    "cuffs": ("pocket1",),
    "unknown anomaly": ("abdomen", "sternum", "femur1"),
    "drugs": ("abdomen",),
}


def supported_labels() -> list[str]:
    return list(PLACERS)


def plausible_labels(canvas: Canvas, body: Body) -> list[str]:
    """Classes whose usual place on the body is in this view."""
    v = canvas.view
    return [
        label
        for label, names in ANCHORS.items()
        if any(n in body.landmarks and v.contains(*body.landmarks[n], margin_mm=20) for n in names)
    ]


def place_anomalies(
    canvas: Canvas, body: Body, rng: np.random.Generator, labels: Sequence[str]
) -> list[Box]:
    placer = Placer(canvas, body, rng)
    boxes: list[Box] = []
    order = sorted(labels, key=lambda lab: list(PLACERS).index(lab))
    for label in order:
        boxes += PLACERS[label](placer)
    return boxes
