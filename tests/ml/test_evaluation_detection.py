"""Detection metrics on hand-computed cases, and P/R/F1 and PR curves against scikit-learn."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from ml.evaluation import (
    BACKGROUND,
    ImageEval,
    average_precision,
    best_f1_threshold,
    confusion_matrix,
    evaluate_detections,
    match_detections,
    pr_curve,
)
from tests.ml.conftest import make_blob_detector

NAMES = {0: "key", 1: "belt buckle"}
GT = [0.0, 0.0, 100.0, 100.0]


def image(
    pred: Sequence[Sequence[float]] = (),
    truth: Sequence[Sequence[float]] = (),
    **kwargs: Any,
) -> ImageEval:
    """Rows ``x1, y1, x2, y2, score, class`` and ``x1, y1, x2, y2, class``."""
    return ImageEval.from_rows(list(pred), list(truth), **kwargs)


def random_images(
    rng: np.random.Generator, n_images: int = 30, n_classes: int = 3
) -> list[ImageEval]:
    """Random true boxes; predictions near some of them (jittered, some wrong class), plus
    boxes on nothing; float scores."""
    out = []
    for _ in range(n_images):
        n = int(rng.integers(0, 6))
        xy = rng.uniform(0, 400, size=(n, 2))
        wh = rng.uniform(10, 60, size=(n, 2))
        truth = np.c_[xy, xy + wh, rng.integers(0, n_classes, n)]
        pred = []
        for t in truth:
            for _ in range(int(rng.integers(0, 3))):  # 0, 1 or 2 detections (a duplicate)
                jitter = rng.normal(0, 0.15, 4) * np.r_[t[2] - t[0], t[3] - t[1]].repeat(2)
                cls = t[4] if rng.random() < 0.8 else rng.integers(0, n_classes)
                pred.append([*(t[:4] + jitter), rng.random(), cls])
        for _ in range(int(rng.integers(0, 3))):
            p = rng.uniform(0, 400, 2)
            pred.append(
                [*p, *(p + rng.uniform(10, 60, 2)), rng.random(), rng.integers(0, n_classes)]
            )
        out.append(ImageEval.from_rows(np.asarray(pred).reshape(-1, 6), truth.reshape(-1, 5)))
    return out


# --- matching at IoU 0.5 ------------------------------------------------------------------


@pytest.mark.parametrize(("width", "hit"), [(49.0, False), (50.0, True), (51.0, True)])
def test_a_box_at_iou_049_misses_and_at_050_or_051_hits(width: float, hit: bool) -> None:
    # The prediction lies inside the true box, so its IoU is its area share: width / 100.
    im = image([(0, 0, width, 100, 0.9, 0)], [(*GT, 0)])
    report = evaluate_detections([im], NAMES, conf=0.5)
    assert report.tp == int(hit) and report.fp == int(not hit) and report.fn == int(not hit)
    assert report.per_class["key"].ap50 == (1.0 if hit else 0.0)


def test_a_second_detection_of_the_same_object_is_a_false_positive() -> None:
    # The lower-scoring box overlaps more, but the higher score takes the object first.
    im = image([(0, 0, 100, 100, 0.6, 0), (0, 0, 90, 100, 0.9, 0)], [(*GT, 0)])
    assert match_detections([im])[0].tolist() == [False, True]
    report = evaluate_detections([im], NAMES, conf=0.5)
    key = report.per_class["key"]
    assert (key.tp, key.fp, key.fn) == (1, 1, 0)
    assert key.precision == 0.5 and key.recall == 1.0 and key.f1 == pytest.approx(2 / 3)
    # The duplicate comes after the hit: full recall at precision 1 was reached first.
    assert key.ap50 == 1.0


def test_a_box_of_the_wrong_class_is_a_false_positive_and_the_object_is_missed() -> None:
    im = image([(*GT, 0.9, 1)], [(*GT, 0)])
    report = evaluate_detections([im], NAMES)
    assert report.per_class["key"].fn == 1 and report.per_class["belt buckle"].fp == 1
    assert report.precision == 0.0 and report.recall == 0.0 and report.f1 == 0.0


def test_an_empty_image_with_predictions_adds_only_false_positives() -> None:
    base = [image([(*GT, 0.9, 0)], [(*GT, 0)])]
    with_fp = [*base, image([(10, 10, 50, 50, 0.8, 0), (60, 60, 90, 90, 0.3, 0)], [])]
    a = evaluate_detections(base, NAMES)
    b = evaluate_detections(with_fp, NAMES)
    assert (b.tp, b.fp, b.fn) == (a.tp, a.fp + 2, a.fn)
    assert b.precision == pytest.approx(1 / 3) and b.recall == 1.0
    assert b.ap50 == a.ap50 == 1.0  # the false positives score below the hit


def test_an_empty_image_without_predictions_contributes_nothing() -> None:
    base = [image([(*GT, 0.9, 0), (200, 200, 240, 240, 0.8, 0)], [(*GT, 0), (300, 0, 340, 40, 0)])]
    a = evaluate_detections(base, NAMES)
    b = evaluate_detections([*base, image([], [])], NAMES)
    assert b.images == a.images + 1
    assert b.to_dict()["per_class"] == a.to_dict()["per_class"]
    assert (b.precision, b.recall, b.f1, b.ap50) == (a.precision, a.recall, a.f1, a.ap50)


def test_a_class_with_true_boxes_and_no_predictions_has_ap_0_and_recall_0() -> None:
    im = image([(*GT, 0.9, 0)], [(*GT, 0), (200, 200, 230, 230, 1)])
    report = evaluate_detections([im], NAMES)
    buckle = report.per_class["belt buckle"]
    assert buckle.ap50 == 0.0 and buckle.recall == 0.0 and buckle.f1 == 0.0
    assert buckle.precision is None  # no prediction: precision is undefined, not 0 or 1
    assert report.ap50 == pytest.approx(0.5)  # (1.0 + 0.0) / 2: it counts in the mean


def test_a_class_with_predictions_and_no_true_box_is_left_out_of_the_mean_ap() -> None:
    im = image([(*GT, 0.9, 0), (200, 200, 230, 230, 0.8, 1)], [(*GT, 0)])
    report = evaluate_detections([im], NAMES)
    buckle = report.per_class["belt buckle"]
    assert buckle.precision == 0.0 and buckle.fp == 1
    assert buckle.recall is None and buckle.ap50 is None
    assert report.ap50 == 1.0  # only "key" has true boxes, as ultralytics' mAP
    assert report.precision == 0.5  # but the box is still a false positive overall


def test_tied_scores_are_one_point_of_the_curve_whatever_their_order() -> None:
    hit, miss = (0, 0, 100, 100, 0.7, 0), (200, 200, 300, 300, 0.7, 0)
    a = pr_curve([image([hit, miss], [(*GT, 0)])], 0)
    b = pr_curve([image([miss, hit], [(*GT, 0)])], 0)
    for curve in (a, b):
        assert curve.thresholds.tolist() == [0.7]
        assert curve.precision.tolist() == [0.5] and curve.recall is not None
        assert curve.recall.tolist() == [1.0]
        assert curve.ap == 0.5  # listed one by one, the order would decide between 1.0 and 0.5


def test_a_perfect_detector_has_ap_1_and_precision_recall_f1_1() -> None:
    rng = np.random.default_rng(3)
    images = []
    for im in random_images(rng):
        pred = np.c_[im.true_boxes, rng.uniform(0.5, 1, len(im.true_boxes)), im.true_classes]
        images.append(ImageEval.from_rows(pred, np.c_[im.true_boxes, im.true_classes]))
    report = evaluate_detections(images, {0: "a", 1: "b", 2: "c"})
    assert report.ap50 == 1.0 and all(m.ap50 == 1.0 for m in report.per_class.values())
    assert report.precision == report.recall == report.f1 == 1.0


def test_ap_by_hand_takes_the_precision_envelope_over_every_recall_step() -> None:
    # 3 objects; ranked: hit, miss, hit, miss (the third object is never found).
    truth = [(0, 0, 10, 10, 0), (20, 0, 30, 10, 0), (40, 0, 50, 10, 0)]
    pred = [
        (0, 0, 10, 10, 0.9, 0),
        (60, 0, 70, 10, 0.8, 0),
        (20, 0, 30, 10, 0.7, 0),
        (80, 0, 90, 10, 0.6, 0),
    ]
    curve = pr_curve([image(pred, truth)], 0)
    assert curve.recall is not None
    np.testing.assert_allclose(curve.recall, [1 / 3, 1 / 3, 2 / 3, 2 / 3])
    np.testing.assert_allclose(curve.precision, [1, 1 / 2, 2 / 3, 1 / 2])
    # envelope 1, 2/3, 2/3, 1/2 -> 1/3 * 1 + 1/3 * 2/3 = 5/9
    assert curve.ap == pytest.approx(5 / 9, abs=1e-15)
    assert average_precision([0.5, 1.0], [1.0, 0.5]) == 0.75
    assert average_precision([], []) == 0.0
    with pytest.raises(ValueError, match="non-decreasing"):
        average_precision([0.5, 0.2], [1.0, 1.0])


def test_pooled_curve_ranks_every_class_together() -> None:
    im = image([(*GT, 0.9, 0), (200, 200, 230, 230, 0.8, 1)], [(*GT, 0), (300, 0, 330, 30, 1)])
    pooled = pr_curve([im])
    assert pooled.class_id is None and pooled.truths == 2 and pooled.recall is not None
    assert pooled.precision.tolist() == [1.0, 0.5] and pooled.recall.tolist() == [0.5, 0.5]
    assert pooled.ap == 0.5
    assert pr_curve([image([(*GT, 0.9, 1)], [])], 1).ap is None  # no true box: no AP


# --- against scikit-learn -----------------------------------------------------------------


@pytest.mark.parametrize("conf", [0.0, 0.25, 0.5, 0.75])
def test_precision_recall_f1_equal_scikit_learn_on_the_matched_outcomes(conf: float) -> None:
    from sklearn.metrics import f1_score, precision_score, recall_score

    images = random_images(np.random.default_rng(11), n_images=40)
    report = evaluate_detections(images, {0: "a", 1: "b", 2: "c"}, conf=conf)
    tp = np.concatenate(match_detections(images))
    scores = np.concatenate([im.pred_scores for im in images])
    classes = np.concatenate([im.pred_classes for im in images])
    for cid, label in {0: "a", 1: "b", 2: "c", None: None}.items():
        sel = scores >= conf if cid is None else (scores >= conf) & (classes == cid)
        truths = sum(
            int((im.true_classes == cid).sum()) if cid is not None else len(im.true_classes)
            for im in images
        )
        n_fn = truths - int(tp[sel].sum())
        # each kept prediction: predicted positive, truly positive if it matched; each missed
        # object: truly positive, not predicted.
        y_true = np.r_[tp[sel], np.ones(n_fn, dtype=bool)]
        y_pred = np.r_[np.ones(sel.sum(), dtype=bool), np.zeros(n_fn, dtype=bool)]
        m = report if label is None else report.per_class[label]
        assert m.precision == pytest.approx(precision_score(y_true, y_pred))
        assert m.recall == pytest.approx(recall_score(y_true, y_pred))
        assert m.f1 == pytest.approx(f1_score(y_true, y_pred))


@pytest.mark.parametrize("class_id", [0, 1, None])
def test_pr_curve_equals_scikit_learn_precision_recall_curve(class_id: int | None) -> None:
    from sklearn.metrics import precision_recall_curve

    rng = np.random.default_rng(5)
    images = random_images(rng, n_images=40, n_classes=2)
    # Round the scores so that many tie: scikit-learn also makes one point per distinct score.
    images = [
        ImageEval(
            im.pred_boxes,
            im.pred_classes,
            np.round(im.pred_scores, 1),
            im.true_boxes,
            im.true_classes,
        )
        for im in images
    ]
    curve = pr_curve(images, class_id)
    tp = np.concatenate(match_detections(images))
    scores = np.concatenate([im.pred_scores for im in images])
    classes = np.concatenate([im.pred_classes for im in images])
    sel = np.ones(len(scores), dtype=bool) if class_id is None else classes == class_id
    n_fn = curve.truths - int(tp[sel].sum())
    # Missed objects are positives ranked below every prediction (score -1): recall is then
    # TP / all true boxes at every real threshold, as in detection.
    y_true = np.r_[tp[sel], np.ones(n_fn, dtype=bool)]
    y_score = np.r_[scores[sel], -np.ones(n_fn)]
    precision, recall, thresholds = precision_recall_curve(y_true, y_score)
    real = thresholds >= 0
    assert curve.recall is not None
    np.testing.assert_allclose(curve.thresholds, thresholds[real][::-1])
    np.testing.assert_allclose(curve.precision, precision[:-1][real][::-1])
    np.testing.assert_allclose(curve.recall, recall[:-1][real][::-1])
    # All-point AP: area under the precision envelope of scikit-learn's own curve.
    p, r = precision[:-1][real][::-1], recall[:-1][real][::-1]
    envelope = np.maximum.accumulate(p[::-1])[::-1]
    assert curve.ap == pytest.approx(float(np.sum(np.diff(np.r_[0, r]) * envelope)), abs=1e-12)


# --- confusion matrix ---------------------------------------------------------------------


def test_confusion_matrix_rows_true_columns_predicted_with_background() -> None:
    im = image(
        [
            (0, 0, 100, 100, 0.9, 0),  # key found as key
            (200, 0, 240, 20, 0.8, 0),  # buckle found as key (class-agnostic match)
            (400, 400, 450, 450, 0.7, 1),  # a buckle on nothing
            (0, 0, 95, 100, 0.6, 1),  # duplicate of the key, as buckle: the key is taken
            (300, 300, 350, 350, 0.1, 0),  # below conf: not counted at all
        ],
        [(*GT, 0), (200, 0, 240, 20, 1), (0, 300, 30, 330, 1)],  # the last buckle is missed
    )
    cm = confusion_matrix([im], NAMES, conf=0.25)
    assert cm.labels == ("key", "belt buckle", BACKGROUND)
    expected = [
        [1, 0, 0],  # true key: predicted key
        [1, 0, 1],  # true buckle: once as key, once missed (background column)
        [0, 2, 0],  # background: two buckle boxes on nothing / duplicates
    ]
    assert cm.matrix.tolist() == expected
    d = cm.to_dict()
    assert d["rows"] == "true" and d["columns"] == "predicted" and d["matrix"] == expected
    json.dumps(d)


def test_confusion_matrix_totals_are_the_boxes() -> None:
    images = random_images(np.random.default_rng(2))
    cm = confusion_matrix(images, {0: "a", 1: "b", 2: "c"}, conf=0.3)
    n_true = sum(len(im.true_classes) for im in images)
    n_pred = sum(int((im.pred_scores >= 0.3).sum()) for im in images)
    assert cm.matrix[:-1].sum() == n_true  # every true box once, in its row
    assert cm.matrix[:, :-1].sum() == n_pred  # every kept prediction once, in its column
    assert cm.matrix[-1, -1] == 0


# --- operating threshold ------------------------------------------------------------------


def _ranked(outcomes: list[tuple[float, bool]], truths: int) -> ImageEval:
    """An image with ``truths`` objects; each (score, hit) is a box on the next free
    object (hit) or on nothing (miss)."""
    truth = [(100.0 * k, 0.0, 100.0 * k + 50, 50.0, 0) for k in range(truths)]
    pred, k = [], 0
    for score, hit in outcomes:
        if hit:
            pred.append((100.0 * k, 0.0, 100.0 * k + 50, 50.0, score, 0))
            k += 1
        else:
            pred.append((0.0, 500.0, 50.0, 550.0, score, 0))
    return image(pred, truth)


def test_best_f1_threshold_on_a_constructed_case() -> None:
    # thresholds -> F1 = 2TP / (TP + FP + 4): .9 -> 2/5, .8 -> 4/6, .7 -> 4/7, .6 -> 6/8, .3 -> 6/9
    im = _ranked([(0.9, True), (0.8, True), (0.7, False), (0.6, True), (0.3, False)], truths=4)
    op = best_f1_threshold([im])
    assert op is not None
    assert op.threshold == 0.6 and op.f1 == 0.75
    assert (op.tp, op.fp, op.fn) == (3, 1, 1) and op.precision == 0.75 and op.recall == 0.75
    # The point is reproduced by applying the stored threshold with ">=".
    assert evaluate_detections([im], {0: "key"}, conf=op.threshold).f1 == op.f1


def test_best_f1_ties_go_to_the_lower_threshold() -> None:
    # .9 -> 2/3 and .6 -> 4/6 = 2/3: equal F1, the lower (more sensitive) threshold wins.
    im = _ranked([(0.9, True), (0.8, False), (0.7, False), (0.6, True)], truths=2)
    op = best_f1_threshold([im])
    assert op is not None and op.threshold == 0.6 and op.f1 == pytest.approx(2 / 3)


def test_best_f1_among_given_candidates_and_none_without_a_true_positive() -> None:
    im = _ranked([(0.9, True), (0.8, True), (0.7, False), (0.6, True), (0.3, False)], truths=4)
    op = best_f1_threshold([im], candidates=[0.25, 0.5, 0.75])
    assert op is not None and op.threshold == 0.5 and op.f1 == 0.75
    assert best_f1_threshold([_ranked([(0.9, False)], truths=2)]) is None
    assert best_f1_threshold([_ranked([(0.9, False)], truths=0)]) is None
    assert best_f1_threshold([]) is None


# --- tiled inference, report format, input checks -----------------------------------------


def test_tiled_predictions_from_the_detector_evaluate_as_they_are_drawn() -> None:
    # The blob detector runs the real tiling (128 px tiles, 32 px overlap) and NMS merge;
    # objects cross tile borders. The evaluator takes the merged boxes in image pixels.
    det = make_blob_detector(tile=128, overlap=32)
    img = np.zeros((200, 300), dtype=np.uint8)
    objects = [(10, 10, 40, 40), (84, 60, 124, 100), (180, 90, 230, 140), (250, 150, 290, 190)]
    for x1, y1, x2, y2 in objects:
        img[y1:y2, x1:x2] = 255
    img[150:152, 20:22] = 255  # 4 pixels: found, but not an object (a false positive)
    pred = det.predict_rgb8(img)
    rows = [(d.x1, d.y1, d.x2, d.y2, d.score, d.class_id) for d in pred.detections]
    truth = [(*o, 0) for o in objects] + [(150, 10, 170, 30, 0)]  # one object never drawn
    report = evaluate_detections([ImageEval.from_rows(rows, truth)], {0: "key"}, conf=0.25)
    assert pred.tiles > 1
    assert (report.tp, report.fp, report.fn) == (4, 1, 1)
    assert report.ap50 == pytest.approx(0.8)  # 4 of 5 objects found, all before the FP


def test_report_to_dict_is_json_with_the_cli_keys() -> None:
    images = random_images(np.random.default_rng(8), n_images=5)
    images = [
        ImageEval(
            im.pred_boxes, im.pred_classes, im.pred_scores, im.true_boxes, im.true_classes, grade=g
        )
        for im, g in zip(images, [0, 1, 1, 2, None], strict=True)
    ]
    d = json.loads(json.dumps(evaluate_detections(images, {0: "a", 1: "b", 2: "c"}).to_dict()))
    for key in ("images", "precision", "recall", "f1", "ap50", "per_class", "count"):
        assert key in d
    assert d["ap_method"] == "all-point" and set(d["per_class"]) == {"a", "b", "c"}
    assert {"mae", "rmse", "mean", "std", "by_grade"} <= set(d["count"])
    assert set(d["count"]["by_grade"]) == {"0", "1", "2"}
    assert d["count"]["n"] == 5  # the ungraded image is in the overall numbers
    json.dumps(pr_curve(images).to_dict())


def test_an_empty_set_gives_undefined_numbers_not_errors() -> None:
    report = evaluate_detections([], NAMES)
    assert report.images == 0 and report.ap50 is None and report.precision is None
    assert report.count is None
    assert report.per_class["key"].ap50 is None


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="without a name"):
        evaluate_detections([image([(*GT, 0.9, 7)], [])], NAMES)
    with pytest.raises(ValueError, match="unique"):
        evaluate_detections([], {0: "a", 1: "a"})
    with pytest.raises(ValueError, match="scores"):
        ImageEval(np.zeros((2, 4)), [0, 0], [0.5], np.zeros((0, 4)), [])
    with pytest.raises(ValueError, match="whole numbers"):
        ImageEval(np.zeros((1, 4)), [0.5], [0.5], np.zeros((0, 4)), [])
    with pytest.raises(ValueError, match="finite"):
        ImageEval(np.zeros((1, 4)), [0], [np.nan], np.zeros((0, 4)), [])
    with pytest.raises(ValueError, match="IoU"):
        evaluate_detections([], NAMES, iou=0.0)
    with pytest.raises(ValueError, match="score threshold"):
        evaluate_detections([], NAMES, conf=1.5)
