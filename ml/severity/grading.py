"""From patch scores to a grade suggestion with a confidence.

The face score is the mean of its patch scores; the grade is the scale's allowed value
nearest to it (``GradingScale.to_grade``: acne4 edges 0.5/1.5/2.5, hyperpig steps of 0.5,
ties going up). The confidence (0..1) says how much a grader may lean on it:

    confidence = agreement x (0.5 + 0.5 x margin) x method factor

- agreement: share of patches that, on their own, map to the same grade;
- margin: distance of the face score to the nearest grade edge, over half a grade step
  (1 = right on the grade value, 0 = on an edge, where a hair's difference flips it);
- method factor: 1 for landmark patches (0.9 when only the CNN detector found the turned
  face), 0.85 for eye-placed patches, 0.75 for skin-mask patches, 0.6 for the whole
  image, 0.8 more for a greyscale photo (no colour to measure redness or pigment).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.annotations import GradingScale

METHOD_FACTOR = {
    "landmarks": 1.0,
    "cnn_landmarks": 0.9,  # turned face: landmarks of the far side are guesses
    "eye_cascade": 0.85,
    "skin_mask": 0.75,  # skin, but which part of the face is unknown
    "whole_image": 0.6,
}
GREYSCALE_FACTOR = 0.8


@dataclass(frozen=True)
class GradeSuggestion:
    """A model's grade for one face, with what it rests on."""

    scale: str
    value: float  # an allowed grade of the scale
    label: str
    continuous: float  # mean patch score, clipped to the scale's range
    confidence: float  # 0..1
    agreement: float
    margin: float
    patch_scores: dict[str, float] = field(default_factory=dict)  # region -> score
    group: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "value": self.value,
            "label": self.label,
            "continuous": round(self.continuous, 4),
            "confidence": round(self.confidence, 3),
            "agreement": round(self.agreement, 3),
            "margin": round(self.margin, 3),
            "patch_scores": {k: round(v, 4) for k, v in self.patch_scores.items()},
            "group": self.group,
        }


def edge_margin(scale: GradingScale, continuous: float) -> float:
    """0 on a grade edge, 1 on (or beyond the ends past) the grade value itself."""
    grade = scale.to_grade(continuous)
    allowed = scale.allowed
    idx = int(np.argmin(np.abs(allowed - grade)))
    margins = []
    for other in (idx - 1, idx + 1):
        if 0 <= other < allowed.size:
            edge = (allowed[idx] + allowed[other]) / 2.0
            half = abs(allowed[idx] - allowed[other]) / 2.0
            # Only the edge on the score's side of the grade value can be crossed.
            if (continuous - allowed[idx]) * (allowed[other] - allowed[idx]) > 0:
                margins.append(abs(continuous - edge) / half)
    return float(np.clip(min(margins) if margins else 1.0, 0.0, 1.0))


def suggest_grade(
    scale: GradingScale,
    patch_scores: dict[str, float] | list[float],
    *,
    method: str = "landmarks",
    greyscale: bool = False,
) -> GradeSuggestion:
    """The face's grade from its patch scores (region -> score, or a plain list)."""
    named = (
        dict(patch_scores)
        if isinstance(patch_scores, dict)
        else {f"patch{i}": float(s) for i, s in enumerate(patch_scores)}
    )
    if not named:
        raise ValueError("a grade needs at least one patch score")
    scores = np.array(list(named.values()), dtype=np.float64)
    lo, hi = float(scale.allowed.min()), float(scale.allowed.max())
    continuous = float(np.clip(scores.mean(), lo, hi))
    value = scale.to_grade(continuous)
    agreement = float(np.mean([np.isclose(scale.to_grade(s), value) for s in scores]))
    margin = edge_margin(scale, continuous)
    factor = METHOD_FACTOR.get(method, 0.6) * (GREYSCALE_FACTOR if greyscale else 1.0)
    confidence = float(np.clip(agreement * (0.5 + 0.5 * margin) * factor, 0.0, 1.0))
    return GradeSuggestion(
        scale=scale.name,
        value=value,
        label=scale.label_of(value),
        continuous=continuous,
        confidence=confidence,
        agreement=agreement,
        margin=margin,
        patch_scores={k: float(v) for k, v in named.items()},
        group=scale.group_of(value),
    )
