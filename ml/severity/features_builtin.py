"""A compact skin descriptor that needs no weights (the default backbone, "builtin").

What a dermatologist looks at, measured on a patch resized to 128 x 128 px:
- colour in CIE Lab (L: lightness, a*: red-green, b*: yellow-blue): mean, spread and
  percentiles; the individual typology angle (ITA, skin tone) - pigment shows in L and b*;
- redness: share of pixels clearly redder than the patch's own median (erythema is
  local, so relative to the patch, not to a fixed skin tone), and a (R-G)/(R+G) index;
- texture: uniform LBP histogram (8 neighbours, radius 1) and gradient / Laplacian energy
  of L - papules, comedones and scars roughen the surface;
- blobs: difference-of-Gaussians maxima on a* (red spots: papules, pustules) and on -L
  (dark spots: macules, comedones) at three sizes, per 1000 px.

About 50 numbers, ~1 ms per patch; computed from the 8-bit RGB crop only, so the same
photo always gives the same vector.
"""

from __future__ import annotations

import cv2
import numpy as np

PATCH_SIZE = 128
DOG_SIGMAS = (1.5, 3.0, 6.0)
# A spot must stand out by this many Lab units from its surroundings to count as a blob.
RED_BLOB_DELTA = 3.0
DARK_BLOB_DELTA = 4.0
DESCRIPTOR_VERSION = 1

_LBP_OFFSETS = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))


def _lbp_uniform_hist(grey: np.ndarray) -> np.ndarray:
    """10-bin histogram of rotation-invariant uniform LBP codes (P=8, R=1).

    Codes with at most two 0/1 transitions are labelled by their count of ones (0..8);
    all others share bin 9. Written in numpy so the app does not need scikit-image.
    """
    g = grey.astype(np.int16)
    centre = g[1:-1, 1:-1]
    bits = []
    for dy, dx in _LBP_OFFSETS:
        nb = g[1 + dy : g.shape[0] - 1 + dy, 1 + dx : g.shape[1] - 1 + dx]
        bits.append((nb >= centre).astype(np.uint8))
    stack = np.stack(bits)  # (8, h, w), circular order
    ones = stack.sum(axis=0)
    transitions = (stack != np.roll(stack, 1, axis=0)).sum(axis=0)
    code = np.where(transitions <= 2, ones, 9)
    hist = np.bincount(code.ravel(), minlength=10).astype(np.float64)
    return hist / max(1.0, hist.sum())


def _blob_counts(channel: np.ndarray, delta: float) -> list[float]:
    """Local maxima of difference-of-Gaussians responses above ``delta``, per 1000 px."""
    counts = []
    area_k = channel.size / 1000.0
    kernel = np.ones((3, 3), np.uint8)
    for sigma in DOG_SIGMAS:
        fine = cv2.GaussianBlur(channel, (0, 0), sigma)
        coarse = cv2.GaussianBlur(channel, (0, 0), sigma * 1.6)
        dog = fine - coarse
        peaks = (dog >= cv2.dilate(dog, kernel)) & (dog > delta)
        counts.append(float(np.count_nonzero(peaks)) / area_k)
    return counts


def _stats(x: np.ndarray) -> list[float]:
    p10, p50, p90 = np.percentile(x, (10, 50, 90))
    return [float(x.mean()), float(x.std()), float(p10), float(p50), float(p90)]


def describe(patch_rgb: np.ndarray) -> np.ndarray:
    """The descriptor of one uint8 RGB patch (any size; resized to 128 x 128)."""
    rgb = patch_rgb
    if rgb.shape[:2] != (PATCH_SIZE, PATCH_SIZE):
        rgb = cv2.resize(rgb, (PATCH_SIZE, PATCH_SIZE), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    L, a, b = lab[:, :, 0], lab[:, :, 1], lab[:, :, 2]
    feats: list[float] = []
    for ch in (L, a, b):
        feats += _stats(ch)
    ita = np.degrees(np.arctan2(L - 50.0, np.maximum(b, 1e-3)))
    feats += [float(np.median(ita)), float(ita.std())]
    # Redness.
    a_med = float(np.median(a))
    feats += [float(np.mean(a > a_med + 5.0)), float(np.mean(a > a_med + 10.0))]
    r = rgb[:, :, 0].astype(np.float32)
    g = rgb[:, :, 1].astype(np.float32)
    index = (r - g) / np.maximum(r + g, 1.0)
    feats += [float(index.mean()), float(index.std())]
    # Texture.
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    feats += _lbp_uniform_hist(grey).tolist()
    gx = cv2.Sobel(L, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(L, cv2.CV_32F, 0, 1, ksize=3)
    mag = np.sqrt(gx * gx + gy * gy)
    lap = cv2.Laplacian(L, cv2.CV_32F, ksize=3)
    feats += [float(mag.mean()), float(mag.std()), float(np.log1p(lap.var()))]
    # Blobs: red spots on a*, dark spots on -L.
    feats += _blob_counts(a, RED_BLOB_DELTA)
    feats += _blob_counts(-L, DARK_BLOB_DELTA)
    return np.asarray(feats, dtype=np.float32)


FEATURE_DIM = int(describe(np.zeros((PATCH_SIZE, PATCH_SIZE, 3), np.uint8)).shape[0])


class BuiltinFeatures:
    """The ``FeatureExtractor`` for the built-in descriptor."""

    name = "builtin"
    input_size = PATCH_SIZE
    dim = FEATURE_DIM

    @property
    def cache_key(self) -> str:
        return f"builtin-v{DESCRIPTOR_VERSION}"

    def extract(self, crops: list[np.ndarray]) -> np.ndarray:
        if not crops:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([describe(c) for c in crops])
