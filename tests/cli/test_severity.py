"""`severity train | predict | evaluate` on a small project of synthetic graded faces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("skimage.data")

from core.annotations import Box
from core.cli import main as cli
from core.store import NewImage, Project
from ml import registry
from ml.severity.synthetic import make_project

GRADES = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 3.0]


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("faces")
    ids = make_project(folder, GRADES, seed=4, lesion_boxes=True)
    bad = folder / "photos" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with Project.open(folder) as project:
        (bad_id,) = project.add_images([NewImage(path=str(bad), width=512, height=512)])
        project.set_grade(bad_id, "acne4", 1.0)
        # The detector's suggestions on two photos: what lesion-count evaluation scores.
        for image_id in ids[4:6]:
            human = project.boxes(image_id)
            project.add_boxes(
                image_id,
                [
                    Box(b.x1, b.y1, b.x2, b.y2, "papule", source="model", status="suggested")
                    for b in human[:-1]
                ]
                + [Box(5, 5, 9, 9, "papule", source="model", status="rejected")],
            )
    return folder


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _grades(folder: Path) -> dict[int, list[tuple[str, str, float, str | None, float | None]]]:
    with Project.open(folder, read_only=True) as project:
        return {
            i: [
                (g.scale, g.source, g.value, g.model_version, g.confidence)
                for g in project.grades(i)
            ]
            for i in project.image_ids()
        }


@pytest.mark.slow
def test_train_predict_evaluate_round_trip(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(
        capsys,
        "severity",
        "train",
        str(project_dir),
        "--scale",
        "acne4",
        "--backbone",
        "builtin",
        "--json",
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["model"] == "severity-acne4:1"
    # Synthetic faces are one photo with painted lesions: near-identical, and said so.
    assert any("copies of 1 source" in n for n in summary["notes"])
    assert summary["training"]["faces"] == 12
    assert [s["image"] for s in summary["training"]["skipped"]] == ["photos/broken.png"]
    reg = summary["metrics"]["regression"]
    assert set(reg) >= {"rmse", "mae", "medae", "explained_variance", "mape", "r2"}
    assert 0.0 <= summary["metrics"]["grades"]["accuracy"] <= 1.0
    (info,) = registry.list_models(project_dir, "severity")
    assert info.status == "active" and info.extra["scale"] == "acne4"
    assert (project_dir / "models" / info.file).is_file()

    before = _grades(project_dir)
    code, out, err = _run(capsys, "severity", "predict", str(project_dir), "--all", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["graded"] == 12 and len(result["skipped"]) == 1
    after = _grades(project_dir)
    for image_id, grades in after.items():
        human = [g for g in grades if g[1] == "human"]
        assert human == [g for g in before[image_id] if g[1] == "human"]  # never touched
        model = [g for g in grades if g[1] == "model"]
        if image_id == max(after):  # the broken photo
            assert model == []
            continue
        (scale, _src, value, version, confidence) = model[0]
        assert scale == "acne4" and version == "severity-acne4:1"
        assert value in (0.0, 1.0, 2.0, 3.0) and confidence is not None and 0 <= confidence <= 1
    first = result["results"][0]
    assert first["method"] == "landmarks" and len(first["patches"]) == 4
    assert first["references"] and all(
        r["image_id"] != first["image_id"] for r in first["references"]
    )
    assert first["lesion_count"] is None  # a grade-0 face: no lesion boxes
    severe = result["results"][-1]  # grade 3: lesion boxes, counted per half face
    assert severe["lesion_count"]["by_midline"] and severe["lesion_count"]["count"] > 5

    code, out, err = _run(
        capsys,
        "severity",
        "evaluate",
        str(project_dir),
        "--scale",
        "acne4",
        "--folds",
        "3",
        "--backbone",
        "builtin",
        "--json",
    )
    assert code == 0, err
    ev = json.loads(out)
    assert set(ev["results"]) == {"smote", "no_smote"}
    for res in ev["results"].values():
        assert res["folds"] == 3 and res["faces"] == 12
        assert "mean_gamma_deviance" in res["regression"]
        assert len(res["grades"]["confusion_matrix"]) == 4
    lesions = ev["lesion_counting"]
    assert lesions["images"] == 2
    assert lesions["overall"]["n"] == 2

    code, out, _err = _run(
        capsys,
        "severity",
        "evaluate",
        str(project_dir),
        "--scale",
        "acne4",
        "--folds",
        "3",
        "--regressor",
        "rbf",
        "--backbone",
        "builtin",
    )
    assert code == 0
    assert "no_smote" in out and "smote" in out and "confusion matrix" in out
    assert "rbf regressor" in out

    # Retraining without SMOTE registers version 2 and sets version 1 aside.
    code, out, err = _run(
        capsys,
        "severity",
        "train",
        str(project_dir),
        "--scale",
        "acne4",
        "--no-smote",
        "--backbone",
        "builtin",
    )
    assert code == 0, err
    assert "severity-acne4:2" in out and "SMOTE off" in out
    statuses = {m.version: m.status for m in registry.list_models(project_dir, "severity")}
    assert statuses == {1: "candidate", 2: "active"}


@pytest.mark.slow
def test_grader_api_for_the_gui(project_dir: Path) -> None:
    from ml.severity.grader import SeverityGrader
    from ml.severity.train import TrainConfig, train_severity

    if not registry.list_models(project_dir, "severity"):
        train_severity(project_dir, TrainConfig(scale="acne4", folds=3))
    grader = SeverityGrader.for_project(project_dir, "acne4")
    with Project.open(project_dir, read_only=True) as project:
        image_id = project.image_ids()[-2]
        result = grader.grade_image(project, image_id, k=3)
    assert result.patches.method == "landmarks"
    assert {p.region for p in result.patches.patches} == {
        "forehead",
        "left_cheek",
        "right_cheek",
        "chin",
    }
    assert len(result.references) == 3
    assert all(r.image_id != image_id for r in result.references)
    assert result.lesion_count is not None and result.lesion_count.count > 0
    assert result.suggestion.scale == "acne4"


def test_too_few_graded_photos_exit_2_with_the_number_needed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_project(tmp_path, [0.0, 1.0, 2.0, 3.0], size=128)
    code, _out, err = _run(capsys, "severity", "train", str(tmp_path), "--scale", "acne4")
    assert code == 2
    assert "4 usable human-graded face photos" in err and "at least 10 (grade 6 more)" in err
    assert len(err.strip().splitlines()) == 1
    code, _out, err = _run(capsys, "severity", "evaluate", str(tmp_path), "--scale", "hyperpig")
    assert code == 2 and "0 usable" in err
    code, _out, err = _run(capsys, "severity", "train", str(tmp_path), "--scale", "nope")
    assert code == 2 and "no 'nope' grading scale" in err


def test_predict_without_a_model_and_resnet_without_weights_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_project(tmp_path, [0.0] * 6 + [2.0] * 6, size=128)
    code, _out, err = _run(capsys, "severity", "predict", str(tmp_path), "--all")
    assert code == 2 and "no severity model" in err
    code, _out, err = _run(capsys, "severity", "predict", str(tmp_path))
    assert code == 2 and "--all" in err
    code, _out, err = _run(
        capsys, "severity", "train", str(tmp_path), "--scale", "acne4", "--backbone", "resnet50"
    )
    assert code == 2 and "never downloads" in err
    bad = tmp_path / "w.pth"
    bad.write_bytes(b"nope")
    code, _out, err = _run(
        capsys,
        "severity",
        "train",
        str(tmp_path),
        "--scale",
        "acne4",
        "--backbone",
        "resnet50",
        "--weights",
        str(bad),
    )
    assert code == 2 and "w.pth cannot be read as PyTorch weights" in err


@pytest.mark.slow
def test_a_severity_model_imported_into_another_project_grades_there(
    project_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ml.severity.model_io import graded_scales
    from ml.severity.train import TrainConfig, train_severity

    if not registry.list_models(project_dir, "severity"):
        train_severity(project_dir, TrainConfig(scale="acne4", folds=3))
    trained = registry.find_model(project_dir, "severity")
    source = project_dir / "models" / trained.file
    other = tmp_path / "clinic"
    assert (
        _run(capsys, "project", "create", str(other), "--labels", "acne", "--scales", "acne4")[0]
        == 0
    )

    code, _out, err = _run(
        capsys, "model", "import", str(other), str(source), "--kind", "severity", "--name", "shared"
    )
    assert code == 0, err
    (info,) = registry.list_models(other, "severity")
    assert info.extra["scale"] == "acne4" and info.sha256 == trained.sha256
    assert graded_scales(other) == ["acne4"]

    junk = tmp_path / "not-a-model.joblib"
    junk.write_bytes(b"not a pickle at all")
    code, _out, err = _run(capsys, "model", "import", str(other), str(junk), "--kind", "severity")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_predict_names_unknown_images_and_refuses_a_project_without_images(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    assert _run(capsys, "project", "create", str(empty), "--labels", "acne")[0] == 0
    code, out, err = _run(capsys, "severity", "predict", str(empty), "--all")
    assert code == 2 and out == "" and "has no images" in err and err.count("\n") == 1
    make_project(tmp_path / "p", [0.0, 1.0], size=128)
    code, _out, err = _run(
        capsys, "severity", "predict", str(tmp_path / "p"), "1", "999", "ghost.png"
    )
    assert code == 2 and "not images of this project: 999, ghost.png" in err


@pytest.mark.slow
def test_a_trained_model_is_saved_in_a_format_that_cannot_run_code(project_dir: Path) -> None:
    import numpy as np

    from ml.severity.train import TrainConfig, train_severity

    if not registry.list_models(project_dir, "severity"):
        train_severity(project_dir, TrainConfig(scale="acne4", folds=3))
    trained = registry.find_model(project_dir, "severity")
    path = project_dir / "models" / trained.file
    assert trained.file.endswith(".npz") and trained.source == "trained"
    with np.load(path, allow_pickle=False) as npz:  # every entry an array, no pickle
        assert "__model__" in npz.files and all(npz[k].dtype != object for k in npz.files)
    with Project.open(project_dir, read_only=True) as project:
        record = project.model_trust.get(trained.file)
    assert record is not None and record.origin == "trained"
    assert record.sha256 == trained.sha256
