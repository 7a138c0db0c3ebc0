"""Score one image for "review next" with a loaded ``ml.detector.Detector``.

Two passes of the public ``Detector.predict_rgb8`` at a low score floor: the image and its
horizontal mirror (``flip="all"``; ``"uncertain"`` runs the mirror only when the first
pass found a box near the threshold, ``"off"`` never). The terms are in
``ml.active.scores``. Features for batch diversity: the mean over tiles of the global
average of the backbone's last layer (SPPF in YOLOv8), taken with a forward hook during
the first pass, so it costs no extra forward pass; a model without such a layer (or a
stand-in without a network) gives a 8 x 8 thumbnail instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.jobs import CancelToken
from ml.active.scores import DEFAULT_DETECTION, detection_terms, flip_boxes, flip_disagreement

FLIP_MODES = ("all", "uncertain", "off")


@dataclass(frozen=True)
class ImageScore:
    image_id: int
    path: str
    score: float
    reasons: tuple[str, ...]
    features: np.ndarray | None
    terms: dict[str, float]
    seconds: float = 0.0


class _FeatureTap:
    """A forward hook on the backbone's last layer, pooled per tile while ``on``."""

    def __init__(self, detector: Any) -> None:
        self.rows: list[np.ndarray] = []
        self.on = False
        self._handle = None
        layers = getattr(getattr(detector.loaded, "model", None), "model", None)
        if layers is None:
            return
        try:
            import torch.nn as nn

            ups = [i for i, m in enumerate(layers) if isinstance(m, nn.Upsample)]
            if ups:
                self._handle = layers[ups[0] - 1].register_forward_hook(self._hook)
        except Exception:  # no usable layer: thumbnails instead
            self._handle = None

    def _hook(self, module: Any, inputs: Any, output: Any) -> None:
        if self.on:
            self.rows.append(output.float().mean(dim=(2, 3)).cpu().numpy())

    @property
    def active(self) -> bool:
        return self._handle is not None

    def take(self) -> np.ndarray | None:
        rows, self.rows = self.rows, []
        if not rows:
            return None
        return np.concatenate(rows, axis=0).mean(axis=0).astype(np.float32)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None


def thumbnail_features(rgb: np.ndarray) -> np.ndarray:
    import cv2

    grey = rgb if rgb.ndim == 2 else rgb.mean(axis=2)
    small = cv2.resize(grey.astype(np.float32), (8, 8), interpolation=cv2.INTER_AREA)
    return (small.ravel() / 255.0).astype(np.float32)


@contextlib.contextmanager
def scoring_mode(detector: Any) -> Iterator[tuple[float, _FeatureTap]]:
    """Lower the detector's score floor for scoring and tap its features; restores both.
    Yields the operating threshold the boxes are judged against."""
    threshold = float(detector.conf)
    tap = _FeatureTap(detector)
    detector.conf = max(0.001, min(0.01, threshold * 0.1))
    try:
        yield threshold, tap
    finally:
        detector.conf = threshold
        tap.close()


def _arrays(pred: Any) -> tuple[np.ndarray, np.ndarray, list[str]]:
    d = pred.detections
    boxes = np.array([[x.x1, x.y1, x.x2, x.y2] for x in d], dtype=np.float64).reshape(-1, 4)
    return boxes, np.array([x.score for x in d], dtype=np.float64), [x.label for x in d]


def score_rgb(
    detector: Any,
    rgb: np.ndarray,
    threshold: float,
    tap: _FeatureTap,
    *,
    flip: str = "all",
    strategy: str = DEFAULT_DETECTION,
    cancel: CancelToken | None = None,
) -> tuple[float, list[str], np.ndarray | None, dict[str, float]]:
    """(score, reasons, features, terms) for one rendered image, inside ``scoring_mode``."""
    tap.on = True
    try:
        first = detector.predict_rgb8(rgb, cancel=cancel)
    finally:
        tap.on = False
    features = tap.take() if tap.active else thumbnail_features(rgb)
    boxes, scores, labels = _arrays(first)
    terms = detection_terms(scores, threshold)
    run_flip = flip == "all" or (flip == "uncertain" and terms.uncertain_boxes > 0)
    disagreement = None
    if run_flip:
        mirrored = detector.predict_rgb8(np.ascontiguousarray(rgb[:, ::-1]), cancel=cancel)
        fb, fs, fl = _arrays(mirrored)
        disagreement = flip_disagreement(boxes, scores, labels, flip_boxes(fb, first.width), fs, fl)
        terms = detection_terms(scores, threshold, flip=disagreement)
    values = {
        "uncertainty": round(terms.uncertainty, 4),
        "flip": round(terms.flip, 4),
        "expected": round(terms.expected, 3),
    }
    return terms.score(strategy), terms.reasons(), features, values
