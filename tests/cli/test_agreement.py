"""``project agreement`` / ``adjudication`` / ``adjudicate`` and exports by reader: readers
loaded from the author column of a grades CSV, the JSON document of the issue, clear one-line
errors, and the grades-by-reader CSV and consensus boxes of an export."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sklearn.metrics import cohen_kappa_score

from core.annotations import Box
from core.cli import main as cli
from core.store import Project
from tests.core.conftest import new_project, write_rgb

# dr a / dr b / dr c on five images (acne4); dr c skips e.png.
GRADES = {
    "a": (0, 0, 1),
    "b": (1, 1, 1),
    "c": (2, 3, 2),
    "d": (3, 1, 3),
    "e": (1, 2, None),
}


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    try:
        code = cli([str(a) for a in argv])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def proj(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    for k, name in enumerate(GRADES):
        write_rgb(tmp_path / "imgs" / f"{name}.png", seed=k)
    lines = ["image,scale,value,author,source"]
    for name, values in GRADES.items():
        for reader, v in zip(("dr a", "dr b", "dr c"), values, strict=True):
            if v is not None:
                lines.append(f"{name}.png,acne4,{v},{reader},human")
    lines.append("a.png,acne4,0,,model")
    lines.append("c.png,acne4,2,,model")
    (tmp_path / "g.csv").write_text("\n".join(lines) + "\n")
    new_project(tmp_path / "p", scales=("acne4", "hyperpig")).close()
    code, _, err = run(
        capsys, "project", "import", tmp_path / "p", tmp_path / "imgs", "--grades",
        tmp_path / "g.csv",
    )  # fmt: skip
    assert code == 0, err
    return tmp_path / "p"


def test_agreement_json_has_the_issues_keys_and_sklearn_kappa(
    proj: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "project", "agreement", proj, "--scale", "acne4", "--json")
    assert code == 0, err
    report = json.loads(out)
    for key in ("scale", "readers", "images", "pairs", "fleiss_kappa", "krippendorff_alpha",
                "icc", "model"):  # fmt: skip
        assert key in report
    assert report["readers"] == ["dr a", "dr b", "dr c"] and report["images"] == 5
    ab = report["pairs"][0]
    assert ab["readers"] == ["dr a", "dr b"] and ab["n"] == 5
    a = [v[0] for v in GRADES.values()]
    b = [v[1] for v in GRADES.values()]
    assert ab["kappa_quadratic"] == pytest.approx(
        cohen_kappa_score(a, b, labels=[0, 1, 2, 3], weights="quadratic")
    )
    assert report["pairs"][1]["n"] == 4  # dr c did not grade e.png
    assert report["icc"] is None  # an ordinal scale
    assert report["model"]["to_readers"]["dr a"] == {"n": 2, "rmse": 0.0, "mae": 0.0}
    worst = report["disagreements"][0]
    assert worst["image"].endswith("d.png") and worst["spread"] == 2.0


def test_agreement_text_and_readers_choice(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "project", "agreement", proj, "--scale", "acne4",
                       "--readers", "dr a,dr c")  # fmt: skip
    assert code == 0
    assert "readers: dr a, dr c" in out and "dr a vs dr c: n=4" in out
    assert "model vs readers' mean" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--scale", "iga5"), "this project has no 'iga5' grading scale (its scales: acne4, "
                              "hyperpig)"),
        (("--scale", "hyperpig"), "agreement needs at least two readers; 'hyperpig' has 0"),
        (("--scale", "acne4", "--readers", "dr a"), "agreement needs at least two readers; "
                                                    "'acne4' has 1"),
        (("--scale", "acne4", "--readers", "dr a,dr z"), "reader(s) dr z graded nothing on "
                                                         "'acne4' (readers of this scale: "
                                                         "dr a, dr b, dr c)"),
    ],
)  # fmt: skip
def test_agreement_bad_input_is_one_clear_line(
    proj: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, out, err = run(capsys, "project", "agreement", proj, *args)
    assert code == 2 and out == ""
    assert err.startswith(f"clinlens: error: {message}") and err.count("\n") == 1, err


def test_queue_then_adjudicate_then_done(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "project", "adjudication", proj, "--scale", "acne4", "--json")
    assert code == 0
    queue = json.loads(out)["queue"]
    assert [Path(q["image"]).name for q in queue] == ["d.png"]  # 3 vs 1: two steps
    code, out, err = run(capsys, "project", "adjudicate", proj, "--scale", "acne4",
                         "--image", "d.png", "--value", "3", "--author", "chief")  # fmt: skip
    assert code == 0, err
    assert "acne4 = 3 (adjudicated by chief)" in out
    code, out, _ = run(capsys, "project", "adjudication", proj, "--scale", "acne4")
    assert out.startswith("0 image(s) to adjudicate")
    code, _, err = run(capsys, "project", "adjudicate", proj, "--scale", "acne4",
                       "--image", "zz.png", "--value", "1")  # fmt: skip
    assert code == 2 and "no image 'zz.png' in the project" in err


def test_export_writes_grades_by_reader_and_the_final_grade(
    proj: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Project.open(proj) as project:
        project.readers.adjudicate(_id(project, "d.png"), "acne4", 3, adjudicator="chief")
    out_dir = tmp_path / "out"
    code, _, err = run(capsys, "project", "export", proj, "--format", "voc", "--out", out_dir,
                       "--include-unreviewed", "--no-pseudonymise", "--no-images")  # fmt: skip
    assert code == 0, err
    rows = list(csv.reader(io.StringIO((out_dir / "grades_by_reader.csv").read_text())))
    assert rows[0] == ["image", "scale", "reader:dr a", "reader:dr b", "reader:dr c",
                       "adjudicated", "final", "basis"]  # fmt: skip
    by_image = {r[0]: r[2:] for r in rows[1:]}
    assert by_image["b.png"] == ["1", "1", "1", "", "1", "agreed"]
    assert by_image["c.png"] == ["2", "3", "2", "", "", "disputed"]
    assert by_image["d.png"] == ["3", "1", "3", "3", "3", "adjudicated"]
    assert by_image["e.png"] == ["1", "2", "", "", "", "disputed"]
    grades_csv = (out_dir / "grades.csv").read_text().splitlines()
    assert grades_csv[0] == "image,scale,value,author,source"  # unchanged format
    assert sum(1 for line in grades_csv if line.startswith("a.png,acne4")) == 4  # 3 + model


def _id(project: Project, name: str) -> int:
    return next(r.id for r in project.images() if r.path.endswith(name))


def test_export_consensus_or_one_readers_boxes(
    proj: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Project.open(proj) as project:
        a = _id(project, "a.png")
        for reader, dx in (("dr a", 0), ("dr b", 2), ("dr c", 40)):
            project.add_box(a, Box(1 + dx, 1, 11 + dx, 11, "zipper", author=reader))
        project.add_box(a, Box(30, 30, 40, 40, "zipper", author="dr a"))  # only one reader
    code, _, err = run(capsys, "project", "export", proj, "--format", "yolo", "--out",
                       tmp_path / "c", "--include-unreviewed", "--no-pseudonymise",
                       "--boxes", "consensus")  # fmt: skip
    assert code == 0, err
    labels = next((tmp_path / "c" / "labels").rglob("a.txt")).read_text().split()
    # one consensus box: mean of (1..11) and (3..13) -> x 2..12, y 1..11 on a 64x48 image
    assert len(labels) == 5 and float(labels[1]) == pytest.approx(7 / 64)
    code, _, err = run(capsys, "project", "export", proj, "--format", "yolo", "--out",
                       tmp_path / "r", "--include-unreviewed", "--no-pseudonymise",
                       "--boxes", "dr a")  # fmt: skip
    assert code == 0, err
    assert len(next((tmp_path / "r" / "labels").rglob("a.txt")).read_text().splitlines()) == 2
    code, _, err = run(capsys, "project", "export", proj, "--format", "yolo", "--out",
                       tmp_path / "z", "--boxes", "dr z")  # fmt: skip
    assert code == 2 and "reader 'dr z' drew no box in this project" in err
    assert not (tmp_path / "z").exists()


def test_assignment_export_and_import_from_the_command_line(
    proj: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "asg"
    code, text, err = run(capsys, "project", "assignment-export", proj, "--reader", "dr d",
                          "--out", out)  # fmt: skip
    assert code == 0, err
    assert text.startswith("assignment for dr d: 5 image(s)")
    with Project.open(out / "project", author="dr d") as reader:
        reader.set_grade(_id(reader, "a.png"), "acne4", 2)
    code, text, err = run(capsys, "project", "assignment-import", proj, out, "--json")
    assert code == 0, err
    assert json.loads(text)["grades_added"] == 1
    code, text, _ = run(capsys, "project", "assignment-import", proj, out)
    assert code == 0 and "0 grade(s) and 0 box(es) merged, 1 grade(s)" in text
    code, _, err = run(capsys, "project", "assignment-import", proj, tmp_path / "nowhere")
    assert code == 2 and err.startswith("clinlens: error: reader results:")
    assert err.count("\n") == 1
