"""Synthetic 16-bit X-ray phantoms with metallic anomalies and their ground-truth boxes.

How an image is made, and why it looks like a radiograph:
1. A body (soft tissue, lungs, skeleton; anatomy.py) and foreign objects (anomalies.py)
   are projected into an attenuation map A = sum(mu * path length).
2. Exposure: N = N0 * exp(-A) photons per pixel, with the anode heel effect (a gentle
   gradient), scattered radiation (a blurred fraction of the body's interactions that lowers
   contrast behind thick parts), detector blur, quantum (Poisson, Gaussian-approximated)
   noise and electronic noise.
3. Processing as in a "for presentation" DX image: flat-field and log transform, so the
   stored value grows with attenuation (bone and metal bright, air dark, MONOCHROME2),
   quantised to 12-14 bits in uint16.

Everything is deterministic by seed (independent random streams for body, view, anomalies
and noise, so asking for different anomalies does not change the body).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from core.annotations import Box, builtin_label_set
from core.demo.anatomy import MU_SOFT, Body, draw_body, random_body
from core.demo.anomalies import place_anomalies, plausible_labels, supported_labels
from core.demo.canvas import Canvas, View

DEFAULT_WIDTH = 1500
DEFAULT_HEIGHT = 1216
MIN_SIZE = 32
MAX_SIZE = 8192

# View name -> (top y, bottom y, minimum width) in body mm. x is centred on the body.
VIEWS: dict[str, tuple[float, float, float]] = {
    "full": (-40.0, 1800.0, 720.0),
    "upper": (-30.0, 980.0, 640.0),
    "chest": (190.0, 760.0, 470.0),
    "abdomen": (560.0, 1060.0, 470.0),
    "legs": (790.0, 1800.0, 420.0),
}


@dataclass(frozen=True)
class Phantom:
    """A generated radiograph and what a writer needs to store it faithfully."""

    pixels: np.ndarray  # uint16 (H, W), MONOCHROME2 (higher = more attenuation)
    boxes: list[Box]
    bits_stored: int
    pixel_spacing: tuple[float, float]  # (row, column) mm
    window_center: float  # stored-value units, chosen on the body's histogram
    window_width: float
    view: str
    seed: int

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])


def anomaly_labels() -> list[str]:
    """The anomaly classes the phantom can draw (names of the built-in ``xray`` label set)."""
    return supported_labels()


def make_phantom(
    seed: int = 0,
    width: int = DEFAULT_WIDTH,
    height: int = DEFAULT_HEIGHT,
    anomalies: Sequence[str] | None = None,
    *,
    view: str | None = None,
    bits_stored: int = 14,
) -> tuple[np.ndarray, list[Box]]:
    """Pixels (uint16, MONOCHROME2) and ground-truth boxes of one phantom.

    The same as ``generate_phantom(...)`` reduced to what most callers need.
    """
    ph = generate_phantom(seed, width, height, anomalies, view=view, bits_stored=bits_stored)
    return ph.pixels, ph.boxes


def generate_phantom(
    seed: int = 0,
    width: int = DEFAULT_WIDTH,
    height: int = DEFAULT_HEIGHT,
    anomalies: Sequence[str] | None = None,
    *,
    view: str | None = None,
    bits_stored: int = 14,
) -> Phantom:
    """Generate one phantom.

    anomalies: label names from the ``xray`` label set (see ``anomaly_labels()``); None picks
        2-5 classes plausible for the view; [] makes a clean image. A name may repeat.
    view: one of VIEWS ("full", "upper", "chest", "abdomen", "legs"); None picks by seed.
    bits_stored: 10..16; stored values stay below 2**bits_stored.
    """
    _check_args(seed, width, height, anomalies, view, bits_stored)
    body_rng, view_rng, anom_rng, noise_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)
    )
    body = random_body(body_rng)
    view_name = view or str(view_rng.choice(list(VIEWS), p=[0.3, 0.2, 0.2, 0.15, 0.15]))
    canvas = Canvas(_make_view(view_name, width, height, body, view_rng))
    draw_body(canvas, body)
    if anomalies is None:
        choices = plausible_labels(canvas, body) or ["unknown anomaly"]
        k = min(len(choices), int(anom_rng.integers(2, 6)))
        anomalies = [str(x) for x in anom_rng.choice(choices, size=k, replace=False)]
    boxes = place_anomalies(canvas, body, anom_rng, list(anomalies))
    pixels = _expose(canvas, noise_rng, bits_stored)
    center, width_w = _auto_window(pixels, canvas.soft)
    s = canvas.view.spacing
    return Phantom(
        pixels=pixels,
        boxes=boxes,
        bits_stored=bits_stored,
        pixel_spacing=(round(s, 6), round(s, 6)),
        window_center=center,
        window_width=width_w,
        view=view_name,
        seed=seed,
    )


def _check_args(
    seed: int,
    width: int,
    height: int,
    anomalies: Sequence[str] | None,
    view: str | None,
    bits: int,
) -> None:
    if seed < 0:
        raise ValueError(f"seed must be 0 or more, not {seed}")
    if not (MIN_SIZE <= width <= MAX_SIZE and MIN_SIZE <= height <= MAX_SIZE):
        raise ValueError(f"phantom size {width}x{height} outside {MIN_SIZE}..{MAX_SIZE} pixels")
    if view is not None and view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; choose one of {', '.join(VIEWS)}")
    if not 10 <= bits <= 16:
        raise ValueError(f"bits_stored must be 10..16, not {bits}")
    if anomalies is not None:
        xray = set(builtin_label_set("xray").names())
        unknown = [a for a in anomalies if a not in supported_labels()]
        if unknown:
            where = "is not drawable" if all(a in xray for a in unknown) else "is not an xray label"
            raise ValueError(
                f"anomaly {unknown[0]!r} {where}; drawable: {', '.join(supported_labels())}"
            )


def _make_view(name: str, width: int, height: int, body: Body, rng: np.random.Generator) -> View:
    top, bottom, min_w = VIEWS[name]
    top, bottom, min_w = top * body.scale, bottom * body.scale, min_w * body.scale * body.build
    spacing = max((bottom - top) / height, min_w / width) * float(rng.uniform(1.0, 1.06))
    cx = float(rng.normal(0.0, 0.015 * width * spacing))
    cy = (top + bottom) / 2 + float(rng.normal(0.0, 0.01 * height * spacing))
    return View(name, cx - spacing * width / 2, cy - spacing * height / 2, spacing, width, height)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cell: float) -> np.ndarray:
    """Unit-variance random field with features about ``cell`` pixels across."""
    h, w = shape
    gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
    grid = rng.standard_normal((gh, gw)).astype(np.float32)
    field = cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
    return field / max(float(field.std()), 1e-6)


def _lowpass(img: np.ndarray, sigma_px: float) -> np.ndarray:
    """Wide Gaussian blur done at reduced resolution (scatter is smooth; this is fast)."""
    h, w = img.shape
    f = max(1, int(sigma_px / 4))
    small = cv2.resize(img, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma_px / f, borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _expose(canvas: Canvas, rng: np.random.Generator, bits: int) -> np.ndarray:
    v = canvas.view
    h, w = v.height, v.width
    s = v.spacing
    # Tissue is not uniform: fat/muscle variation of a few percent, and trabecular texture.
    tissue = 1.0 + 0.04 * _smooth_noise(rng, (h, w), 25.0 / s)
    texture = 1.0 + 0.12 * _smooth_noise(rng, (h, w), max(1.5, 1.5 / s))
    att = canvas.soft * tissue * MU_SOFT + canvas.bone * texture - canvas.air + canvas.metal
    np.maximum(att, 0.0, out=att)

    # Photons per pixel at the detector without an object: scales with pixel area.
    n0 = float(np.clip(5.0e4 * s * s, 3.0e3, 1.0e5))
    rows = np.linspace(-0.5, 0.5, h, dtype=np.float32)[:, None]
    heel = 1.0 + float(rng.choice([-1.0, 1.0])) * 0.08 * rows  # anode heel effect
    primary = n0 * heel * np.exp(-att)
    # Scatter: photons interacting in the body, spread over ~5 cm; the grid removes most.
    interacting = n0 * (1.0 - np.exp(-att)) * np.exp(-0.5 * att)
    scatter = 0.025 * _lowpass(interacting.astype(np.float32), 50.0 / s)
    signal = cv2.GaussianBlur((primary + scatter).astype(np.float32), (0, 0), 0.6)
    electronic = 3.0
    noise = rng.standard_normal((h, w), dtype=np.float32)
    counts = signal + np.sqrt(signal + electronic**2) * noise
    np.maximum(counts, 0.5, out=counts)

    # Flat-field (removes most of the heel gradient) then log: value ~ attenuation.
    flat = n0 * (1.0 + 0.15 * (heel - 1.0))
    measured = np.log(flat / counts)
    # "For presentation" processing as DX systems do it: compress thick regions towards a
    # reference level (so lungs, spine and abdomen fit one window) and lift fine detail.
    body = measured[canvas.soft > 40.0]
    ref = float(np.median(body)) if body.size > 100 else 3.0
    coarse = _lowpass(measured, 30.0 / s)
    fine = cv2.GaussianBlur(measured, (0, 0), max(0.8, 1.2 / s))
    processed = measured - 0.35 * np.maximum(coarse - ref, 0.0) + 0.6 * (measured - fine)
    a_ref = math.log(n0 / 6.0)
    top = (1 << bits) - 1
    offset = 0.025 * top
    values = offset + (top - offset) * processed / a_ref
    return np.clip(np.rint(values), 0, top).astype(np.uint16)


def _auto_window(pixels: np.ndarray, soft: np.ndarray) -> tuple[float, float]:
    """A window over the body's values (what a technologist would set), ignoring metal."""
    step = max(1, int(math.sqrt(pixels.size / 250_000)))
    sample = pixels[::step, ::step]
    body = sample[soft[::step, ::step] > 20.0]
    if body.size < 100:
        body = sample.ravel()
    lo, hi = np.percentile(body, [0.5, 99.0])
    lo = min(lo, float(np.percentile(sample, 2.0)))
    width = max(float(hi - lo), 16.0)
    return round(float(lo) + width / 2, 1), round(width, 1)
