"""Detection metrics: precision, recall, F1, AP50, a class confusion matrix, an operating
threshold and the lesion-count error, from per-image predicted and true boxes.

What goes in: one :class:`ImageEval` per image, with the predicted boxes (``x1, y1, x2,
y2`` in continuous image coordinates, class id, score) and the true boxes (corners, class
id), in the same pixels. Inference is the caller's: with the fixed tiling of the X-ray
study (``ml.detector``: tiles, then NMS merge), so what is measured is what the expert
will be shown. For the AP the predictions should be taken at a low score threshold (as
ultralytics' ``val()`` uses 0.001): the AP sweeps every threshold above the lowest score.

Conventions (the same in every function here):

- **Matching** (PASCAL VOC / COCO / ultralytics' validator): per image and per class,
  predictions are taken in descending score and each takes the free true box of its class
  it overlaps most, if IoU ``>= iou`` (inclusive, default 0.5): that prediction is a true
  positive (TP). Any other prediction is a false positive (FP): a second detection of an
  already found object, a box of the wrong class, a box on nothing. A true box no
  prediction took is a false negative (FN). Geometry and the greedy matching are
  ``core.annotations.geometry`` (``match_boxes``), shared with tile merging and reader
  agreement. Greedy matching by descending score means a prediction's TP/FP status never
  depends on lower-scoring predictions, so the matching is done once for every threshold.
- **Score threshold**: a prediction counts at threshold ``conf`` when its score is
  ``>= conf`` (inclusive).
- **Precision, recall, F1** at ``conf``: ``TP/(TP+FP)``, ``TP/(TP+FN)``, and
  ``2TP/(2TP+FP+FN)`` (the harmonic mean of the two, and 0 when there is no TP). A ratio
  with a zero denominator is undefined and reported as ``None``: precision of a class
  with no prediction, recall of a class with no true box. *Overall* P/R/F1 are
  micro-averaged: the TP, FP and FN of all classes pooled (a box of a class without true
  boxes is still a false positive).
- **AP50**: the area under the precision-recall curve at IoU 0.5 with **all-point
  interpolation** (PASCAL VOC 2010+, the COCO-style monotone envelope without sampling):
  precision is replaced by its running maximum from the right (the best precision at this
  recall or any higher), and the area of that step function is summed over every recall
  step. Ultralytics' ``val()`` samples the same envelope at 101 recall points and
  integrates by trapezoids (``ultralytics.utils.metrics.compute_ap``); the two agree to
  about 0.01 on ClinLens' fixtures (``tests/ml/test_evaluation_vs_ultralytics.py``).
  *Overall* AP50 is the mean over the classes that have true boxes (mAP50); a class
  without a true box has no AP (``None``) and is left out of the mean, as ultralytics
  leaves out classes absent from the labels. A class with true boxes and no prediction
  has AP 0.
- **Equal scores** are one step of the curve: the curve has one point per *distinct*
  score (as ``sklearn.metrics.precision_recall_curve``), so the AP never depends on the
  order in which tied predictions were listed. (Which of two tied predictions takes a
  true box is settled by list order, as in ``match_boxes``.)
- **Confusion matrix** (:func:`confusion_matrix`, as ultralytics' ``ConfusionMatrix``
  but transposed, with inclusive thresholds): rows are the true class, columns the
  predicted class, each with a last *background* entry. Predictions with score ``>=
  conf`` are matched to true boxes *class-agnostically* (greedy by score, IoU ``>=
  iou``), so a box found with the wrong class shows up off the diagonal. An unmatched
  prediction adds 1 to (background row, its class column), an unmatched true box to (its
  class row, background column); (background, background) stays 0. (Ultralytics'
  validator fills its matrix at IoU > 0.45 and score > its ``conf`` argument.)
- **Operating threshold** (:func:`best_f1_threshold`): the score threshold with the best
  micro F1 on the given set; among thresholds with equal F1, the *lowest* (the most
  sensitive one: a clinician rejects an extra suggestion in a click, a missed finding is
  worse). Each model version stores it, and suggestions and evaluation use it by default.

Pure numpy; no Qt, no torch.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from core.annotations.geometry import as_boxes, match_boxes
from ml.evaluation.counts import (
    STUDY_THRESHOLDS,
    CountErrors,
    CountReport,
    count_error_stats,
    count_errors,
)

AP_METHOD = "all-point"
BACKGROUND = "background"


# --- input --------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, init=False)
class ImageEval:
    """One image's predicted and true boxes, in the same pixel coordinates.

    Any array-like is taken and converted on construction: boxes to float (N, 4), classes
    to int (N,), scores to float (N,); omitted arrays are empty. ``grade`` (the image's
    human grade, for the count error per grade) and ``true_count`` (the human lesion
    count, when it is not simply the number of true boxes) are optional.
    """

    pred_boxes: np.ndarray
    pred_classes: np.ndarray
    pred_scores: np.ndarray
    true_boxes: np.ndarray
    true_classes: np.ndarray
    image_id: int | str | None
    grade: int | str | None
    true_count: int | None

    def __init__(
        self,
        pred_boxes: ArrayLike = (),
        pred_classes: ArrayLike = (),
        pred_scores: ArrayLike = (),
        true_boxes: ArrayLike = (),
        true_classes: ArrayLike = (),
        *,
        image_id: int | str | None = None,
        grade: int | str | None = None,
        true_count: int | None = None,
    ) -> None:
        pb = as_boxes(pred_boxes)[:, :4]
        tb = as_boxes(true_boxes)[:, :4]
        pc = _class_ids(pred_classes, "predicted")
        tc = _class_ids(true_classes, "true")
        ps = np.asarray(pred_scores, dtype=np.float64).reshape(-1)
        if not (len(pb) == len(pc) == len(ps)):
            raise ValueError(
                f"{len(pb)} predicted boxes, {len(pc)} classes and {len(ps)} scores"
                f" (image {image_id!r})"
            )
        if len(tb) != len(tc):
            raise ValueError(f"{len(tb)} true boxes and {len(tc)} classes (image {image_id!r})")
        if not (np.isfinite(pb).all() and np.isfinite(tb).all() and np.isfinite(ps).all()):
            raise ValueError(f"boxes and scores must be finite (image {image_id!r})")
        if true_count is not None and true_count < 0:
            raise ValueError("a lesion count cannot be negative")
        for name, value in (
            ("pred_boxes", pb),
            ("pred_classes", pc),
            ("pred_scores", ps),
            ("true_boxes", tb),
            ("true_classes", tc),
            ("image_id", image_id),
            ("grade", grade),
            ("true_count", true_count),
        ):
            object.__setattr__(self, name, value)

    @classmethod
    def from_rows(
        cls,
        pred: ArrayLike,
        truth: ArrayLike,
        *,
        image_id: int | str | None = None,
        grade: int | str | None = None,
        true_count: int | None = None,
    ) -> ImageEval:
        """From detection rows ``x1, y1, x2, y2, score, class`` (as ``ml.detector`` merges
        them) and true rows ``x1, y1, x2, y2, class``."""
        p = np.asarray(pred, dtype=np.float64)
        p = p.reshape(-1, 6) if p.size == 0 or p.ndim == 1 else p
        t = np.asarray(truth, dtype=np.float64)
        t = t.reshape(-1, 5) if t.size == 0 or t.ndim == 1 else t
        if p.ndim != 2 or p.shape[1] != 6 or t.ndim != 2 or t.shape[1] != 5:
            raise ValueError(f"rows must be (N, 6) and (M, 5), not {p.shape} and {t.shape}")
        return cls(
            pred_boxes=p[:, :4],
            pred_classes=p[:, 5],
            pred_scores=p[:, 4],
            true_boxes=t[:, :4],
            true_classes=t[:, 4],
            image_id=image_id,
            grade=grade,
            true_count=true_count,
        )


def _class_ids(values: ArrayLike, what: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    ids = np.rint(arr).astype(np.int64) if arr.size else np.zeros(0, dtype=np.int64)
    if arr.size and (not np.isfinite(arr).all() or (ids != arr).any() or (ids < 0).any()):
        raise ValueError(f"{what} class ids must be whole numbers >= 0")
    return ids


# --- results ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClassMetrics:
    """One class at the report's IoU and score threshold (AP over every threshold)."""

    class_id: int
    label: str
    truths: int  # true boxes of this class
    predictions: int  # predicted boxes of this class with score >= conf
    tp: int
    fp: int
    fn: int
    precision: float | None
    recall: float | None
    f1: float | None
    ap50: float | None  # None: no true box of this class (left out of the mean)

    def to_dict(self) -> dict[str, Any]:
        return {
            "class_id": self.class_id,
            "truths": self.truths,
            "predictions": self.predictions,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "ap50": self.ap50,
        }


@dataclass(frozen=True)
class DetectionReport:
    """Everything :func:`evaluate_detections` measures; ``to_dict()`` is what the CLI prints."""

    images: int
    iou: float
    conf: float
    tp: int
    fp: int
    fn: int
    precision: float | None  # micro, at conf
    recall: float | None
    f1: float | None
    ap50: float | None  # mean over classes with true boxes (mAP50)
    per_class: dict[str, ClassMetrics]
    count: CountErrors | None  # lesion-count error at conf (None without images)
    ap_method: str = AP_METHOD

    def to_dict(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "iou": self.iou,
            "conf": self.conf,
            "ap_method": self.ap_method,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "ap50": self.ap50,
            "per_class": {label: m.to_dict() for label, m in self.per_class.items()},
            "count": None if self.count is None else self.count.to_dict(),
        }


@dataclass(frozen=True, eq=False)
class PRCurve:
    """Precision and recall at every distinct score, highest score first.

    Point k keeps the predictions with score ``>= thresholds[k]``. ``recall`` is ``None``
    when there is no true box (then ``ap`` is ``None`` too). Empty arrays: no predictions.
    """

    class_id: int | None  # None: every class pooled (micro)
    thresholds: np.ndarray
    precision: np.ndarray
    recall: np.ndarray | None
    truths: int
    ap: float | None  # all-point AP at the curve's IoU

    def to_dict(self) -> dict[str, Any]:
        return {
            "class_id": self.class_id,
            "truths": self.truths,
            "ap": self.ap,
            "thresholds": self.thresholds.tolist(),
            "precision": self.precision.tolist(),
            "recall": None if self.recall is None else self.recall.tolist(),
        }


@dataclass(frozen=True)
class OperatingPoint:
    """A score threshold and what it gives on the set it was chosen on."""

    threshold: float
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


@dataclass(frozen=True, eq=False)
class ConfusionMatrix:
    """``matrix[true, predicted]``; index ``len(class_ids)`` is background on both axes."""

    class_ids: tuple[int, ...]
    labels: tuple[str, ...]  # the classes' names, then "background"
    matrix: np.ndarray  # int64, (C + 1, C + 1)
    iou: float
    conf: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": "true",
            "columns": "predicted",
            "labels": list(self.labels),
            "class_ids": list(self.class_ids),
            "iou": self.iou,
            "conf": self.conf,
            "matrix": self.matrix.tolist(),
        }


# --- matching, once for every threshold -------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Matched:
    scores: np.ndarray  # every prediction of every image
    classes: np.ndarray
    tp: np.ndarray  # bool: matched to a true box of its class at IoU >= iou
    truths: dict[int, int]  # true boxes per class


def _image_tp(im: ImageEval, iou: float) -> np.ndarray:
    tp = np.zeros(len(im.pred_scores), dtype=bool)
    for c in np.unique(im.pred_classes):
        pi = np.flatnonzero(im.pred_classes == c)
        ti = np.flatnonzero(im.true_classes == c)
        if len(ti) == 0:
            continue
        m = match_boxes(im.pred_boxes[pi], im.true_boxes[ti], iou, scores=im.pred_scores[pi])
        for i, _j in m.pairs:
            tp[pi[i]] = True
    return tp


def _match(images: Sequence[ImageEval], iou: float) -> _Matched:
    _check_iou(iou)
    scores, classes, tps = [], [], []
    truths: dict[int, int] = {}
    for im in images:
        tp = _image_tp(im, iou)
        for c, n in zip(*np.unique(im.true_classes, return_counts=True), strict=True):
            truths[int(c)] = truths.get(int(c), 0) + int(n)
        scores.append(im.pred_scores)
        classes.append(im.pred_classes)
        tps.append(tp)
    return _Matched(
        scores=np.concatenate(scores) if scores else np.zeros(0),
        classes=np.concatenate(classes) if classes else np.zeros(0, dtype=np.int64),
        tp=np.concatenate(tps) if tps else np.zeros(0, dtype=bool),
        truths=truths,
    )


def _check_iou(iou: float) -> None:
    if not 0.0 < iou <= 1.0:
        raise ValueError(f"the IoU threshold must be in (0, 1], not {iou}")


def _check_conf(conf: float) -> None:
    if not 0.0 <= conf <= 1.0:
        raise ValueError(f"the score threshold must be in [0, 1], not {conf}")


def _steps(scores: np.ndarray, tp: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct scores (descending) with the cumulative TP and FP at each."""
    order = np.argsort(-scores, kind="stable")
    s, t = scores[order], tp[order]
    tpc = np.cumsum(t, dtype=np.int64)
    fpc = np.cumsum(~t, dtype=np.int64)
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1] if len(s) else np.zeros(0, int)
    return s[last], tpc[last], fpc[last]


def average_precision(recall: ArrayLike, precision: ArrayLike) -> float:
    """All-point interpolated AP of a precision-recall curve (recall non-decreasing).

    ``sum_k (r_k - r_{k-1}) * max_{j >= k} p_j`` with ``r_0 = 0``: the area under the
    monotone precision envelope. Recall the curve never reaches adds nothing.
    """
    r = np.asarray(recall, dtype=np.float64).reshape(-1)
    p = np.asarray(precision, dtype=np.float64).reshape(-1)
    if r.shape != p.shape:
        raise ValueError(f"{r.size} recall values and {p.size} precision values")
    if r.size == 0:
        return 0.0
    if (np.diff(r) < 0).any():
        raise ValueError("recall must be non-decreasing along the curve")
    envelope = np.maximum.accumulate(p[::-1])[::-1]
    return float(np.sum(np.diff(np.r_[0.0, r]) * envelope))


def _curve(m: _Matched, class_id: int | None) -> PRCurve:
    sel = np.ones(len(m.scores), dtype=bool) if class_id is None else m.classes == class_id
    truths = sum(m.truths.values()) if class_id is None else m.truths.get(class_id, 0)
    thr, tpc, fpc = _steps(m.scores[sel], m.tp[sel])
    precision = tpc / np.maximum(tpc + fpc, 1)
    if truths == 0:
        return PRCurve(class_id, thr, precision, None, 0, None)
    recall = tpc / truths
    return PRCurve(class_id, thr, precision, recall, truths, average_precision(recall, precision))


def _ratio(num: int, den: int) -> float | None:
    return num / den if den > 0 else None


# --- public functions ---------------------------------------------------------------------
def evaluate_detections(
    images: Sequence[ImageEval],
    class_names: Mapping[int, str],
    *,
    iou: float = 0.5,
    conf: float = 0.25,
    count_classes: Collection[int] | None = None,
) -> DetectionReport:
    """P/R/F1 at ``conf``, AP50 over all scores, per class and overall; count error at ``conf``.

    ``class_names`` names every class id the boxes use (an unknown id is an error). The
    lesion count of an image is its predicted boxes with score ``>= conf`` in
    ``count_classes`` (default: every class) against ``ImageEval.true_count`` or, when that
    is not given, its true boxes in ``count_classes``.
    """
    _check_conf(conf)
    names = _names(class_names, images)
    m = _match(images, iou)
    keep = m.scores >= conf
    per_class: dict[str, ClassMetrics] = {}
    aps: list[float] = []
    for cid, label in names.items():
        sel = keep & (m.classes == cid)
        tp = int(m.tp[sel].sum())
        fp = int(sel.sum()) - tp
        n = m.truths.get(cid, 0)
        curve = _curve(m, cid)
        if curve.ap is not None:
            aps.append(curve.ap)
        per_class[label] = ClassMetrics(
            class_id=cid,
            label=label,
            truths=n,
            predictions=tp + fp,
            tp=tp,
            fp=fp,
            fn=n - tp,
            precision=_ratio(tp, tp + fp),
            recall=_ratio(tp, n),
            f1=_ratio(2 * tp, 2 * tp + fp + (n - tp)),
            ap50=curve.ap,
        )
    tp = sum(c.tp for c in per_class.values())
    fp = sum(c.fp for c in per_class.values())
    fn = sum(c.fn for c in per_class.values())
    count = None
    if images:
        pred_counts = [
            int(((im.pred_scores >= conf) & _counted(im.pred_classes, count_classes)).sum())
            for im in images
        ]
        true_counts = _true_counts(images, count_classes)
        count = count_error_stats(pred_counts, true_counts, _grades(images), threshold=conf)
    return DetectionReport(
        images=len(images),
        iou=float(iou),
        conf=float(conf),
        tp=tp,
        fp=fp,
        fn=fn,
        precision=_ratio(tp, tp + fp),
        recall=_ratio(tp, tp + fn),
        f1=_ratio(2 * tp, 2 * tp + fp + fn),
        ap50=float(np.mean(aps)) if aps else None,
        per_class=per_class,
        count=count,
    )


def match_detections(images: Sequence[ImageEval], *, iou: float = 0.5) -> list[np.ndarray]:
    """Per image, one bool per predicted box: True for a true positive at ``iou`` (matched
    to a true box of its class), False for a false positive. For drawing TP/FP boxes and
    for checking the counts against other libraries."""
    _check_iou(iou)
    return [_image_tp(im, iou) for im in images]


def pr_curve(
    images: Sequence[ImageEval], class_id: int | None = None, *, iou: float = 0.5
) -> PRCurve:
    """The precision-recall curve of one class, or of every class pooled (``None``).

    The pooled curve ranks all predictions together (micro): its AP is not the mean of the
    classes' APs.
    """
    return _curve(_match(images, iou), class_id)


def best_f1_threshold(
    images: Sequence[ImageEval],
    *,
    iou: float = 0.5,
    class_id: int | None = None,
    candidates: Sequence[float] | None = None,
) -> OperatingPoint | None:
    """The score threshold with the best F1 (micro over classes, or of ``class_id``).

    Candidates are the distinct predicted scores (each one the lowest score it keeps, so
    ``score >= threshold`` reproduces the point exactly), or the given ``candidates``.
    Equal F1: the lowest threshold wins. ``None`` when no threshold gives a true positive
    (no true box, or none found): every threshold is then as bad as another.
    """
    m = _match(images, iou)
    sel = np.ones(len(m.scores), dtype=bool) if class_id is None else m.classes == class_id
    truths = sum(m.truths.values()) if class_id is None else m.truths.get(class_id, 0)
    scores, tp = m.scores[sel], m.tp[sel]
    if candidates is None:
        thr, tpc, fpc = _steps(scores, tp)
    else:
        thr = np.unique(np.asarray(candidates, dtype=np.float64))[::-1]
        for t in thr:
            _check_conf(float(t))
        tpc = np.array([int(tp[scores >= t].sum()) for t in thr], dtype=np.int64)
        fpc = np.array([int((scores >= t).sum()) for t in thr], dtype=np.int64) - tpc
    if truths == 0 or len(thr) == 0 or tpc.max() == 0:
        return None
    # F1 = 2TP / (TP + FP + truths); compared exactly, so equal F1s really are ties.
    best = 0
    best_f1 = Fraction(0)
    for k in range(len(thr)):  # descending thresholds: ">=" lets a lower one win a tie
        f1 = Fraction(2 * int(tpc[k]), int(tpc[k] + fpc[k]) + truths)
        if f1 >= best_f1:
            best, best_f1 = k, f1
    tp_k, fp_k = int(tpc[best]), int(fpc[best])
    return OperatingPoint(
        threshold=float(thr[best]),
        precision=tp_k / (tp_k + fp_k),
        recall=tp_k / truths,
        f1=float(best_f1),
        tp=tp_k,
        fp=fp_k,
        fn=truths - tp_k,
    )


def confusion_matrix(
    images: Sequence[ImageEval],
    class_names: Mapping[int, str],
    *,
    iou: float = 0.5,
    conf: float = 0.25,
) -> ConfusionMatrix:
    """Class confusion with a background row and column (see the module docstring)."""
    _check_iou(iou)
    _check_conf(conf)
    names = _names(class_names, images)
    ids = tuple(names)
    index = {c: k for k, c in enumerate(ids)}
    bg = len(ids)
    mat = np.zeros((bg + 1, bg + 1), dtype=np.int64)
    for im in images:
        keep = im.pred_scores >= conf
        pb, pc, ps = im.pred_boxes[keep], im.pred_classes[keep], im.pred_scores[keep]
        match = match_boxes(pb, im.true_boxes, iou, scores=ps)
        for i, j in match.pairs:
            mat[index[int(im.true_classes[j])], index[int(pc[i])]] += 1
        for j in match.unmatched_truth:
            mat[index[int(im.true_classes[j])], bg] += 1
        for i in match.unmatched_pred:
            mat[bg, index[int(pc[i])]] += 1
    return ConfusionMatrix(
        class_ids=ids,
        labels=(*names.values(), BACKGROUND),
        matrix=mat,
        iou=float(iou),
        conf=float(conf),
    )


def evaluate_counts(
    images: Sequence[ImageEval],
    thresholds: Sequence[float] = STUDY_THRESHOLDS,
    *,
    count_classes: Collection[int] | None = None,
) -> CountReport:
    """Lesion-count error at each score threshold (the study's 0.25 / 0.5 / 0.75 table);
    counted as in :func:`evaluate_detections`."""
    scores = [im.pred_scores[_counted(im.pred_classes, count_classes)] for im in images]
    return count_errors(scores, _true_counts(images, count_classes), _grades(images), thresholds)


def _counted(classes: np.ndarray, count_classes: Collection[int] | None) -> np.ndarray:
    if count_classes is None:
        return np.ones(len(classes), dtype=bool)
    return np.isin(classes, np.asarray(sorted(count_classes), dtype=np.int64))


def _true_counts(images: Sequence[ImageEval], count_classes: Collection[int] | None) -> list[int]:
    return [
        int(_counted(im.true_classes, count_classes).sum())
        if im.true_count is None
        else int(im.true_count)
        for im in images
    ]


def _grades(images: Sequence[ImageEval]) -> list[int | str | None]:
    return [im.grade for im in images]


def _names(class_names: Mapping[int, str], images: Sequence[ImageEval]) -> dict[int, str]:
    names = {int(c): str(n) for c, n in sorted(class_names.items())}
    if len(set(names.values())) != len(names):
        raise ValueError("class names must be unique (they key the per-class results)")
    used: set[int] = set()
    for im in images:
        used.update(int(c) for c in im.pred_classes)
        used.update(int(c) for c in im.true_classes)
    unknown = sorted(used - set(names))
    if unknown:
        raise ValueError(f"class ids without a name: {unknown}")
    return names
