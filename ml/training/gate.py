"""The gate: evaluate candidate and active version on the held-out reviewed images, decide.

Both models are measured in the same run on the same images (``ml.evaluation``): the
tiled predictor's boxes at a low score threshold (0.001, so the AP sweeps every score),
the operating threshold chosen on the held-out set (``best_f1_threshold``: best micro F1,
ties to the lower threshold), then precision / recall / F1 at IoU 0.5 at that threshold
and AP50. Each model is scored in its own class space: the true boxes are mapped with the
class remap the model was trained with (recorded in its registry entry), or by name for a
model imported from outside.

The candidate becomes active only when it is strictly better: a higher F1, or the same F1
and a higher AP50. With no active version the first becomes active.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.errors import ClinLensError
from core.formats.remap import ClassRemap
from core.jobs import CancelToken, ProgressFn, check_cancel

SWEEP_CONF = 0.001
IOU = 0.5


@dataclass(frozen=True)
class HeldoutScore:
    images: int
    precision: float | None
    recall: float | None
    f1: float | None
    ap50: float | None
    threshold: float | None
    report: dict[str, Any]  # DetectionReport.to_dict() at the threshold
    # The per-image predictions and truths it was computed from (Model > Evaluate draws
    # the confusion matrix and the PR curves from them); not part of any summary.
    evals: tuple[Any, ...] = field(default=(), repr=False, compare=False)
    names: dict[int, str] = field(default_factory=dict, repr=False, compare=False)

    def summary(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "ap50": self.ap50,
            "threshold": self.threshold,
        }


def beats(candidate: HeldoutScore, active: HeldoutScore | None) -> bool:
    """True when the candidate should become active (see the module docstring)."""
    if active is None:
        return True
    cf, af = candidate.f1 or 0.0, active.f1 or 0.0
    if cf != af:
        return cf > af
    return (candidate.ap50 or 0.0) > (active.ap50 or 0.0)


def truth_remap(info: Any, names: dict[int, str], label_set: Any) -> ClassRemap:
    """How a model's classes relate to the project's labels, for its true boxes."""
    from ml.training.recipe import remap_from_dict

    recorded = (getattr(info, "extra", None) or {}).get("remap") if info is not None else None
    if recorded:
        return remap_from_dict(recorded)
    from ml.detector.classmap import map_classes

    cmap = map_classes(names, label_set)
    by_label: dict[str, int | None] = {n: None for n in label_set.names()}
    for cid, label in sorted(cmap.to_label.items(), reverse=True):
        by_label[label] = cid
    return ClassRemap("map", dict(names), by_label)


def human_grade(grades: Any) -> int | str | None:
    """The image's first human grade (the project's first scale that has one), for the
    lesion-count error per grade; whole values as ints (grade 2, not 2.0)."""
    for g in grades:
        if g.source == "human":
            value = float(g.value)
            return int(value) if value.is_integer() else f"{value:g}"
    return None


def evaluate_detector(
    project: Any,
    detector: Any,
    image_ids: list[int],
    remap: ClassRemap,
    *,
    conf: float | None = None,
    iou: float = IOU,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> HeldoutScore:
    """Score ``detector`` (a ``ml.detector.Detector`` without class map) on the images.

    ``conf`` None: the operating threshold is chosen here (best F1); else that threshold.
    """
    from core.imaging import read
    from ml.evaluation import ImageEval, best_f1_threshold, evaluate_detections

    detector.conf = SWEEP_CONF
    default = project.default_filter_settings()
    evals: list[ImageEval] = []
    boxes = project.boxes_by_image()
    grades = project.grades_by_image()
    from ml.training.dataset import TRUTH_STATUSES

    for done, image_id in enumerate(image_ids, 1):
        check_cancel(cancel)
        rec = project.image(image_id)
        raw = read(project.image_path(rec))
        pred = detector.predict_raw(
            raw,
            fallback_settings=default,
            image_settings=project.filter_settings(image_id),
            cancel=cancel,
        )
        truth = [
            (b, cid)
            for b in boxes.get(image_id, ())
            if b.status in TRUTH_STATUSES
            and (cid := remap.class_of(b.label, b.width, b.height)) is not None
        ]
        evals.append(
            ImageEval(
                pred_boxes=[(d.x1, d.y1, d.x2, d.y2) for d in pred.detections],
                pred_classes=[d.class_id for d in pred.detections],
                pred_scores=[d.score for d in pred.detections],
                true_boxes=[(b.x1, b.y1, b.x2, b.y2) for b, _ in truth],
                true_classes=[cid for _, cid in truth],
                image_id=image_id,
                grade=human_grade(grades.get(image_id, ())),
            )
        )
        if progress is not None:
            progress(done, len(image_ids), f"evaluating on held-out image {done}/{len(image_ids)}")
    names = {**{int(k): str(v) for k, v in detector.names.items()}, **remap.names}
    threshold = conf
    if threshold is None:
        point = best_f1_threshold(evals, iou=iou)
        threshold = point.threshold if point is not None else 0.25
    report = evaluate_detections(evals, names, iou=iou, conf=max(threshold, SWEEP_CONF))
    return HeldoutScore(
        images=len(evals),
        precision=report.precision,
        recall=report.recall,
        f1=report.f1 if report.f1 is not None else 0.0,
        ap50=report.ap50,
        threshold=float(threshold),
        report=report.to_dict(),
        evals=tuple(evals),
        names=dict(names),
    )


def heldout_ids(project: Any) -> list[int]:
    """The reviewed held-out images; ClinLensError when there are none yet."""
    from ml.training.dataset import HELDOUT, reviewed_images

    ids = [im.image_id for im in reviewed_images(project) if im.role == HELDOUT]
    if not ids:
        raise ClinLensError("no held-out images yet: review some images of the held-out set first")
    return ids
