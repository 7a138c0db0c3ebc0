"""A frontal (AP) human body for the phantom: soft tissue, lungs and a simplified skeleton.

Proportions are those of an adult about 1.75 m tall, in body millimetres (see canvas.py);
the patient's left is on the image right, as on an AP radiograph. Each body gets a little
random variation (height, build, arm position) so no two phantoms look the same.
Attenuation values are linear attenuation coefficients per mm at a ~60 keV effective
energy: soft tissue 0.02, cortical bone ~0.06 (stored as its excess over soft tissue).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from core.demo.canvas import Canvas, Point, bezier, ellipsoid_thickness

MU_SOFT = 0.020  # water-like soft tissue
CORTICAL = 0.040  # cortical bone minus the soft tissue it replaces
MARROW = 0.008  # trabecular bone / marrow minus soft tissue
LUNG_AIR = 0.015  # aerated lung attenuates ~25 % of soft tissue
TEETH = 0.09

# Torso outline: y (mm), half-width (mm), half-depth (mm)
_TORSO = np.array(
    [
        [235, 55, 55],
        [285, 120, 75],
        [320, 175, 100],
        [450, 168, 112],
        [600, 150, 112],
        [690, 136, 106],
        [780, 158, 108],
        [870, 176, 110],
        [930, 162, 98],
        [962, 112, 72],
        [980, 66, 50],
        [992, 22, 22],
        [997, 2, 2],
    ],
    dtype=np.float64,
)


@dataclass
class Body:
    """One patient: size factors and the landmarks that anomalies are placed on."""

    scale: float = 1.0
    build: float = 1.0  # width factor
    arm_spread: float = 0.0  # extra abduction of the wrists, mm
    landmarks: dict[str, Point] = field(default_factory=dict)

    def p(self, x: float, y: float) -> Point:
        """Base proportions -> this body's millimetres."""
        return (x * self.scale * self.build, y * self.scale)

    def r(self, radius: float) -> float:
        return radius * self.scale * self.build

    def torso_half_width(self, y: float) -> float:
        yb = y / self.scale
        return float(np.interp(yb, _TORSO[:, 0], _TORSO[:, 1])) * self.scale * self.build


def random_body(rng: np.random.Generator) -> Body:
    return Body(
        scale=float(rng.uniform(0.93, 1.05)),
        build=float(rng.uniform(0.9, 1.12)),
        arm_spread=float(rng.uniform(0.0, 45.0)),
    )


def draw_body(canvas: Canvas, body: Body) -> None:
    _soft_tissue(canvas, body)
    _lungs_and_heart(canvas, body)
    _skull(canvas, body)
    _spine(canvas, body)
    _ribs_and_shoulders(canvas, body)
    for side in (-1, 1):
        _arm_bones(canvas, body, side)
        _pelvis_and_leg_bones(canvas, body, side)


# --- soft tissue -------------------------------------------------------------------------
@dataclass(frozen=True)
class Arm:
    shoulder: Point
    elbow: Point
    wrist: Point
    carpus: Point
    digits: tuple[tuple[Point, Point, Point], ...]  # (base, knuckle, tip), thumb first


def arm(body: Body, side: int) -> Arm:
    """Arm hanging at the side, palm forward (thumb away from the body)."""
    b = body
    spread = body.arm_spread / body.scale / body.build
    shoulder = b.p(side * 182, 318)
    elbow = b.p(side * (236 + spread * 0.4), 650)
    wrist = b.p(side * (270 + spread), 892)
    ax, ay = wrist[0] - elbow[0], wrist[1] - elbow[1]
    n = float(np.hypot(ax, ay))
    dx, dy = ax / n, ay / n  # along the forearm
    nx, ny = -dy * side, dx * side  # across the hand, towards the thumb
    carpus = (wrist[0] + dx * 22 * b.scale, wrist[1] + dy * 22 * b.scale)

    def at(along: float, across: float) -> Point:
        return (
            carpus[0] + (dx * along + nx * across) * b.scale,
            carpus[1] + (dy * along + ny * across) * b.scale,
        )

    digits = [(at(8, 22), at(42, 36), at(78, 44))]  # thumb
    for j, length in enumerate((98, 104, 98, 84)):
        across = 12.0 - j * 9.0
        digits.append((at(14, across * 0.8), at(72, across), at(72 + length * 0.9, across * 1.1)))
    return Arm(shoulder, elbow, wrist, carpus, tuple(digits))


def _soft_tissue(canvas: Canvas, body: Body) -> None:
    b = body
    canvas.ellipsoid("soft", b.p(0, 112), (b.r(76), 112 * b.scale, b.r(92)), union=True)
    canvas.capsule("soft", b.p(0, 190), b.p(0, 280), b.r(54), union=True)
    for side in (-1, 1):  # ears stand out of the head's outline
        canvas.ellipsoid("soft", b.p(side * 77, 128), (b.r(11), 30 * b.scale, b.r(9)), union=True)
    # Torso: an elliptic cylinder whose width and depth follow the outline table.
    ys = _TORSO[:, 0] * b.scale
    hw = _TORSO[:, 1] * b.scale * b.build
    hd = _TORSO[:, 2] * b.scale * b.build

    def torso(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        yy = Y[:, 0]
        w = np.interp(yy, ys, hw)[:, None]
        d = np.interp(yy, ys, hd)[:, None]
        inside = (yy >= ys[0]) & (yy <= ys[-1])
        q = np.maximum(1.0 - (X / w) ** 2, 0.0)
        return 2.0 * d * np.sqrt(q) * inside[:, None]

    canvas.draw("soft", (-hw.max(), ys[0], hw.max(), ys[-1]), torso, union=True)
    for side in (-1, 1):
        a = arm(b, side)
        canvas.capsule("soft", a.shoulder, a.elbow, b.r(50), b.r(40), union=True)
        canvas.capsule("soft", a.elbow, a.wrist, b.r(40), b.r(27), union=True)
        palm = (
            a.carpus[0] * 0.5 + a.digits[2][1][0] * 0.5,
            a.carpus[1] * 0.5 + a.digits[2][1][1] * 0.5,
        )
        canvas.ellipsoid("soft", palm, (b.r(38), 48 * b.scale, b.r(16)), union=True)
        for j, (base, knuckle, tip) in enumerate(a.digits):
            r = 10.0 if j == 0 else 8.5
            canvas.capsule("soft", base, knuckle, b.r(r + 3), b.r(r), union=True)
            canvas.capsule("soft", knuckle, tip, b.r(r), b.r(r * 0.8), union=True)
        hip, knee, ankle = b.p(side * 92, 880), b.p(side * 100, 1250), b.p(side * 108, 1680)
        calf = b.p(side * 104, 1360)
        canvas.capsule("soft", hip, knee, b.r(92), b.r(56), union=True)
        canvas.capsule("soft", knee, calf, b.r(56), b.r(60), union=True)
        canvas.capsule("soft", calf, ankle, b.r(60), b.r(36), union=True)
        canvas.ellipsoid(
            "soft", b.p(side * 116, 1742), (b.r(46), 44 * b.scale, b.r(70)), union=True
        )
        b.landmarks.update(
            {
                f"shoulder{side}": a.shoulder,
                f"elbow{side}": a.elbow,
                f"wrist{side}": a.wrist,
                f"finger{side}": a.digits[3][1],
                f"hip{side}": hip,
                f"knee{side}": knee,
                f"ankle{side}": ankle,
                f"ear{side}": b.p(side * 81, 150),  # ear lobe
                f"eye{side}": b.p(side * 32, 98),
                f"breast{side}": b.p(side * 88, 520),
                f"pocket{side}": b.p(side * 115, 905),
                f"femur{side}": b.p(side * 122, 1075),
            }
        )
    b.landmarks.update(
        eyes=b.p(0, 98),
        nose=b.p(0, 140),
        neck=b.p(0, 300),
        sternum=b.p(0, 420),
        navel=b.p(0, 705),
        waist=b.p(0, 800),
        fly=b.p(0, 880),
        lumbar=b.p(0, 720),
        abdomen=b.p(0, 650),
    )


def _lungs_and_heart(canvas: Canvas, body: Body) -> None:
    b = body
    lungs = [(b.p(s * 82, 475), (b.r(80), 162 * b.scale, b.r(82))) for s in (-1, 1)]
    heart_c, heart_r = b.p(22, 560), (b.r(76), 68 * b.scale, b.r(62))

    def lung_air(
        c: Point, r: tuple[float, float, float]
    ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        def fn(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
            t = ellipsoid_thickness(X - c[0], Y - c[1], *r)
            # The heart sits in front of the lungs: where it is, there is less air.
            t -= ellipsoid_thickness(X - heart_c[0], Y - heart_c[1], *heart_r)
            return np.maximum(t, 0.0) * LUNG_AIR

        return fn

    for c, r in lungs:
        canvas.draw("air", (c[0] - r[0], c[1] - r[1], c[0] + r[0], c[1] + r[1]), lung_air(c, r))
    b.landmarks["heart"] = heart_c


# --- skeleton ----------------------------------------------------------------------------
def _skull(canvas: Canvas, body: Body) -> None:
    b = body
    c = b.p(0, 110)
    canvas.ellipsoid("bone", c, (b.r(71), 104 * b.scale, b.r(90)), CORTICAL)
    canvas.ellipsoid("bone", c, (b.r(65), 98 * b.scale, b.r(84)), -CORTICAL)
    for s in (-1, 1):  # maxillary sinuses: air
        canvas.ellipsoid("air", b.p(s * 24, 150), (b.r(15), 14 * b.scale, b.r(18)), LUNG_AIR * 1.3)
        canvas.ellipsoid("air", b.p(s * 31, 100), (b.r(16), 15 * b.scale, b.r(12)), LUNG_AIR * 0.5)
    jaw = [b.p(-58, 140), b.p(-54, 190), b.p(-28, 220), b.p(0, 226)]
    jaw += [b.p(-x, y) for x, y in reversed(jaw[:-1])]
    canvas.tube("bone", jaw, b.r(6), CORTICAL, shell=b.r(3.5), k_inner=MARROW)
    for i in range(-7, 8):  # teeth: the densest tissue of the body
        x = i * 5.2
        y = 182 + 0.35 * abs(i) ** 1.6
        canvas.ellipsoid("bone", b.p(x, y), (b.r(2.3), 6 * b.scale, b.r(4)), TEETH)
        canvas.ellipsoid("bone", b.p(x, y + 14), (b.r(2.3), 6 * b.scale, b.r(4)), TEETH)


def _vertebra(canvas: Canvas, body: Body, y: float, half_w: float, h: float) -> None:
    b = body
    c = b.p(0, y)
    hw, hh = b.r(half_w), h * b.scale / 2

    def vbody(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        # Rounded box: a cylinder across, squared-off end plates with a dense rim.
        qx = np.maximum(1.0 - ((X - c[0]) / hw) ** 2, 0.0)
        dy = np.abs(Y - c[1]) / hh
        plate = np.clip((1.0 - dy) * 6.0, 0.0, 1.0)
        rim = np.exp(-(((1.0 - dy) * hh / 1.6) ** 2)) * (dy < 1.0)
        return (2.0 * b.r(17) * np.sqrt(qx)) * (plate * MARROW * 1.6 + rim * CORTICAL * 0.45)

    canvas.draw("bone", (c[0] - hw, c[1] - hh, c[0] + hw, c[1] + hh), vbody)
    for s in (-1, 1):  # pedicles: dense rings seen end-on
        pc = (c[0] + s * hw * 0.62, c[1] - hh * 0.25)
        canvas.ellipsoid("bone", pc, (hw * 0.2, hh * 0.42, b.r(12)), CORTICAL * 0.5)
        canvas.ellipsoid("bone", pc, (hw * 0.12, hh * 0.28, b.r(10)), -CORTICAL * 0.35)
    canvas.ellipsoid(
        "bone", (c[0], c[1] + hh * 0.2), (hw * 0.16, hh * 0.45, b.r(14)), CORTICAL * 0.4
    )


def _spine(canvas: Canvas, body: Body) -> None:
    y = 192.0
    for i in range(24):  # 7 cervical, 12 thoracic, 5 lumbar
        if i < 7:
            h, hw, gap = 11.5, 17.0, 4.5
        elif i < 19:
            h, hw, gap = 17.0 + (i - 7) * 0.6, 18.0 + (i - 7) * 0.8, 5.0
        else:
            h, hw, gap = 30.0, 26.0 + (i - 19) * 1.2, 8.0
        _vertebra(canvas, body, y + h / 2, hw, h)
        y += h + gap
    b = body
    sacrum = b.p(0, y + 40)
    canvas.ellipsoid("bone", sacrum, (b.r(45), 48 * b.scale, b.r(14)), MARROW * 2)
    for k in range(4):  # sacral foramina
        for sx in (-1, 1):
            canvas.ellipsoid(
                "bone",
                b.p(sx * (22 - k * 3), y + 12 + k * 16),
                (b.r(4), 3.5 * b.scale, b.r(14)),
                -MARROW * 1.5,
            )
    body.landmarks["sacrum"] = sacrum


def _ribs_and_shoulders(canvas: Canvas, body: Body) -> None:
    b = body
    for i in range(12):
        y0 = (300 + i * 27.0) * b.scale
        reach = b.torso_half_width(y0 + 60 * b.scale) - b.r(14)
        if i >= 10:  # floating ribs are short
            reach *= 0.75
        for s in (-1, 1):
            post = bezier(
                (s * b.r(22), y0),
                (s * reach * 0.85, y0 - 28 * b.scale),
                (s * reach, y0 + 58 * b.scale),
            )
            canvas.tube("bone", post, b.r(5.2), CORTICAL, shell=b.r(3.4), k_inner=MARROW)
            if i < 10:  # anterior ribs slope down towards the sternum, fainter
                ant = bezier(
                    (s * reach, y0 + 58 * b.scale),
                    (s * reach * 0.85, y0 + 110 * b.scale),
                    (s * reach * 0.38, y0 + 118 * b.scale),
                )
                canvas.tube("bone", ant, b.r(4.5), CORTICAL * 0.55, shell=b.r(3.0), k_inner=MARROW)
    for s in (-1, 1):
        clav = [b.p(s * 18, 292), b.p(s * 70, 284), b.p(s * 140, 270), b.p(s * 182, 286)]
        canvas.tube("bone", clav, b.r(6.5), CORTICAL, shell=b.r(4), k_inner=MARROW)
        canvas.ellipsoid("bone", b.p(s * 140, 390), (b.r(50), 85 * b.scale, b.r(5)), CORTICAL)
        canvas.ellipsoid(
            "bone", b.p(s * 172, 328), (b.r(25), 25 * b.scale, b.r(24)), CORTICAL * 0.5
        )


def _arm_bones(canvas: Canvas, body: Body, side: int) -> None:
    b = body
    a = arm(b, side)
    hum_top = (a.shoulder[0] - side * b.r(6), a.shoulder[1] + 20 * b.scale)
    canvas.bone_capsule(hum_top, a.elbow, b.r(12), b.r(7), CORTICAL, MARROW)
    canvas.ellipsoid(
        "bone", (a.elbow[0], a.elbow[1] + 4), (b.r(27), 13 * b.scale, b.r(20)), MARROW * 2
    )
    ax, ay = a.wrist[0] - a.elbow[0], a.wrist[1] - a.elbow[1]
    n = np.hypot(ax, ay)
    nx, ny = -ay / n, ax / n  # across the forearm
    for off, r in ((-9.0, 6.5), (9.0, 6.0)):  # radius and ulna
        o = (nx * off * b.scale, ny * off * b.scale)
        canvas.bone_capsule(
            (a.elbow[0] + o[0], a.elbow[1] + o[1] + 12),
            (a.wrist[0] + o[0] * 1.4, a.wrist[1] + o[1] * 1.4),
            b.r(r),
            b.r(r * 0.55),
            CORTICAL,
            MARROW,
        )
    canvas.ellipsoid("bone", a.carpus, (b.r(22), 14 * b.scale, b.r(16)), MARROW * 3)
    for j, (base, knuckle, tip) in enumerate(a.digits):
        r = 4.0 if j == 0 else 3.6
        canvas.bone_capsule(base, knuckle, b.r(r), b.r(r * 0.55), CORTICAL, MARROW)
        mid = (knuckle[0] * 0.45 + tip[0] * 0.55, knuckle[1] * 0.45 + tip[1] * 0.55)
        canvas.bone_capsule(knuckle, mid, b.r(r * 0.8), b.r(r * 0.45), CORTICAL, MARROW)
        canvas.bone_capsule(mid, tip, b.r(r * 0.7), b.r(r * 0.4), CORTICAL, MARROW)


def _pelvis_and_leg_bones(canvas: Canvas, body: Body, side: int) -> None:
    b, s = body, side
    canvas.ellipsoid("bone", b.p(s * 98, 800), (b.r(66), 56 * b.scale, b.r(7)), CORTICAL)
    crest = bezier(b.p(s * 42, 805), b.p(s * 118, 700), b.p(s * 163, 805), 12)
    canvas.tube("bone", crest, b.r(6), CORTICAL * 0.8, shell=b.r(4), k_inner=MARROW)
    ring = [b.p(s * 55 + 30 * np.cos(t), 912 + 22 * np.sin(t)) for t in np.linspace(0, 6.2, 24)]
    canvas.tube("bone", ring, b.r(8), CORTICAL * 0.8, shell=b.r(5), k_inner=MARROW, closed=True)
    acet = [b.p(s * 92 + 30 * np.cos(t), 876 + 30 * np.sin(t)) for t in np.linspace(3.3, 6.1, 10)]
    canvas.tube("bone", acet, b.r(5), CORTICAL)
    head = b.p(s * 92, 876)
    canvas.ellipsoid("bone", head, (b.r(23), 23 * b.scale, b.r(23)), CORTICAL * 0.6)
    canvas.ellipsoid("bone", head, (b.r(20), 20 * b.scale, b.r(20)), MARROW * 2 - CORTICAL * 0.6)
    canvas.capsule("bone", head, b.p(s * 128, 906), b.r(15), k=MARROW * 2)
    canvas.ellipsoid("bone", b.p(s * 148, 906), (b.r(18), 24 * b.scale, b.r(22)), MARROW * 2)
    canvas.bone_capsule(b.p(s * 138, 913), b.p(s * 104, 1230), b.r(14), b.r(8), CORTICAL, MARROW)
    canvas.ellipsoid("bone", b.p(s * 102, 1238), (b.r(40), 22 * b.scale, b.r(30)), MARROW * 2.5)
    canvas.ellipsoid("bone", b.p(s * 100, 1226), (b.r(20), 24 * b.scale, b.r(10)), MARROW * 2)
    canvas.ellipsoid("bone", b.p(s * 100, 1278), (b.r(38), 15 * b.scale, b.r(28)), MARROW * 2.5)
    canvas.bone_capsule(b.p(s * 99, 1283), b.p(s * 106, 1664), b.r(13), b.r(7), CORTICAL, MARROW)
    canvas.bone_capsule(b.p(s * 132, 1292), b.p(s * 132, 1682), b.r(6), b.r(3), CORTICAL, MARROW)
    canvas.ellipsoid("bone", b.p(s * 112, 1722), (b.r(32), 26 * b.scale, b.r(45)), MARROW * 3)
