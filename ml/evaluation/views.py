"""What the annotator's Model ▸ Evaluate window draws, as plain JSON: the class confusion
matrix (with its background row and column) at the operating threshold, and each class's
precision-recall curve, thinned to at most ``MAX_POINTS`` points (a curve has one point
per prediction: thousands on a real held-out set, more than a plot needs or a pipe should
carry)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ml.evaluation.detection import ImageEval, confusion_matrix, pr_curve

MAX_POINTS = 200


def _thin(n: int, most: int = MAX_POINTS) -> np.ndarray:
    """Indices of at most ``most`` points spread over ``n``, first and last kept."""
    if n <= most:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, most).round().astype(int))


def evaluation_views(
    evals: Sequence[ImageEval], names: Mapping[int, str], *, conf: float, iou: float
) -> dict[str, Any]:
    """``{"confusion": {"labels", "matrix", "conf", "iou"}, "pr_curves": {label: {"recall",
    "precision", "ap"}}}``; a class without true boxes has no curve (recall undefined)."""
    cm = confusion_matrix(evals, names, iou=iou, conf=conf)
    curves: dict[str, Any] = {}
    for class_id, label in names.items():
        curve = pr_curve(evals, int(class_id), iou=iou)
        if curve.recall is None or len(curve.recall) == 0:
            continue
        keep = _thin(len(curve.recall))
        curves[str(label)] = {
            "recall": [float(v) for v in curve.recall[keep]],
            "precision": [float(v) for v in curve.precision[keep]],
            "ap": None if curve.ap is None else float(curve.ap),
        }
    return {
        "confusion": {
            "labels": [str(v) for v in cm.labels],
            "matrix": cm.matrix.astype(int).tolist(),
            "conf": float(cm.conf),
            "iou": float(cm.iou),
        },
        "pr_curves": curves,
    }
