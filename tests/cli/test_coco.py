"""``project export --format coco`` and ``project import --format coco``: what a CVAT or
X-AnyLabeling user types, with the import's exit codes (0 complete, 3 partial, 2 nothing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.cli import main as cli
from core.formats.coco import COCO_FILE
from core.store import Project
from tests.core.conftest import annotated_project, new_project, write_rgb


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    try:
        code = cli([str(a) for a in argv])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_export_then_import_the_json_file_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = annotated_project(tmp_path / "a", n=3, with_16bit=False)
    for rec in a.images():
        a.grading.set_review_status(rec.id, "done")
    a.close()
    out = tmp_path / "coco"
    code, text, _ = run(capsys, "project", "export", tmp_path / "a" / "proj", "--format",
                        "coco", "--out", out)  # fmt: skip
    assert code == 0 and "as COCO" in text and "pseudonymised" in text
    assert (out / COCO_FILE).is_file() and len(list((out / "images").iterdir())) == 3
    new_project(tmp_path / "b").close()
    code, text, err = run(capsys, "project", "import", tmp_path / "b", "--format", "coco",
                          out / COCO_FILE)  # fmt: skip
    assert code == 0, err
    assert "imported 3 image(s), 7 box(es)" in text
    with Project.open(tmp_path / "b", read_only=True) as b:
        assert sum(len(v) for v in b.boxes_by_image().values()) == 7


def test_no_images_writes_the_json_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    annotated_project(tmp_path / "a", n=2, with_16bit=False).close()
    out = tmp_path / "coco"
    code, _, _ = run(capsys, "project", "export", tmp_path / "a" / "proj", "--format", "coco",
                     "--out", out, "--no-images", "--include-unreviewed")  # fmt: skip
    assert code == 0 and sorted(p.name for p in out.iterdir()) == [
        COCO_FILE, "grades.csv", "grades_by_reader.csv", "unreviewed.lst"
    ]  # fmt: skip


def _dataset(tmp_path: Path, doc: dict[str, object]) -> Path:
    src = tmp_path / "ds"
    write_rgb(src / "a.png", 64, 48, seed=1)
    write_rgb(src / "b.png", 64, 48, seed=2)
    (src / COCO_FILE).write_text(json.dumps(doc))
    return src


def test_a_hostile_file_is_one_line_exit_2_and_nothing_imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _dataset(tmp_path, {"images": [{"id": 1, "file_name": "a.png"}],
                              "categories": [{"id": 1, "name": "zipper"}],
                              "annotations": [{"image_id": 3, "category_id": 1,
                                               "bbox": [0, 0, 1, 1]}]})  # fmt: skip
    new_project(tmp_path / "p").close()
    code, _, err = run(capsys, "project", "import", tmp_path / "p", src, "--format", "coco")
    assert code == 2
    assert err.count("\n") == 1 and "image_id 3 is not in 'images'" in err
    assert "Traceback" not in err
    with Project.open(tmp_path / "p", read_only=True) as p:
        assert p.image_count() == 0


def test_an_unknown_label_stops_the_import_unless_add_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _dataset(tmp_path, {"images": [{"id": 1, "file_name": "a.png"}],
                              "categories": [{"id": 4, "name": "papule"}],
                              "annotations": [{"image_id": 1, "category_id": 4,
                                               "bbox": [0, 0, 5, 5]}]})  # fmt: skip
    new_project(tmp_path / "p").close()
    code, _, err = run(capsys, "project", "import", tmp_path / "p", src, "--format", "coco")
    assert code == 2 and "papule" in err and "--add-labels" in err
    code, _, err = run(capsys, "project", "import", tmp_path / "p", src, "--format", "coco",
                       "--add-labels")  # fmt: skip
    # b.png has no entry in the file: imported without boxes; that is complete.
    assert code == 0, err


def test_a_negative_box_refuses_its_image_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _dataset(tmp_path, {"images": [{"id": 1, "file_name": "a.png"},
                                         {"id": 2, "file_name": "b.png"}],
                              "categories": [{"id": 1, "name": "zipper"}],
                              "annotations": [{"image_id": 1, "category_id": 1,
                                               "bbox": [-20, 0, 5, 5]}]})  # fmt: skip
    new_project(tmp_path / "p").close()
    code, _, err = run(capsys, "project", "import", tmp_path / "p", src, "--format", "coco")
    assert code == 3 and err.count("\n") == 1
    assert "partial import" in err and "outside the 64x48 image" in err
