"""Gate, remaps, held-out stand-in, dataset and lock of ml.training (no torch, fast)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from core.annotations import builtin_label_set
from core.errors import ClinLensError
from ml.training.gate import HeldoutScore, beats, evaluate_detector
from ml.training.lock import LOCK_NAME, TrainingRunningError, training_lock
from ml.training.recipe import preset, remap_from_dict, remap_to_dict, training_remap
from tests.ml.conftest import make_blob_detector
from tests.ml.training_fixtures import make_reviewed_project


def _score(f1: float | None, ap50: float | None) -> HeldoutScore:
    return HeldoutScore(3, None, None, f1, ap50, 0.25, {})


def test_gate_needs_strictly_better_f1_or_equal_f1_and_better_ap50() -> None:
    assert beats(_score(0.1, 0.1), None)  # the first model becomes active
    assert beats(_score(0.6, 0.1), _score(0.5, 0.9))
    assert not beats(_score(0.5, 0.9), _score(0.6, 0.1))
    assert beats(_score(0.5, 0.6), _score(0.5, 0.5))
    assert not beats(_score(0.5, 0.5), _score(0.5, 0.5))  # a tie keeps the active one
    assert not beats(_score(None, None), _score(0.0, 0.0))


class _Blank:
    """A detector that finds nothing."""

    def __init__(self) -> None:
        self.names = {0: "key"}
        self.conf = 0.25

    def predict_raw(self, raw, **kwargs):  # type: ignore[no-untyped-def]
        from types import SimpleNamespace

        return SimpleNamespace(detections=[])


def test_a_blank_model_is_kept_as_candidate_against_one_that_finds_the_objects(
    tmp_path: Path,
) -> None:
    from core.store import Project

    project_dir = tmp_path / "p"
    make_reviewed_project(project_dir, n_images=14)
    remap = training_remap("agnostic", builtin_label_set("xray"))
    with Project.open(project_dir, read_only=True) as project:
        ids = project.image_ids()[:4]
        blob = make_blob_detector(tile=128, overlap=32, threshold=200, names={0: "anomaly"})
        found = evaluate_detector(project, blob, ids, remap)
        blank = evaluate_detector(project, _Blank(), ids, remap)
    assert found.f1 is not None and found.f1 > 0.5
    assert blank.f1 == 0.0 and blank.images == found.images == 4
    assert not beats(blank, found)
    assert beats(found, blank)


def test_binary_and_score_remaps() -> None:
    labels = builtin_label_set("xray")
    binary = training_remap("binary", labels)
    assert binary.names == {0: "clothing", 1: "anomaly"}
    assert binary.class_of("zipper", 5, 5) == 0 and binary.class_of("key", 5, 5) == 1
    score = training_remap("score", labels, per_class_f1={"key": 0.9, "zipper": 0.6})
    assert score.name_of("key", 1, 1) == "f1 above 0.75"
    assert score.name_of("zipper", 1, 1) == "f1 0.5-0.75"
    assert score.name_of("watch", 1, 1) == "f1 below 0.25"
    assert remap_from_dict(remap_to_dict(score)) == score
    with pytest.raises(ClinLensError, match="evaluation"):
        training_remap("score", labels)
    with pytest.raises(ClinLensError, match="--remap"):
        training_remap("bogus", labels)


def test_presets() -> None:
    xray = preset("xray")
    assert (xray.optimizer, xray.lr0, xray.batch, xray.tiles, xray.tile_size) == (
        "Adam", 0.001, 8, 4, 512,
    )  # fmt: skip
    assert xray.val_every == 2 and xray.tiling()["mode"] == "tiles"
    acne = preset("acne")
    assert acne.imgsz == 640 and acne.tiles == 0 and acne.tiling()["mode"] == "whole"
    with pytest.raises(ClinLensError):
        preset("xray", imgsz=100)


def test_dataset_uses_only_reviewed_train_images_and_the_model_pixels(tmp_path: Path) -> None:
    from core.store import Project
    from ml.training.dataset import HELDOUT, build_dataset, image_pixels, reviewed_images

    project_dir = tmp_path / "p"
    ids = make_reviewed_project(project_dir, n_images=14)
    with Project.open(project_dir) as project:
        project.set_review_status(ids[0], "in_progress")  # not reviewed: never used
    with Project.open(project_dir, read_only=True) as project:
        images = reviewed_images(project)
        assert ids[0] not in {im.image_id for im in images}
        held = [im.image_id for im in images if im.role == HELDOUT]
        assert held  # the stand-in held-out split is deterministic for this project
        recipe = preset("xray", tiles=0, imgsz=128, tile_size=128, augment_copies=0)
        data, summary = build_dataset(
            project, recipe, training_remap("none", project.label_set()), tmp_path / "ds"
        )
        written = {p.stem for p in (tmp_path / "ds" / "images").rglob("*.png")}
        assert all(f"im{i:06d}" not in written for i in [ids[0], *held])
        assert summary.images == 13 - len(held) and summary.heldout_images == len(held)
        import cv2

        first = sorted((tmp_path / "ds" / "images" / "train").glob("*.png"))[0]
        image_id = int(first.stem[2:])
        assert np.array_equal(
            cv2.imread(str(first), cv2.IMREAD_GRAYSCALE), image_pixels(project, image_id)
        )
        assert data.read_text().count("\n  ") == 18


def test_training_lock_refuses_a_second_and_takes_over_a_stale_one(tmp_path: Path) -> None:
    with training_lock(tmp_path):
        assert (tmp_path / LOCK_NAME).read_text() == str(os.getpid())
        with pytest.raises(TrainingRunningError, match="already running"), training_lock(tmp_path):
            pass
    assert not (tmp_path / LOCK_NAME).exists()
    (tmp_path / LOCK_NAME).write_text("999999999")  # a pid that does not run
    with training_lock(tmp_path):
        pass


def test_the_xray_preset_hands_ultralytics_the_studys_recipe(tmp_path: Path) -> None:
    # Adam, lr 0.001, batch 8, flips at p = 0.5; colour jitter, scaling and erasing off
    # (blur and brightness/contrast are applied offline to the tiles instead).
    from ml.training.recipe import preset
    from ml.training.runner import ultralytics_args

    args = ultralytics_args(
        preset("xray"), "m.yaml", tmp_path / "data.yaml", tmp_path, device="cpu", amp=False
    )
    assert (args["optimizer"], args["lr0"], args["batch"]) == ("Adam", 0.001, 8)
    assert args["fliplr"] == 0.5 and args["pretrained"] is False
    assert all(args[k] == 0.0 for k in ("hsv_h", "hsv_s", "hsv_v", "scale", "erasing", "mixup"))
    acne = ultralytics_args(
        preset("acne"), "m.yaml", tmp_path / "data.yaml", tmp_path, device="cpu", amp=False
    )
    assert acne["imgsz"] == 640 and acne["hsv_v"] == 0.3  # photos keep colour jitter


def test_a_time_budget_reaches_ultralytics_and_is_checked(tmp_path: Path) -> None:
    """``--hours`` (CPU runs sized to the time there is): ultralytics' ``time`` re-plans the
    epochs; without it no ``time`` is passed and ``epochs`` rules."""
    from core.errors import ClinLensError
    from ml.training.recipe import Recipe, preset
    from ml.training.runner import ultralytics_args

    budget = preset("acne", hours=1.25, epochs=60)
    args = ultralytics_args(
        budget, "m.yaml", tmp_path / "d.yaml", tmp_path, device="cpu", amp=False
    )
    assert args["time"] == 1.25 and args["epochs"] == 60
    assert Recipe.from_dict(budget.to_dict()).hours == 1.25  # travels to the worker
    plain = ultralytics_args(
        preset("acne"), "m.yaml", tmp_path / "d.yaml", tmp_path, device="cpu", amp=False
    )
    assert "time" not in plain
    with pytest.raises(ClinLensError, match="--hours"):
        preset("acne", hours=-1.0)


def test_the_count_error_is_split_by_the_images_human_grade(tmp_path: Path) -> None:
    """``model evaluate`` reports the lesion-count error per grade: the gate hands each
    held-out image's human grade to the evaluation (the model's own grade is not one)."""
    from core.annotations import Grade
    from core.annotations.scales import builtin_scale
    from core.store import Project
    from ml.training.gate import human_grade

    assert human_grade([Grade("acne4", 2.0, source="model"), Grade("acne4", 3.0)]) == 3
    assert human_grade([Grade("x", 1.5)]) == "1.5" and human_grade([]) is None

    project_dir = tmp_path / "p"
    make_reviewed_project(project_dir, n_images=6)
    remap = training_remap("agnostic", builtin_label_set("xray"))
    with Project.open(project_dir, read_only=False) as project:
        project.add_scale(builtin_scale("acne4"))
        ids = project.image_ids()[:4]
        for image_id, grade in zip(ids, (0, 0, 2, 2), strict=True):
            project.set_grade(image_id, "acne4", float(grade))
        blank = evaluate_detector(project, _Blank(), ids, remap)
    by_grade = blank.report["count"]["by_grade"]
    assert set(by_grade) == {"0", "2"} and by_grade["0"]["n"] == by_grade["2"]["n"] == 2
