"""Reading assignments as files: export a reader project, merge the reader's results back
by reader identity -- twice changes nothing, a conflict is reported and not overwritten,
and results of another project, an older schema or unknown images are refused or named."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from core.annotations import Box
from core.errors import ClinLensError
from core.project_io import import_images
from core.project_io.assignment import ASSIGNMENT_FILE, export_assignment, import_results
from core.store import DB_NAME, NewImage, Project, schema
from tests.core.conftest import new_project, write_rgb


@pytest.fixture
def main(tmp_path: Path) -> Path:
    for k in range(3):
        write_rgb(tmp_path / "imgs" / f"{k}.png", seed=k)
    with new_project(tmp_path / "main") as project:
        import_images(project, [tmp_path / "imgs"])
        first = project.images()[0].id
        project.set_grade(first, "acne4", 1, author="dr a")
    return tmp_path / "main"


def _assign(main: Path, out: Path, reader: str = "dr b") -> Path:
    with Project.open(main, read_only=True) as project:
        manifest = export_assignment(project, out, reader)
    assert manifest["reader"] == reader and len(manifest["images"]) == 3
    assert json.loads((out / ASSIGNMENT_FILE).read_text())["project_uid"]
    return out


def _read(out: Path, grades: dict[str, float], box: bool = True) -> None:
    """The reader at their workstation: grade and draw in the assignment's project."""
    with Project.open(out / "project", author="dr b") as reader:
        if box:  # the first visit: an empty reader project, nobody's grades
            assert reader.grades_by_image() == {}
        for rec in reader.images():
            name = Path(rec.path).name
            if name in grades:
                reader.set_grade(rec.id, "acne4", grades[name])
            if box and name == "0.png":
                reader.add_box(rec.id, Box(2, 2, 20, 20, "zipper"))


def test_merge_adds_the_readers_work_once_and_twice_changes_nothing(
    main: Path, tmp_path: Path
) -> None:
    out = _assign(main, tmp_path / "asg")
    _read(out, {"0.png": 3, "1.png": 2})
    with Project.open(main) as project:
        first = import_results(project, out)
        assert (first.reader, first.grades_added, first.boxes_added) == ("dr b", 2, 1)
        assert first.conflicts == [] and first.unknown_images == []
        snapshot = (project.grades_by_image(), project.boxes_by_image())
        again = import_results(project, out)
        assert (again.grades_added, again.boxes_added) == (0, 0)
        assert (again.grades_unchanged, again.boxes_unchanged) == (2, 1)
        assert (project.grades_by_image(), project.boxes_by_image()) == snapshot
        zero = next(r.id for r in project.images() if r.path.endswith("0.png"))
        assert project.readers.reader_grades("acne4")[zero] == {"dr a": 1.0, "dr b": 3.0}
        assert [b.author for b in project.boxes(zero)] == ["dr b"]


def test_a_changed_grade_is_a_conflict_reported_not_overwritten(main: Path, tmp_path: Path) -> None:
    out = _assign(main, tmp_path / "asg")
    _read(out, {"0.png": 3})
    with Project.open(main) as project:
        import_results(project, out)
    _read(out, {"0.png": 0}, box=False)
    with Project.open(out / "project", author="dr b") as reader:
        rec = next(r for r in reader.images() if r.path.endswith("0.png"))
        reader.update_box(reader.boxes(rec.id)[0].id, x2=30)
    with Project.open(main) as project:
        report = import_results(project, out)
        assert report.grades_added == 0 and len(report.conflicts) == 2
        assert (
            "0.png: dr b's acne4 grade is 3 here and 0 in the results; kept 3" in report.conflicts
        )
        assert "dr b's boxes here (1) differ" in report.conflicts[1]
        zero = next(r.id for r in project.images() if r.path.endswith("0.png"))
        assert project.grading.grade(zero, "acne4", reader="dr b").value == 3.0
        assert project.boxes(zero)[0].x2 == 20


def test_results_of_another_project_are_refused_and_nothing_merged(
    main: Path, tmp_path: Path
) -> None:
    out = _assign(main, tmp_path / "asg")
    _read(out, {"0.png": 3})
    with new_project(tmp_path / "other") as other:
        import_images(other, [tmp_path / "imgs"])
        with pytest.raises(ClinLensError, match="a reading assignment of another project"):
            import_results(other, out)
        assert other.grades_by_image() == {}
    with new_project(tmp_path / "plain") as plain, Project.open(main) as project:
        plain.close()
        with pytest.raises(ClinLensError, match="is not a reading assignment"):
            import_results(project, tmp_path / "plain")


def test_results_from_an_older_schema_say_so(main: Path, tmp_path: Path) -> None:
    out = _assign(main, tmp_path / "asg")
    with sqlite3.connect(out / "project" / DB_NAME) as conn:
        conn.execute(f"PRAGMA user_version = {schema.latest_version() - 1}")
    with Project.open(main) as project, pytest.raises(ClinLensError) as err:
        import_results(project, out)
    assert "reader results:" in str(err.value) and "older ClinLens" in str(err.value)


def test_images_the_project_lacks_are_named_and_skipped(main: Path, tmp_path: Path) -> None:
    out = _assign(main, tmp_path / "asg")
    extra = write_rgb(tmp_path / "extra.png", seed=9)
    with Project.open(out / "project", author="dr b") as reader:
        (new,) = reader.add_images([NewImage(str(extra), 64, 48, sha256="f" * 64)])
        reader.set_grade(new, "acne4", 2)
    with Project.open(main) as project:
        report = import_results(project, out)
    assert report.unknown_images == ["extra.png"] and report.grades_added == 0


def test_an_assignment_needs_an_empty_folder_and_a_reader(main: Path, tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with Project.open(main, read_only=True) as project:
        with pytest.raises(ClinLensError, match="is not empty"):
            export_assignment(project, tmp_path / "full", "dr b")
        with pytest.raises(ClinLensError, match="needs the reader's name"):
            export_assignment(project, tmp_path / "new", " ")
