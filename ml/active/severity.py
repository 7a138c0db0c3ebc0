"""Score a face photo for "review next" with the active severity grader of a scale.

The grader's own outputs (``ml.severity.grader.SeverityGrader._grade_source``): the
continuous face score and its margin to the nearest grade edge, and the nearest graded
faces in the regressor's embedding space (``ReferenceIndex.query``), whose grades'
spread is the disagreement term (``ml.active.scores.severity_terms``). Features for
diversity: that same embedding.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from core.jobs import CancelToken
from ml.active.scores import severity_terms
from ml.active.service import Outcome, Scorer

NEIGHBOURS = 5


class SeverityScorer(Scorer):
    def __init__(self, grader: Any) -> None:
        self.grader = grader
        self.model = grader.model.ref

    @classmethod
    def for_project(cls, project: Any, scale: str) -> SeverityScorer:
        from ml.severity.grader import SeverityGrader

        return cls(SeverityGrader.for_project(project.folder, scale))

    def score(self, project: Any, image_id: int, cancel: CancelToken | None) -> Outcome:
        from ml.severity.dataset import features_for, patches_for
        from ml.severity.grader import project_source

        start = time.perf_counter()
        source = project_source(project, image_id)
        grader = self.grader
        holder: list[np.ndarray] = []
        ps = patches_for(source, grader.cache, holder)
        X = features_for(
            source, [p.box for p in ps.patches], grader.extractor, grader.cache, holder
        )
        return self.score_features(image_id, source.image_ref, X, start)

    def score_features(
        self, image_id: int, path: str, X: np.ndarray, start: float | None = None
    ) -> Outcome:
        """The outcome for a face's patch feature rows (the benchmark calls this directly)."""
        from ml.severity.grading import suggest_grade

        model = self.grader.model
        start = time.perf_counter() if start is None else start
        patch_scores = model.regressor.predict_patches(X)
        suggestion = suggest_grade(model.scale, [float(s) for s in patch_scores])
        embedding = model.regressor.embed(X.mean(axis=0, keepdims=True))[0]
        refs = model.references.query(embedding, NEIGHBOURS, exclude_image_id=image_id)
        terms = severity_terms(
            model.scale.allowed, suggestion.continuous, suggestion.margin, [r.grade for r in refs]
        )
        return Outcome(
            image_id,
            path,
            terms.score(),
            tuple(terms.reasons()),
            np.asarray(embedding, dtype=np.float32),
            {
                "edge": round(terms.edge, 4),
                "disagreement": round(terms.disagreement, 4),
                "continuous": round(terms.continuous, 4),
            },
            seconds=time.perf_counter() - start,
        )
