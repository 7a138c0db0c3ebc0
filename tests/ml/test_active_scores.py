"""Informativeness scores: an ambiguous image ranks above a confident one, the mirror term
sees boxes that move, severity prefers a face on a grade edge, a failing image is skipped."""

from __future__ import annotations

import numpy as np

from ml.active.detection import score_rgb, scoring_mode
from ml.active.scores import (
    STRATEGIES,
    calibrate,
    detection_terms,
    flip_boxes,
    flip_disagreement,
    severity_terms,
)
from ml.active.service import Outcome, Scorer, iter_scores
from tests.ml.conftest import make_blob_detector


def test_calibration_puts_the_operating_threshold_at_one_half() -> None:
    p = calibrate(np.array([0.0, 0.1, 0.2, 0.6, 1.0]), 0.2)
    assert np.allclose(p, [0.0, 0.25, 0.5, 0.75, 1.0])


def test_ambiguous_boxes_score_above_confident_ones_for_every_strategy() -> None:
    confident = detection_terms(np.array([0.97, 0.95, 0.01]), 0.5, flip=0.02)
    ambiguous = detection_terms(np.array([0.52, 0.45, 0.01]), 0.5, flip=0.4)
    for strategy in STRATEGIES:
        assert ambiguous.score(strategy) > confident.score(strategy), strategy
    assert ambiguous.uncertain_boxes == 2 and confident.uncertain_boxes == 0
    assert "2 uncertain boxes" in ambiguous.reasons()
    empty = detection_terms(np.array([]), 0.5, flip=0.0)
    assert empty.score() == 0.0 and empty.reasons() == ["no box found: likely empty"]


def test_flip_disagreement_is_zero_when_the_mirror_agrees_and_one_when_it_does_not() -> None:
    boxes = np.array([[10.0, 10, 30, 30]])
    mirrored = flip_boxes(np.array([[70.0, 10, 90, 30]]), 100)  # the same box, mirrored
    assert np.allclose(mirrored, boxes)
    same = flip_disagreement(boxes, [0.9], ["key"], mirrored, [0.9], ["key"])
    assert same == 0.0
    moved = flip_disagreement(boxes, [0.9], ["key"], boxes + 40, [0.9], ["key"])
    assert moved == 1.0
    relabelled = flip_disagreement(boxes, [0.9], ["key"], mirrored, [0.9], ["belt buckle"])
    assert relabelled == 1.0


def _blob_image(size: int, blobs: list[tuple[int, int, int]]) -> np.ndarray:
    img = np.zeros((size, size, 3), np.uint8)
    for x, y, s in blobs:
        img[y : y + s, x : x + s] = 255
    return img


def test_through_the_detector_an_ambiguous_image_ranks_above_a_confident_one() -> None:
    # The stand-in network scores a blob 0.5 + area / 1000: big blobs are sure, tiny ones
    # sit on a 0.52 operating threshold.
    detector = make_blob_detector(tile=128, overlap=0, conf=0.52)
    confident = _blob_image(128, [(10, 10, 22), (70, 70, 22)])  # area 484 -> 0.98
    ambiguous = _blob_image(128, [(10, 10, 4), (70, 70, 5)])  # area 16/25 -> 0.52
    with scoring_mode(detector) as (threshold, tap):
        assert threshold == 0.52 and detector.conf < threshold
        s_conf, r_conf, f_conf, _ = score_rgb(detector, confident, threshold, tap)
        s_amb, r_amb, _, terms = score_rgb(detector, ambiguous, threshold, tap)
    assert detector.conf == 0.52, "the operating threshold is restored"
    assert s_amb > s_conf
    assert any("uncertain box" in r for r in r_amb) and r_conf
    assert f_conf is not None and f_conf.shape == (64,), "thumbnail features without a network"
    assert terms["flip"] == 0.0, "blobs do not move when mirrored"


def test_severity_prefers_a_face_on_a_grade_edge_with_disagreeing_neighbours() -> None:
    allowed = np.array([0.0, 1.0, 2.0, 3.0])
    edge = severity_terms(allowed, 1.5, 0.0, [1.0, 2.0, 1.0, 2.0])
    clear = severity_terms(allowed, 2.0, 1.0, [2.0, 2.0, 2.0])
    assert edge.score() > clear.score()
    assert "grade between 1 and 2" in edge.reasons()
    assert clear.reasons() == ["clear grade"]


class _Flaky(Scorer):
    model = "m:1"

    def score(self, project, image_id, cancel):  # type: ignore[no-untyped-def]
        if image_id == 2:
            raise RuntimeError("the model failed on this image")
        return Outcome(image_id, f"{image_id}.png", score=0.5)


class _P:
    def image(self, image_id: int):  # type: ignore[no-untyped-def]
        class R:
            path = f"{image_id}.png"

        return R()


def test_a_model_failing_on_an_image_skips_it_and_keeps_the_others() -> None:
    outs = list(iter_scores(_P(), _Flaky(), [1, 2, 3]))
    assert [o.ok for o in outs] == [True, False, True]
    assert "failed on this image" in (outs[1].error or "")
