"""``model import``, ``model list`` and ``predict`` on a small project, with a tiny real YOLO."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from core.annotations import Box
from core.cli import main as cli_main
from core.store import Project
from tests.ml.conftest import (
    TINY_CLASSES,
    make_xray_project,
    tiny_yolo,  # noqa: F401  (session fixture)
)

pytestmark = pytest.mark.slow


@pytest.fixture()
def project_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "proj"
    make_xray_project(folder, n_images=3)
    return folder


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = cli_main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def _import(capsys: pytest.CaptureFixture[str], project_dir: Path, weights: Path) -> dict:
    rc, out, err = _run(
        capsys, "model", "import", str(project_dir), str(weights), "--kind", "detector",
        "--name", "phantom", "--json",
    )  # fmt: skip
    assert rc == 0, err
    return json.loads(out)


def test_predict_without_a_model_says_to_import_or_train_one(
    capsys: pytest.CaptureFixture[str], project_dir: Path
) -> None:
    rc, out, err = _run(capsys, "predict", str(project_dir), "--all", "--json")
    assert rc == 2
    assert out == ""
    assert "no detector model yet" in err and "model import" in err and "train" in err
    assert err.count("\n") == 1  # one line, no traceback


def test_model_import_and_list(
    capsys: pytest.CaptureFixture[str],
    project_dir: Path,
    tiny_yolo: Path,  # noqa: F811
) -> None:
    entry = _import(capsys, project_dir, tiny_yolo)
    assert entry["ref"] == "phantom:1" and entry["kind"] == "detector"
    assert (project_dir / "models" / entry["file"]).is_file()
    rc, out, _ = _run(capsys, "model", "list", str(project_dir), "--json")
    assert rc == 0
    listed = json.loads(out)
    assert [m["ref"] for m in listed["models"]] == ["phantom:1"]
    model = listed["models"][0]
    assert model["classes"] == list(TINY_CLASSES) and model["imgsz"] == 128
    assert len(model["sha256"]) == 64 and model["created"]
    assert listed["unregistered"] == []


def _import_json(
    capsys: pytest.CaptureFixture[str], project_dir: Path, weights: Path, *extra: str
) -> tuple[dict, str]:
    rc, out, err = _run(
        capsys, "model", "import", str(project_dir), str(weights), "--kind", "detector",
        "--json", *extra,
    )  # fmt: skip
    assert rc == 0, err
    return json.loads(out), err


def test_import_tile_size_defaults_to_the_checkpoints_imgsz_in_every_mode(
    capsys: pytest.CaptureFixture[str],
    project_dir: Path,
    tiny_yolo: Path,  # noqa: F811
) -> None:
    # the tiny checkpoint was trained at imgsz 128: whole images are fed at 128, not 512
    whole, _ = _import_json(capsys, project_dir, tiny_yolo, "--name", "w", "--tiling", "whole")
    assert whole["imgsz"] == 128
    assert whole["tiling"] == {"tile": 128, "overlap": 32, "scale": 1.0, "mode": "whole"}
    tiles, _ = _import_json(capsys, project_dir, tiny_yolo, "--name", "t", "--overlap", "16")
    assert tiles["tiling"] == {"tile": 128, "overlap": 16, "scale": 1.0, "mode": "tiles"}
    explicit, _ = _import_json(
        capsys, project_dir, tiny_yolo, "--name", "e", "--tiling", "whole", "--tile", "256"
    )
    assert explicit["tiling"]["tile"] == 256 and explicit["tiling"]["mode"] == "whole"
    plain, _ = _import_json(capsys, project_dir, tiny_yolo, "--name", "p")
    assert plain["tiling"] is None  # the detector then feeds the checkpoint's imgsz itself


def test_reimporting_a_file_is_idempotent_only_with_the_same_name_and_tiling(
    capsys: pytest.CaptureFixture[str],
    project_dir: Path,
    tiny_yolo: Path,  # noqa: F811
) -> None:
    first, err = _import_json(
        capsys, project_dir, tiny_yolo, "--name", "phantom", "--tiling", "whole"
    )
    assert first["ref"] == "phantom:1" and not first["already_registered"]
    assert "already registered" not in err
    again, err = _import_json(
        capsys, project_dir, tiny_yolo, "--name", "phantom", "--tiling", "whole"
    )
    assert again["ref"] == "phantom:1" and again["already_registered"]
    assert f"already registered as phantom:1 (models/{first['file']})" in err
    # another tiling: a new version with the new settings, the old one unchanged
    tiled, err = _import_json(capsys, project_dir, tiny_yolo, "--name", "phantom", "--tile", "64")
    assert tiled["ref"] == "phantom:2" and "already registered" not in err
    assert tiled["tiling"]["tile"] == 64 and tiled["tiling"]["mode"] == "tiles"
    # another name: a new entry
    other, _ = _import_json(capsys, project_dir, tiny_yolo, "--name", "other", "--tiling", "whole")
    assert other["ref"] == "other:1" and other["sha256"] == first["sha256"]
    rc, out, _ = _run(capsys, "model", "list", str(project_dir), "--json")
    listed = {m["ref"]: m for m in json.loads(out)["models"]}
    assert sorted(listed) == ["other:1", "phantom:1", "phantom:2"]
    assert listed["phantom:1"]["tiling"]["tile"] == 128
    assert {m["trust"] for m in listed.values()} == {"trusted"}
    # the text form says it too, on stderr
    rc, out, err = _run(
        capsys, "model", "import", str(project_dir), str(tiny_yolo), "--kind", "detector",
        "--name", "other", "--tiling", "whole",
    )  # fmt: skip
    assert rc == 0 and "registered other:1" in out
    assert err.startswith("already registered as other:1")


def test_a_bad_tile_size_is_refused_before_anything_is_stored(
    capsys: pytest.CaptureFixture[str],
    project_dir: Path,
    tiny_yolo: Path,  # noqa: F811
) -> None:
    for bad in (("--tile", "100"), ("--overlap", "500")):
        rc, out, err = _run(
            capsys, "model", "import", str(project_dir), str(tiny_yolo), "--kind", "detector",
            *bad,
        )  # fmt: skip
        assert rc == 2 and out == "" and err.count("\n") == 1, err
        assert "tile" in err
        assert [p.name for p in (project_dir / "models").iterdir()] == []


def test_predict_all_stores_suggestions_and_reports_json(
    capsys: pytest.CaptureFixture[str],
    project_dir: Path,
    tiny_yolo: Path,  # noqa: F811
) -> None:
    _import(capsys, project_dir, tiny_yolo)
    rc, out, err = _run(
        capsys,
        "predict",
        str(project_dir),
        "--all",
        "--conf",
        "0.0001",
        "--device",
        "cpu",
        "--json",
    )
    assert rc == 0, err
    summary = json.loads(out)
    assert {"images", "suggestions", "seconds", "device"} <= set(summary)
    assert summary["images"] == 3  # the corrupt PNG is skipped, the batch went on
    assert summary["device"].startswith("CPU")
    assert summary["seconds"] > 0
    assert [s["path"] for s in summary["skipped"]] == ["images/broken.png"]
    with Project.open(project_dir, read_only=True) as project:
        boxes = [b for i in project.image_ids() for b in project.boxes(i)]
    assert summary["suggestions"] == len(boxes) > 0
    assert {(b.source, b.status, b.model_version) for b in boxes} == {
        ("model", "suggested", "phantom:1")
    }
    assert all(b.score is not None and b.score >= 0.0001 for b in boxes)
    assert {b.label for b in boxes} <= set(TINY_CLASSES)


def test_repredicting_keeps_reviewed_and_human_boxes(
    capsys: pytest.CaptureFixture[str],
    project_dir: Path,
    tiny_yolo: Path,  # noqa: F811
) -> None:
    _import(capsys, project_dir, tiny_yolo)
    geometry = {"x1": 10.0, "y1": 10.0, "x2": 30.0, "y2": 30.0}
    model_box = Box(label="key", source="model", status="suggested", model_version="phantom:1", score=0.9, **geometry)  # fmt: skip
    with Project.open(project_dir) as project:
        reviewed = project.add_boxes(
            1,
            [
                dataclasses.replace(model_box, status="accepted"),
                dataclasses.replace(model_box, status="rejected"),
                Box(label="watch", **geometry),
            ],
        )
        pending = project.add_box(1, model_box)
    rc, _, err = _run(capsys, "predict", str(project_dir), "1", "--conf", "0.0001", "--json")
    assert rc == 0, err
    with Project.open(project_dir, read_only=True) as project:
        after = {b.id: b for b in project.boxes(1, include_rejected=True)}
    assert all(after[b.id] == b for b in reviewed)
    assert pending.id not in after
    # the same image predicted twice holds one set of pending suggestions, not two
    rc, out, _ = _run(capsys, "predict", str(project_dir), "images/xray0.tif", "--conf", "0.0001", "--json")  # fmt: skip
    assert rc == 0
    with Project.open(project_dir, read_only=True) as project:
        pending_now = [b for b in project.boxes(1) if b.status == "suggested"]
    assert len(pending_now) == json.loads(out)["suggestions"]


def test_images_may_follow_options_on_the_command_line(
    capsys: pytest.CaptureFixture[str],
    project_dir: Path,
    tiny_yolo: Path,  # noqa: F811
) -> None:
    _import(capsys, project_dir, tiny_yolo)
    rc, out, err = _run(capsys, "predict", str(project_dir), "--json", "--conf", "0.5", "2", "3")
    assert rc == 0, err
    assert json.loads(out)["images"] == 2


def test_predict_refuses_a_model_file_changed_after_import(
    capsys: pytest.CaptureFixture[str],
    project_dir: Path,
    tiny_yolo: Path,  # noqa: F811
) -> None:
    entry = _import(capsys, project_dir, tiny_yolo)
    with (project_dir / "models" / entry["file"]).open("ab") as fh:
        fh.write(b"tampered")
    rc, out, err = _run(capsys, "predict", str(project_dir), "--all")
    assert rc == 2 and out == ""
    assert "changed since it was imported" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--all", "1"], "either --all or image"),
        ([], "say which images"),
        (["nope.tif"], "not images of this project: nope.tif"),
        (["--all", "--conf", "1.5"], "--conf must be between 0 and 1"),
        (["--all", "--model", "ghost"], "no detector model named 'ghost'"),
    ],
)
def test_predict_user_errors_are_one_line(
    capsys: pytest.CaptureFixture[str],
    project_dir: Path,
    tiny_yolo: Path,  # noqa: F811
    args: list[str],
    message: str,
) -> None:
    _import(capsys, project_dir, tiny_yolo)
    rc, _, err = _run(capsys, "predict", str(project_dir), *args)
    assert rc == 2
    assert message in err and err.count("\n") == 1


def test_importing_a_corrupt_model_is_refused_cleanly(
    capsys: pytest.CaptureFixture[str], project_dir: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "weights.pt"
    bad.write_bytes(b"\x00not a checkpoint" * 50)
    rc, out, err = _run(capsys, "model", "import", str(project_dir), str(bad), "--kind", "detector")
    assert rc == 2 and out == ""
    assert "weights.pt is not a YOLO model" in err
    assert list((project_dir / "models").iterdir()) == []


def test_cached_detector_is_reused_until_the_model_changes(
    capsys: pytest.CaptureFixture[str],
    project_dir: Path,
    tiny_yolo: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    from core.errors import ModelError
    from ml.suggest import cached_detector

    entry = _import(capsys, project_dir, tiny_yolo)
    with Project.open(project_dir) as project:
        first = cached_detector(project, device="cpu")
        assert cached_detector(project, device="cpu") is first
        copy = tmp_path / "other.pt"
        copy.write_bytes(tiny_yolo.read_bytes() + b"\0")  # same weights, different file
        rc, _, err = _run(capsys, "model", "import", str(project_dir), str(copy), "--kind", "detector", "--name", "phantom")  # fmt: skip
        assert rc == 0, err
        second = cached_detector(project, device="cpu")
        assert second is not first and second.model_ref == "phantom:2"
        (project_dir / "models" / "phantom-v2.pt").write_bytes(b"tampered")
        with pytest.raises(ModelError, match="changed"):
            cached_detector(project, device="cpu")
    assert entry["ref"] == "phantom:1"


def test_predict_all_on_a_project_without_images_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "empty"
    assert _run(capsys, "project", "create", str(folder), "--labels", "xray")[0] == 0
    rc, out, err = _run(capsys, "predict", str(folder), "--all", "--json")
    assert rc == 2 and out == ""
    assert "has no images" in err and "import" in err and err.count("\n") == 1


def test_model_import_while_another_program_writes_the_project_is_one_line(
    capsys: pytest.CaptureFixture[str], project_dir: Path, tmp_path: Path
) -> None:
    # Importing records the model's checksum in the project database: only its writer can.
    import subprocess
    import sys

    model = tmp_path / "m.pt"
    model.write_bytes(b"whatever")
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from core.store import Project\n"
            "p = Project.open(sys.argv[1]); print('ready', flush=True); time.sleep(120)",
            str(project_dir),
        ],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        rc, out, err = _run(capsys, "model", "import", str(project_dir), str(model), "--kind", "detector")  # fmt: skip
    finally:
        writer.kill()
        writer.wait()
    assert rc == 2 and out == "" and err.count("\n") == 1
    assert "another ClinLens has it open for writing" in err
    assert list((project_dir / "models").iterdir()) == []
