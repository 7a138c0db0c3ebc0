"""Score a project's images for "review next", image by image, storing nothing.

``iter_scores`` is what the detector process's ``score`` request and the ``queue`` command
run: one :class:`Outcome` per image, an image the model (or the reader) fails on comes
back with ``error`` set and the others go on. Kinds: ``detector`` (the active detector,
``ml.active.detection``) and ``severity:<scale>`` (the active grader of that scale,
``ml.active.severity``). The caller stores the scores with the model's ``NAME:V``
(``project.scores.put``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.errors import ClinLensError, ImageReadError, JobCancelled
from core.jobs import CancelToken, check_cancel
from core.store.scores import StoredScore

DETECTOR = "detector"
SEVERITY = "severity"


@dataclass
class Outcome:
    image_id: int
    path: str
    score: float | None = None
    reasons: tuple[str, ...] = ()
    features: np.ndarray | None = None
    terms: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None

    def stored(self) -> StoredScore:
        assert self.score is not None
        return StoredScore(self.image_id, self.score, self.reasons, self.features)


def kind_scale(kind: str) -> tuple[str, str | None]:
    """``"severity:acne4"`` -> ("severity", "acne4"); ``"detector"`` -> ("detector", None)."""
    base, _, scale = kind.partition(":")
    if base not in (DETECTOR, SEVERITY):
        raise ClinLensError(f"unknown score kind '{kind}': use detector or severity:SCALE")
    if base == SEVERITY and not scale:
        raise ClinLensError("a severity score needs its scale (severity:SCALE)")
    return base, scale or None


class Scorer:
    """A loaded model that scores images of one project; ``model`` is its NAME:V."""

    model: str

    def score(self, project: Any, image_id: int, cancel: CancelToken | None) -> Outcome:
        raise NotImplementedError

    def close(self) -> None:
        """Release hooks; the model itself may stay cached."""


class DetectorScorer(Scorer):
    def __init__(self, detector: Any, *, flip: str = "all", strategy: str | None = None) -> None:
        from ml.active.detection import scoring_mode
        from ml.active.scores import DEFAULT_DETECTION

        self.detector = detector
        self.model = detector.model_ref
        self.flip = flip
        self.strategy = strategy or DEFAULT_DETECTION
        self._mode = scoring_mode(detector)
        self.threshold, self.tap = self._mode.__enter__()

    def score(self, project: Any, image_id: int, cancel: CancelToken | None) -> Outcome:
        from core.imaging import read
        from ml.active.detection import score_rgb

        start = time.perf_counter()
        record = project.image(image_id)
        raw = read(project.image_path(record))
        rgb = self.detector.render(
            raw,
            project.default_filter_settings(),
            image_settings=project.filter_settings(image_id),
        )
        score, reasons, features, terms = score_rgb(
            self.detector,
            rgb,
            self.threshold,
            self.tap,
            flip=self.flip,
            strategy=self.strategy,
            cancel=cancel,
        )
        return Outcome(
            image_id,
            record.path,
            score,
            tuple(reasons),
            features,
            terms,
            seconds=time.perf_counter() - start,
        )

    def close(self) -> None:
        self._mode.__exit__(None, None, None)


def iter_scores(
    project: Any, scorer: Scorer, image_ids: Iterable[int], *, cancel: CancelToken | None = None
) -> Iterator[Outcome]:
    """One outcome per image; failures on an image are reported, not raised."""
    for image_id in image_ids:
        check_cancel(cancel)
        try:
            yield scorer.score(project, int(image_id), cancel)
        except JobCancelled:
            raise
        except (ClinLensError, ImageReadError, OSError, ValueError, RuntimeError) as exc:
            yield Outcome(int(image_id), _path(project, int(image_id)), error=_text(exc))


def _path(project: Any, image_id: int) -> str:
    try:
        return str(project.image(image_id).path)
    except ClinLensError:
        return f"#{image_id}"


def _text(exc: BaseException) -> str:
    if isinstance(exc, ClinLensError):
        return str(exc)
    return f"{exc.__class__.__name__}: {str(exc)[:200]}"
