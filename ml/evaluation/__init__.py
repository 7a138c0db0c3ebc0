"""Evaluation metrics, measured on the project's frozen held-out reviewed images.

- ``detection``: precision / recall / F1 at IoU 0.5 and a score threshold, AP50 (all-point
  interpolation), per class and overall; the class confusion matrix with a background
  row and column; the precision-recall curve; the best-F1 operating threshold; the per-box TP/FP outcome.
- ``counts``: lesion-count error against the human count (MAE, RMSE, mean and SD of
  predicted - true), overall and per grade, at the study's score thresholds.

Pure numpy (box geometry from ``core.annotations.geometry``); no Qt, no torch. Severity's
own metrics stay in ``ml.severity.evaluate``.
"""

from ml.evaluation.counts import (
    STUDY_THRESHOLDS,
    CountErrors,
    CountReport,
    ErrorStats,
    count_error_stats,
    count_errors,
)
from ml.evaluation.detection import (
    AP_METHOD,
    BACKGROUND,
    ClassMetrics,
    ConfusionMatrix,
    DetectionReport,
    ImageEval,
    OperatingPoint,
    PRCurve,
    average_precision,
    best_f1_threshold,
    confusion_matrix,
    evaluate_counts,
    evaluate_detections,
    match_detections,
    pr_curve,
)

__all__ = [
    "AP_METHOD",
    "BACKGROUND",
    "STUDY_THRESHOLDS",
    "ClassMetrics",
    "ConfusionMatrix",
    "CountErrors",
    "CountReport",
    "DetectionReport",
    "ErrorStats",
    "ImageEval",
    "OperatingPoint",
    "PRCurve",
    "average_precision",
    "best_f1_threshold",
    "confusion_matrix",
    "count_error_stats",
    "count_errors",
    "evaluate_counts",
    "evaluate_detections",
    "match_detections",
    "pr_curve",
]
