"""``severity train --fine-tune`` / ``--grader similarity`` end to end on synthetic faces."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("skimage.data")
pytest.importorskip("torch")

from core.cli import main as cli
from core.store import Project
from ml.severity.finetune import NAME as TUNED
from ml.severity.finetune import FineTuneConfig
from ml.severity.similarity import SimilarityConfig
from ml.severity.synthetic import make_project
from ml.severity.train import TrainConfig, train_severity
from ml.severity.train_variants import VariantConfig

GRADES = [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 3.0, 3.0]


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("faces")
    make_project(folder, GRADES, seed=5, size=128)
    return folder


def _grade_last(folder: Path) -> dict:
    from ml.severity.grader import SeverityGrader

    grader = SeverityGrader.for_project(folder, "acne4")
    with Project.open(folder, read_only=True) as project:
        image_id = project.image_ids()[-1]
        before = project.grades(image_id)
        result = grader.grade_image(project, image_id, k=3).to_dict()
        assert project.grades(image_id) == before  # grading stores nothing by itself
    return result


@pytest.mark.slow  # the wheel's Lite0 twice, on 32-px patches
def test_a_fine_tuned_model_registers_and_grades(project_dir: Path) -> None:
    steps: list[str] = []
    summary = train_severity(
        project_dir,
        TrainConfig(
            scale="acne4",
            backbone="auto",
            folds=3,
            variant=VariantConfig(fine_tune=FineTuneConfig(epochs=1, input_size=32)),
        ),
        progress=lambda done, total, message: steps.append(message),
    )
    assert summary["backbone"] == TUNED and summary["fine_tune"]["blocks"] == 2
    assert any("fold 3 of 3, fine-tuning: epoch 1 of 1" in m for m in steps)
    assert "tuned_head" in summary["other_metrics"]
    result = _grade_last(project_dir)
    assert 0 <= result["value"] <= 3 and len(result["references"]) == 3


def test_a_similarity_model_registers_and_grades_by_its_references(project_dir: Path) -> None:
    summary = train_severity(
        project_dir,
        TrainConfig(
            scale="acne4",
            backbone="builtin",
            folds=3,
            variant=VariantConfig(grader="similarity", similarity=SimilarityConfig(steps=20)),
        ),
    )
    assert summary["grader"] == "similarity" and summary["metrics"]["folds"] == 3
    result = _grade_last(project_dir)
    refs = result["references"]
    assert len(refs) == 3 and refs == sorted(refs, key=lambda r: r["distance"])
    # The suggestion is a similarity-weighted mean of reference grades: within the scale.
    assert 0 <= result["continuous"] <= 3


def test_fine_tuning_needs_lite0_and_a_known_grader(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["severity", "train", str(project_dir), "--scale", "acne4"]
    assert cli([*argv, "--fine-tune", "--backbone", "builtin"]) == 2
    assert "EfficientNet-Lite0" in capsys.readouterr().err
    assert cli([*argv, "--fine-tune", "--grader", "similarity"]) == 2
    assert "not supported yet" in capsys.readouterr().err


def test_the_worker_reads_the_grader_and_fine_tuning_from_a_train_request() -> None:
    from core.errors import ClinLensError
    from ml.severity_worker import variant_of

    assert variant_of({"scale": "acne4"}).fine_tune is None
    v = variant_of({"fine_tune": {"blocks": 1, "epochs": 2}, "grader": "regression"})
    assert v.fine_tune is not None and (v.fine_tune.blocks, v.fine_tune.epochs) == (1, 2)
    assert variant_of({"fine_tune": True}).fine_tune == FineTuneConfig()
    assert variant_of({"grader": "similarity"}).grader == "similarity"
    with pytest.raises(ClinLensError, match="lr"):
        variant_of({"fine_tune": {"lr": 1}})
