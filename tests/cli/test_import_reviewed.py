"""``project import --reviewed`` and ``project export --include-unreviewed`` / ``stats``
(issue #11: training data from the store, honest by construction)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.cli import main as cli
from core.formats.voc import VocObject, voc_xml
from core.store import Project
from tests.core.conftest import write_rgb


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    try:
        code = cli([str(a) for a in argv])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def labelled(tmp_path: Path) -> Path:
    """A LabelImg-style VOC dataset: p0..p2 with boxes, p3 a negative (an annotation file
    without objects), q0 with no annotation file at all."""
    src = tmp_path / "src"
    (src / "ann").mkdir(parents=True)
    for i in range(4):
        write_rgb(src / "imgs" / f"p{i}.png", seed=i)
        objects = [VocObject("zipper", 1, 1, 10 + i, 10)] if i < 3 else []
        (src / "ann" / f"p{i}.xml").write_bytes(
            voc_xml(filename=f"p{i}.png", width=64, height=48, depth=3, objects=objects)
        )
    write_rgb(src / "imgs" / "q0.png", seed=9)
    return src


def _project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    proj = tmp_path / "proj"
    code, _, _ = run(capsys, "project", "create", proj, "--labels", "xray")  # no scales
    assert code == 0
    return proj


def test_import_reviewed_marks_annotated_images_done(
    tmp_path: Path, labelled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = _project(tmp_path, capsys)
    code, out, _ = run(
        capsys, "project", "import", proj, labelled / "imgs",
        "--annotations", labelled / "ann", "--format", "voc", "--reviewed", "--json",
    )  # fmt: skip
    report = json.loads(out)
    assert code == 0 and report["added"] == 5 and report["marked_reviewed"] == 4
    with Project.open(proj, read_only=True) as project:
        status = {Path(r.path).name: r.review_status for r in project.images()}
    assert status == {"p0.png": "done", "p1.png": "done", "p2.png": "done",
                      "p3.png": "done", "q0.png": "new"}  # fmt: skip

    code, out, _ = run(capsys, "project", "stats", proj, "--json")
    stats = json.loads(out)
    assert set(stats["heldout"]) == {"images", "reviewed"}
    assert 0 <= stats["heldout"]["reviewed"] <= stats["heldout"]["images"] <= 5

    # the default export holds the reviewed images only
    code, out, _ = run(
        capsys, "project", "export", proj, "--format", "yolo", "--out", tmp_path / "y",
        "--split", "1,0", "--no-pseudonymise", "--json",
    )  # fmt: skip
    rep = json.loads(out)
    assert code == 0 and rep["images"] == 4 and rep["not_reviewed_left_out"] == 1
    assert not (tmp_path / "y" / "labels" / "train" / "q0.txt").exists()
    assert (tmp_path / "y" / "labels" / "train" / "p3.txt").read_text() == ""  # a negative


def test_import_without_reviewed_leaves_images_new_and_says_so(
    tmp_path: Path, labelled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = _project(tmp_path, capsys)
    code, out, _ = run(
        capsys, "project", "import", proj, labelled / "imgs",
        "--annotations", labelled / "ann", "--format", "voc", "--reviewed",
    )  # fmt: skip
    assert code == 0 and "4 image(s) with an annotation file marked reviewed" in out
    assert "stay new" in out
    other = tmp_path / "other"
    run(capsys, "project", "create", other, "--labels", "xray")
    code, out, _ = run(
        capsys, "project", "import", other, labelled / "imgs",
        "--annotations", labelled / "ann", "--format", "voc", "--json",
    )  # fmt: skip
    assert code == 0 and json.loads(out)["marked_reviewed"] == 0
    with Project.open(other, read_only=True) as project:
        assert {r.review_status for r in project.images()} == {"new"}


def test_reviewed_needs_the_required_grades(
    tmp_path: Path, labelled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = tmp_path / "proj"
    run(capsys, "project", "create", proj, "--labels", "xray", "--scales", "acne4")
    (labelled / "grades.csv").write_text(
        "image,scale,value,author,source\np1.png,acne4,2,a,human\n"
    )
    code, out, _ = run(
        capsys, "project", "import", proj, labelled / "imgs", "--annotations", labelled / "ann",
        "--format", "voc", "--grades", labelled / "grades.csv", "--reviewed", "--json",
    )  # fmt: skip
    report = json.loads(out)
    assert code == 0 and report["marked_reviewed"] == 1  # only p1 has its acne4 grade
    assert len(report["not_marked_reviewed"]) == 3


def test_export_include_unreviewed_flags_them(
    tmp_path: Path, labelled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = _project(tmp_path, capsys)
    run(
        capsys, "project", "import", proj, labelled / "imgs",
        "--annotations", labelled / "ann", "--format", "voc",
    )  # fmt: skip
    code, _, err = run(
        capsys, "project", "export", proj, "--format", "voc", "--out", tmp_path / "a"
    )
    assert code == 2 and "no reviewed (done) images" in err and "--include-unreviewed" in err
    code, out, _ = run(
        capsys, "project", "export", proj, "--format", "voc", "--out", tmp_path / "v",
        "--include-unreviewed", "--no-pseudonymise", "--json",
    )  # fmt: skip
    rep = json.loads(out)
    assert code == 0 and rep["images"] == 5 and rep["unreviewed"] == 5
    listed = (tmp_path / "v" / "unreviewed.lst").read_text().split()
    assert listed == ["p0", "p1", "p2", "p3", "q0"]
    code, out, _ = run(
        capsys, "project", "export", proj, "--format", "yolo", "--out", tmp_path / "y",
        "--include-unreviewed", "--no-pseudonymise", "--split", "1,0", "--json",
    )  # fmt: skip
    rep = json.loads(out)
    # p3 and q0 are unreviewed without boxes: never background images in a YOLO export
    assert code == 0 and rep["images"] == 3 and rep["unreviewed_without_boxes"] == 2
    assert sorted(p.name for p in (tmp_path / "y" / "labels" / "train").iterdir()) == [
        "p0.txt", "p1.txt", "p2.txt",
    ]  # fmt: skip
