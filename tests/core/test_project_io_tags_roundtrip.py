"""Image-level lesion-type tags survive export -> import: the grades CSV's ``lesion_types``
column is read back (VOC and COCO exports both carry it in grades.csv), a value the
imported boxes already give keeps following them, any other one becomes the grader's
choice, and a second export writes the same bytes. Bad or conflicting cells are refused
with the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.annotations import Box
from core.annotations.tags import AUTO, HUMAN, LESION_TYPES
from core.errors import FormatError
from core.formats.grades_csv import GRADES_FILE
from core.project_io import ExportOptions, export_project, import_images
from core.store import Project
from tests.core.conftest import new_project, write_rgb

KIND = LESION_TYPES.name


def _acne(folder: Path) -> Project:
    return new_project(folder, labels="acne", scales=("acne4",))


def _tags(project: Project) -> dict[str, tuple[tuple[str, ...], str]]:
    names = {r.id: Path(r.path).name for r in project.images()}
    return {names[i]: (t.tags, t.source) for i, t in project.tags.by_image(KIND).items()}


@pytest.fixture
def graded(tmp_path: Path) -> Project:
    """Four faces: tags from the boxes; a choice beyond them; "none" against the boxes;
    a choice on a face without boxes or grade (a tag-only row in the CSV)."""
    p = _acne(tmp_path / "a")
    src = tmp_path / "src"
    import_images(p, [write_rgb(src / f"f{i}.png", seed=i) for i in range(4)])
    a, b, c, d = (r.id for r in p.images())
    p.add_boxes(a, [Box(0, 0, 5, 5, "papule"), Box(5, 5, 9, 9, "pustule")])
    p.add_boxes(b, [Box(0, 0, 5, 5, "papule")])
    p.add_boxes(c, [Box(0, 0, 5, 5, "whitehead comedone")])
    for img, grade in ((a, 2.0), (b, 1.0), (c, 0.0)):
        p.set_grade(img, "acne4", grade)
    p.tags.set(b, KIND, ["papule", "nodule"])
    p.tags.set(c, KIND, [])
    p.tags.set(d, KIND, ["comedone"])
    yield p
    p.close()


@pytest.mark.parametrize("fmt", ["coco", "voc"])
def test_tags_come_back_on_import_and_export_again_byte_for_byte(
    tmp_path: Path, graded: Project, fmt: str
) -> None:
    before = _tags(graded)
    assert before == {
        "f0.png": (("papule", "pustule"), AUTO),
        "f1.png": (("papule", "nodule"), HUMAN),
        "f2.png": ((), HUMAN),
        "f3.png": (("comedone",), HUMAN),
    }
    first = tmp_path / "e1"
    export_project(graded, ExportOptions(fmt, first, pseudonymise=False, statuses=None))
    assert f",{KIND}\n" in (first / GRADES_FILE).read_text().splitlines(keepends=True)[0]

    back = _acne(tmp_path / "b")
    images = first / "images" if fmt == "coco" else first / "JPEGImages"
    report = import_images(
        back,
        [images],
        fmt=fmt,
        annotations=None if fmt == "coco" else first / "Annotations",
        grades_csv=first / GRADES_FILE,
    )
    assert report.skipped_grades == [] and report.tags == 4, report.to_dict()
    assert "tags of 4 image(s)" in report.summary()[0]
    # The same values; the one that came from the boxes still comes from them.
    assert _tags(back) == before
    second = tmp_path / "e2"
    export_project(back, ExportOptions(fmt, second, pseudonymise=False, statuses=None))
    assert (second / GRADES_FILE).read_bytes() == (first / GRADES_FILE).read_bytes()
    back.close()


def test_a_grades_csv_alone_restores_the_tags_of_images_already_there(
    tmp_path: Path, graded: Project
) -> None:
    out = tmp_path / "e"
    export_project(graded, ExportOptions("voc", out, pseudonymise=False, statuses=None))
    _a, b, c, d = (r.id for r in graded.images())
    for img in (b, c, d):
        graded.tags.reset(img, KIND)
    assert _tags(graded)["f1.png"] == (("papule",), AUTO)
    report = import_images(graded, [], grades_csv=out / GRADES_FILE)
    assert report.tags == 4 and report.skipped_grades == []
    assert _tags(graded)["f1.png"] == (("papule", "nodule"), HUMAN)
    assert _tags(graded)["f2.png"] == ((), HUMAN)  # "none present" is restored too
    assert _tags(graded)["f0.png"][1] == AUTO  # untouched: the file agrees with the boxes


def test_a_csv_of_tags_only_is_a_complete_import(tmp_path: Path) -> None:
    from core.project_io.importer import COMPLETE

    p = _acne(tmp_path / "p")
    import_images(p, [write_rgb(tmp_path / "src" / "f0.png")])
    csv = tmp_path / "g.csv"
    csv.write_text(f"image,scale,value,author,source,{KIND}\nf0.png,,,,,pustule\n")
    report = import_images(p, [], grades_csv=csv)
    assert (report.tags, report.grades, report.status) == (1, 0, COMPLETE)
    assert p.tags.get(p.images()[0].id, KIND).tags == ("pustule",)
    p.close()


def test_an_unknown_option_stops_the_import_naming_the_line(tmp_path: Path) -> None:
    p = _acne(tmp_path / "p")
    import_images(p, [write_rgb(tmp_path / "src" / "f0.png")])
    csv = tmp_path / "g.csv"
    csv.write_text(f"image,scale,value,author,source,{KIND}\nf0.png,acne4,1,,human,papule;acne\n")
    with pytest.raises(FormatError, match=r"g\.csv, line 2: column lesion_types: 'acne'"):
        import_images(p, [], grades_csv=csv)
    assert p.grades(p.images()[0].id) == [], "nothing was imported"
    p.close()


def test_conflicting_rows_and_unknown_images_are_reported_not_guessed(tmp_path: Path) -> None:
    p = _acne(tmp_path / "p")
    import_images(p, [write_rgb(tmp_path / "src" / "f0.png")])
    csv = tmp_path / "g.csv"
    csv.write_text(
        f"image,scale,value,author,source,{KIND}\n"
        "f0.png,acne4,1,dr.a,human,papule\n"
        "f0.png,acne4,1,dr.b,human,nodule\n"
        "nope.png,,,,,pustule\n"
    )
    report = import_images(p, [], grades_csv=csv)
    assert report.tags == 0 and report.grades == 2
    assert any("lines 2, 3: conflicting lesion_types" in s for s in report.skipped_grades)
    assert any("line 4: no image 'nope.png'" in s for s in report.skipped_grades)
    assert p.tags.get(p.images()[0].id, KIND).source == AUTO
    p.close()


def test_an_xray_project_notes_the_tags_it_cannot_keep(tmp_path: Path) -> None:
    p = new_project(tmp_path / "x")  # X-ray labels: no tag kind
    import_images(p, [write_rgb(tmp_path / "src" / "f0.png")])
    csv = tmp_path / "g.csv"
    csv.write_text(f"image,scale,value,author,source,{KIND}\nf0.png,acne4,1,,human,papule\n")
    report = import_images(p, [], grades_csv=csv)
    assert report.grades == 1 and report.tags == 0
    assert any("column lesion_types not imported" in s for s in report.skipped_grades)
    p.close()
