"""``python main.py project ...``: the command-line contract later checks rely on."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from core.cli import main as cli
from core.formats.voc import VocObject, voc_xml
from tests.core.conftest import write_grey16, write_rgb

ROOT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    try:
        code = cli([str(a) for a in argv])
    except SystemExit as exc:  # argparse usage errors exit from inside parse_args
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    for i in range(4):
        write_rgb(src / "imgs" / f"p{i}.png", seed=i)
        (src / "ann").mkdir(parents=True, exist_ok=True)
        (src / "ann" / f"p{i}.xml").write_bytes(
            voc_xml(
                filename=f"p{i}.png",
                width=64,
                height=48,
                depth=3,
                objects=[VocObject("zipper", 1, 1, 10 + i, 10), VocObject("watch", 20, 20, 40, 40)],
            )
        )
    write_grey16(src / "imgs" / "xr.png")
    (src / "grades.csv").write_text("image,scale,value,author,source\np1.png,acne4,2,dr a,human\n")
    return src


def test_create_import_stats_export(
    tmp_path: Path, sources: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = tmp_path / "proj"
    code, out, _ = run(
        capsys,
        "project",
        "create",
        proj,
        "--labels",
        "xray",
        "--scales",
        "acne4,iga5",
        "--name",
        "Study",
    )
    assert code == 0 and "created project 'Study'" in out
    code, out, _ = run(
        capsys, "project", "import", proj, sources / "imgs",
        "--annotations", sources / "ann", "--format", "voc", "--grades", sources / "grades.csv", "--json",
    )  # fmt: skip
    report = json.loads(out)
    assert code == 0 and report["added"] == 5 and report["boxes"] == 8 and report["grades"] == 1
    assert report["without_annotation"] == 1

    code, out, _ = run(capsys, "project", "stats", proj, "--json")
    stats = json.loads(out)
    assert code == 0 and stats["images"] == 5 and stats["boxes"] == 8
    assert stats["boxes_per_label"]["zipper"] == 4 and stats["boxes_per_label"]["watch"] == 4
    assert stats["grades_per_scale"] == {"acne4": 1, "iga5": 0}
    assert stats["status_counts"]["new"] == 5

    code, out, _ = run(
        capsys, "project", "export", proj, "--format", "voc", "--out", tmp_path / "voc", "--seed", 3,
        "--include-unreviewed",  # none of them is reviewed yet
    )  # fmt: skip
    assert code == 0 and "exported 5 image(s), 8 box(es) as VOC" in out
    assert len(list((tmp_path / "voc" / "Annotations").glob("*.xml"))) == 5
    assert len(list((tmp_path / "voc" / "JPEGImages").iterdir())) == 5
    assert (tmp_path / "voc" / "grades.csv").read_text().count("\n") == 2

    code, out, _ = run(
        capsys, "project", "export", proj, "--format", "yolo", "--out", tmp_path / "yolo",
        "--split", "0.5,0.5", "--remap", "agnostic", "--no-images", "--json",
        "--include-unreviewed",
    )  # fmt: skip
    rep = json.loads(out)
    assert code == 0 and set(rep["splits"]) == {"train", "val"}
    # The image without an annotation is unreviewed and has no boxes: YOLO would read it
    # as background, so it is left out (it used to be exported, as an empty label file).
    assert sum(rep["splits"].values()) == 4 and min(rep["splits"].values()) >= 1
    assert rep["unreviewed"] == 4 and rep["unreviewed_without_boxes"] == 1
    assert yaml.safe_load((tmp_path / "yolo" / "data.yaml").read_text())["names"] == {0: "anomaly"}

    code, out, _ = run(
        capsys, "project", "export", proj, "--format", "yolo", "--out", tmp_path / "tiles",
        "--tiles", "2", "--tile-size", "32", "--json", "--include-unreviewed",
    )  # fmt: skip
    assert code == 0 and json.loads(out)["files"] == 8  # 4 annotated images x 2 tiles


def test_unknown_labels_exit_2_listing_them_unless_add_labels(
    tmp_path: Path, sources: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = tmp_path / "proj"
    run(capsys, "project", "create", proj, "--labels", "acne")
    code, out, err = run(
        capsys,
        "project",
        "import",
        proj,
        sources / "imgs",
        "--annotations",
        sources / "ann",
        "--format",
        "voc",
    )
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "watch, zipper" in err and "--add-labels" in err
    code, out, _ = run(capsys, "project", "stats", proj, "--json")
    assert json.loads(out)["images"] == 0
    code, out, _ = run(
        capsys,
        "project",
        "import",
        proj,
        sources / "imgs",
        "--annotations",
        sources / "ann",
        "--format",
        "voc",
        "--add-labels",
    )
    assert code == 0 and "added label(s): zipper, watch" in out


def test_user_label_set_yaml_and_scale_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = tmp_path / "labels.yaml"
    labels.write_text("name: lesions\nlabels: [spot, scar]\n")
    scales = tmp_path / "scales.yaml"
    scales.write_text("redness:\n  values: [{value: 0, label: none}, {value: 1, label: some}]\n")
    proj = tmp_path / "proj"
    code, out, _ = run(
        capsys, "project", "create", proj, "--labels", labels, "--scales", f"acne4,{scales}"
    )
    assert code == 0 and "2 labels from 'lesions'" in out and "scales: acne4, redness" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["project", "stats", "{tmp}/plain", "--json"], "is not a ClinLens project"),
        (["project", "import", "{tmp}/proj", "{tmp}/nowhere"], "does not exist"),
        (
            [
                "project",
                "export",
                "{tmp}/proj",
                "--format",
                "voc",
                "--out",
                "{tmp}/o",
                "--split",
                "0.5,0.6",
            ],
            "--split",
        ),
        (
            [
                "project",
                "export",
                "{tmp}/proj",
                "--format",
                "voc",
                "--out",
                "{tmp}/o",
                "--tiles",
                "3",
            ],
            "YOLO exports only",
        ),
        (
            [
                "project",
                "export",
                "{tmp}/proj",
                "--format",
                "yolo",
                "--out",
                "{tmp}/o",
                "--remap",
                "{tmp}/nomap.yaml",
            ],
            "no such map file",
        ),
        (
            ["project", "export", "{tmp}/proj", "--format", "xml", "--out", "{tmp}/o"],
            "invalid choice",
        ),
        (
            [
                "project",
                "export",
                "{tmp}/proj",
                "--format",
                "yolo",
                "--out",
                "{tmp}/o",
                "--tiles",
                "100000",
            ],
            "--tiles must be between 1 and 1000",
        ),
        (["project", "create", "{tmp}/proj", "--labels", "cats"], "not a built-in set"),
        (
            ["project", "create", "{tmp}/proj", "--labels", "xray"],
            "already holds a ClinLens project",
        ),
        (
            ["project", "create", "{tmp}/new", "--labels", "xray", "--scales", "pain10"],
            "not a built-in scale",
        ),
    ],
)
def test_errors_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    (tmp_path / "plain").mkdir()
    run(capsys, "project", "create", tmp_path / "proj", "--labels", "xray")
    code, _, err = run(capsys, *[a.format(tmp=tmp_path) for a in argv])
    assert code == 2 and needle in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_export_of_an_empty_project_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "project", "create", tmp_path / "proj", "--labels", "xray")
    code, _, err = run(
        capsys, "project", "export", tmp_path / "proj", "--format", "yolo", "--out", tmp_path / "o"
    )
    assert code == 2 and "no images to export" in err


def test_main_py_entry_point_runs_project_stats(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "project", "create", tmp_path / "proj", "--labels", "xray", "--scales", "hyperpig")
    env = {**os.environ, "CLINLENS_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "project", "stats", str(tmp_path / "proj"), "--json"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    assert {"images", "boxes", "boxes_per_label", "grades_per_scale", "status_counts"} <= set(stats)
    assert stats["grades_per_scale"] == {"hyperpig": 0}


def test_output_survives_a_console_that_cannot_encode_the_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Windows consoles redirected to a file use cp1252: no CJK label names, no odd bytes.
    (tmp_path / "labels.yaml").write_text("labels: [\u75e3, zipper]\n", encoding="utf-8")
    run(capsys, "project", "create", tmp_path / "proj", "--labels", tmp_path / "labels.yaml")
    for extra in ([], ["--json"]):
        console = io.TextIOWrapper(io.BytesIO(), encoding="cp1252", newline="\n")
        monkeypatch.setattr(sys, "stdout", console)
        code = cli(["project", "stats", str(tmp_path / "proj"), *extra])
        console.flush()
        text = console.buffer.getvalue().decode("cp1252")
        assert code == 0, capsys.readouterr().err
        if extra:
            assert json.loads(text)["boxes_per_label"] == {"\u75e3": 0, "zipper": 0}
        else:
            assert "\\u75e3: 0" in text


@pytest.mark.parametrize(
    ("files", "argv", "needle"),
    [
        (
            {"labels.yaml": b"\xff\xfe\x00l\x00a"},
            ["project", "create", "{tmp}/new", "--labels", "{tmp}/labels.yaml"],
            "not UTF-8 text",
        ),
        (
            {"s.yaml": b"pain:\n  range: {min: 0, max: 1000000000, step: 0.000000001}\n"},
            ["project", "create", "{tmp}/new", "--labels", "xray", "--scales", "{tmp}/s.yaml"],
            "values; at most 1000",  # load_scale_file's words (the one scale reader)
        ),
        (
            {"afile": b"x"},
            ["project", "create", "{tmp}/afile", "--labels", "xray"],
            "cannot create the project folder",
        ),
        ({"afile": b"x"}, ["project", "stats", "{tmp}/afile"], "is not a ClinLens project"),
        (
            {"proj2/project.clinlens": b"SQLite format 3\x00" + b"\x00" * 200},
            ["project", "import", "{tmp}/proj2", "{tmp}"],
            "damaged",
        ),
    ],
)
def test_nasty_files_exit_2_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, bytes],
    argv: list[str],
    needle: str,
) -> None:
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(content)
    code, _, err = run(capsys, *[a.format(tmp=tmp_path) for a in argv])
    assert code == 2 and needle in err, err
    assert err.count("\n") == 1 and "unexpected" not in err


def test_an_error_after_progress_starts_its_own_line_at_a_terminal(
    tmp_path: Path,
    sources: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proj = tmp_path / "proj"
    run(capsys, "project", "create", proj, "--labels", "acne")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, _, err = run(
        capsys, "project", "import", proj, sources / "imgs",
        "--annotations", sources / "ann", "--format", "voc",
    )  # fmt: skip
    assert code == 2 and "\rimporting 5/5" in err  # progress was shown, then the refusal
    assert err.splitlines()[-1].startswith("clinlens: error: label(s) not in the project")


def test_a_scale_file_is_read_by_the_one_scale_reader_and_echoes_are_shortened(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "s.yaml").write_text("pain: {values: [{value: 0}, {value: 1}]}\n")
    code, out, _ = run(
        capsys,
        "project",
        "create",
        tmp_path / "p",
        "--labels",
        "xray",
        "--scales",
        tmp_path / "s.yaml",
    )
    assert code == 0 and "scales: pain" in out
    (tmp_path / "bad.yaml").write_text("'=cmd': {values: [{value: 0}]}\n")  # a formula start
    code, _, err = run(
        capsys,
        "project",
        "create",
        tmp_path / "q",
        "--labels",
        "xray",
        "--scales",
        tmp_path / "bad.yaml",
    )
    assert code == 2 and err.count("\n") == 1 and "bad.yaml" in err
    code, _, err = run(
        capsys, "project", "create", tmp_path / "r", "--labels", "xray", "--scales", "z" * 500
    )
    assert code == 2 and "z" * 121 not in err and "…" in err
    code, _, err = run(
        capsys, "project", "export", tmp_path / "p", "--format", "yolo", "--out", tmp_path / "o",
        "--tiles", "y" * 500,
    )  # fmt: skip
    assert code == 2 and "y" * 41 not in err and err.count("\n") == 1
