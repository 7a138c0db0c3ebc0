"""Lesion-count error (MAE, RMSE, mean and SD of predicted - true), overall and per grade,
at the study's score thresholds; checked against numpy by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import ClinLensError
from ml.evaluation import (
    STUDY_THRESHOLDS,
    ErrorStats,
    ImageEval,
    count_error_stats,
    count_errors,
    evaluate_counts,
    evaluate_detections,
)

PRED = [3, 0, 7, 12, 5, 5]
TRUE = [2, 1, 7, 15, 9, 4]
GRADES = [0, 0, 1, 2, 2, 2]


def test_count_errors_by_hand() -> None:
    c = count_error_stats(PRED, TRUE)
    e = np.array(PRED, float) - np.array(TRUE, float)  # 1, -1, 0, -3, -4, 1
    assert c.overall.n == 6
    assert c.overall.mae == pytest.approx(10 / 6) == np.abs(e).mean()
    assert c.overall.rmse == pytest.approx(np.sqrt(28 / 6)) == np.sqrt((e**2).mean())
    assert c.overall.mean == pytest.approx(-1.0)
    # sample SD (ddof=1): sum((e - mean)^2) = 4 + 0 + 1 + 4 + 9 + 4 = 22 -> sqrt(22 / 5)
    assert c.overall.std == pytest.approx(np.sqrt(22 / 5)) == np.std(e, ddof=1)
    assert c.by_grade == {} and c.threshold is None


def test_count_errors_per_grade() -> None:
    c = count_error_stats(PRED, TRUE, GRADES)
    assert list(c.by_grade) == ["0", "1", "2"]
    g0, g1, g2 = c.by_grade["0"], c.by_grade["1"], c.by_grade["2"]
    assert (g0.n, g0.mae, g0.rmse, g0.mean) == (2, 1.0, 1.0, 0.0)
    assert g0.std == pytest.approx(np.std([1, -1], ddof=1))
    assert (g1.n, g1.mae, g1.mean) == (1, 0.0, 0.0) and g1.std is None  # one image: no SD
    e2 = np.array([-3, -4, 1], float)
    assert g2.mae == pytest.approx(np.abs(e2).mean())
    assert g2.rmse == pytest.approx(np.sqrt((e2**2).mean()))
    assert g2.mean == pytest.approx(e2.mean()) and g2.std == pytest.approx(e2.std(ddof=1))


def test_grades_in_numeric_order_text_grades_and_ungraded_images() -> None:
    c = count_error_stats([1, 2, 3, 4], [1, 1, 1, 1], [np.int64(10), 2, None, 2])
    assert list(c.by_grade) == ["2", "10"]  # numeric order, numpy ints included
    assert c.overall.n == 4 and sum(s.n for s in c.by_grade.values()) == 3
    t = count_error_stats([1, 2, 3], [1, 1, 1], ["severe", "mild", "mild"])
    assert list(t.by_grade) == ["mild", "severe"] and t.by_grade["mild"].mean == 1.5


def test_counts_at_the_study_thresholds_are_inclusive() -> None:
    scores = [[0.25, 0.5, 0.75, 0.9], [0.1, 0.3], []]
    report = count_errors(scores, [2, 1, 0], grades=["a", "b", "b"])
    assert tuple(report.by_threshold) == STUDY_THRESHOLDS == (0.25, 0.5, 0.75)
    # predicted counts: 0.25 -> (4, 1, 0), 0.5 -> (3, 0, 0), 0.75 -> (2, 0, 0)
    expect = {0.25: [2, 0, 0], 0.5: [1, -1, 0], 0.75: [0, -1, 0]}
    for thr, errors in expect.items():
        got = report.by_threshold[thr]
        e = np.array(errors, float)
        assert got.threshold == thr
        assert got.overall.mae == pytest.approx(np.abs(e).mean())
        assert got.overall.rmse == pytest.approx(np.sqrt((e**2).mean()))
        assert got.overall.mean == pytest.approx(e.mean())
        assert got.overall.std == pytest.approx(e.std(ddof=1))
        assert got.by_grade["a"].mean == errors[0]
    d = json.loads(json.dumps(report.to_dict()))
    assert set(d["thresholds"]) == {"0.25", "0.5", "0.75"}
    assert {"threshold", "n", "mae", "rmse", "mean", "std", "by_grade"} == set(
        d["thresholds"]["0.5"]
    )


def test_counts_from_images_use_the_counted_classes_and_the_human_count() -> None:
    box = [0.0, 0.0, 10.0, 10.0]
    a = ImageEval(
        [box] * 3, [0, 0, 1], [0.9, 0.6, 0.9], [box] * 2, [0, 1], grade=1, true_count=None
    )
    b = ImageEval([box] * 2, [0, 0], [0.3, 0.8], [], [], grade=2, true_count=4)  # human said 4
    every = evaluate_counts([a, b])
    # 0.5: predicted (3, 1) vs true (2, 4) -> errors (1, -3)
    assert every.by_threshold[0.5].overall.mean == -1.0
    only0 = evaluate_counts([a, b], count_classes={0})
    # class 0 only, 0.5: predicted (2, 1) vs true (1, 4): the human count is taken as given
    assert only0.by_threshold[0.5].overall.mae == 2.0
    assert only0.by_threshold[0.5].by_grade["1"].mean == 1.0
    report = evaluate_detections([a, b], {0: "papule", 1: "comedo"}, conf=0.5, count_classes={0})
    assert report.count is not None
    assert report.count.to_dict() == only0.by_threshold[0.5].to_dict()


def test_bad_counts_are_refused() -> None:
    with pytest.raises(ClinLensError, match="one predicted and one true count"):
        count_error_stats([1, 2], [1])
    with pytest.raises(ClinLensError):
        count_error_stats([], [])
    with pytest.raises(ValueError, match="grades"):
        count_error_stats([1, 2], [1, 2], grades=[0])
    with pytest.raises(ValueError, match="negative"):
        count_error_stats([-1], [1])
    with pytest.raises(ValueError, match="thresholds"):
        count_errors([[0.5]], [1], thresholds=(1.5,))
    with pytest.raises(ValueError):
        ErrorStats.from_errors([])
