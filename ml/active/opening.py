"""The scorer of a project's active model of a kind (detector or a severity scale).

Apart from ``service`` so that ``service`` (the Scorer contract) never imports a scorer
that implements it (``severity`` imports ``service``).
"""

from __future__ import annotations

from typing import Any

from ml.active.service import DETECTOR, DetectorScorer, Scorer, kind_scale


def open_scorer(project: Any, kind: str, *, device: str = "auto", flip: str = "all") -> Scorer:
    """The scorer of the project's active model of ``kind`` (NoModelError when none)."""
    base, scale = kind_scale(kind)
    if base == DETECTOR:
        from ml.suggest import cached_detector

        return DetectorScorer(cached_detector(project, None, device=device), flip=flip)
    from ml.active.severity import SeverityScorer

    assert scale is not None
    return SeverityScorer.for_project(project, scale)
