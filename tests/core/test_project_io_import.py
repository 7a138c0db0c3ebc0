"""Importing into a project: other tools' files, and bad input that must not half-import."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from core.errors import ClinLensError, JobCancelled, ProjectError, UnknownLabelError
from core.formats.voc import VocObject, voc_xml
from core.project_io import import_images
from core.store import Project
from tests.core.conftest import new_project, write_rgb
from tests.core.test_formats_voc import CVAT_XML, ROBOFLOW_XML


def _voc(path: Path, filename: str, objects: list[VocObject], w: int = 64, h: int = 48) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(voc_xml(filename=filename, width=w, height=h, depth=3, objects=objects))


def _boxes(project: Project, name: str) -> list[tuple[str, float, float, float, float]]:
    rec = next(r for r in project.images() if Path(r.path).name == name)
    return [(b.label, b.x1, b.y1, b.x2, b.y2) for b in project.boxes(rec.id)]


def test_labelimg_written_annotations_import_with_the_same_boxes(tmp_path: Path) -> None:
    from libs.pascal_voc_io import PascalVocWriter  # LabelImg's own writer (PyPI labelImg)

    write_rgb(tmp_path / "imgs" / "scan.png", 64, 48)
    writer = PascalVocWriter("imgs", "scan.png", (48, 64, 3))
    writer.add_bnd_box(3, 4, 30, 40, "zipper", False)
    writer.add_bnd_box(1, 1, 64, 48, "watch", True)
    (tmp_path / "labelimg").mkdir()
    writer.save(target_file=str(tmp_path / "labelimg" / "scan.xml"))
    project = new_project(tmp_path / "p")
    report = import_images(
        project, [tmp_path / "imgs"], annotations=tmp_path / "labelimg", fmt="voc"
    )
    assert len(report.added) == 1 and report.boxes == 2
    assert _boxes(project, "scan.png") == [
        ("zipper", 2.0, 3.0, 30.0, 40.0),
        ("watch", 0.0, 0.0, 64.0, 48.0),
    ]
    rec = project.images()[0]
    assert [b.difficult for b in project.boxes(rec.id)] == [False, True]


def test_cvat_and_roboflow_voc_files_import(tmp_path: Path) -> None:
    write_rgb(tmp_path / "imgs" / "frame_000000.png", 640, 480, seed=1)
    write_rgb(tmp_path / "imgs" / "img_jpg.rf.0a1b2c.png", 416, 416, seed=2)
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "frame_000000.xml").write_bytes(CVAT_XML)
    (tmp_path / "ann" / "img_jpg.rf.0a1b2c.xml").write_bytes(ROBOFLOW_XML)
    project = new_project(tmp_path / "p")
    report = import_images(project, [tmp_path / "imgs"], annotations=tmp_path / "ann", fmt="voc")
    assert len(report.added) == 2 and not report.skipped
    ((label, x1, y1, x2, y2),) = _boxes(project, "frame_000000.png")
    assert label == "watch" and (x1, y1, x2, y2) == pytest.approx((425.09, 408.99, 553.39, 477.02))
    assert _boxes(project, "img_jpg.rf.0a1b2c.png") == [("key", 65.0, 77.0, 136.0, 163.0)]


def test_plain_text_list_import_and_missing_images_reported(tmp_path: Path) -> None:
    d = tmp_path / "train"
    write_rgb(d / "a.png", seed=1)
    write_rgb(d / "b.png", seed=2)
    (d / "_classes.txt").write_text("zipper\nwatch\n")
    (d / "_annotations.txt").write_text(
        "a.png 1,2,30,40,0 5,6,20,30,1\nb.png\ngone.png 1,1,5,5,0\n"
    )
    project = new_project(tmp_path / "p")
    report = import_images(project, [d], fmt="txt")
    assert len(report.added) == 2 and report.boxes == 2
    assert _boxes(project, "a.png") == [
        ("zipper", 1.0, 2.0, 30.0, 40.0),
        ("watch", 5.0, 6.0, 20.0, 30.0),
    ]
    (missing,) = report.skipped_annotations
    assert (
        "_annotations.txt, line 3" in missing
        and "gone.png" in missing
        and "does not exist" in missing
    )


def test_yolo_import_with_classes_txt_beside_labels(tmp_path: Path) -> None:
    write_rgb(tmp_path / "images" / "a.png", 100, 50)
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text("1 0.5 0.5 0.2 0.4\n")
    (tmp_path / "labels" / "classes.txt").write_text("zipper\nwatch\n")
    project = new_project(tmp_path / "p")
    import_images(project, [tmp_path / "images"], annotations=tmp_path / "labels", fmt="yolo")
    assert _boxes(project, "a.png") == [("watch", pytest.approx(40.0), 15.0, 60.0, 35.0)]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (
            b"<annotation>\n<object><name>zipper</name>\n<bndbox>\n</annotation>",
            "a.xml, line 4: malformed XML",
        ),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<annotation>&x;</annotation>',
            "a.xml, line 2: XML with a DOCTYPE",
        ),
        (
            voc_xml(
                filename="a.png",
                width=64,
                height=48,
                depth=3,
                objects=[VocObject("zipper", 1, 1, 10, 10), VocObject("key", 60, 40, 90, 47)],
            ),
            "a.xml, line 24: box 'key' (x 59..90, y 39..47) lies outside the 64x48 image",
        ),
        (
            b"<annotation>\n<object><name>key</name>\n<bndbox><xmin>9</xmin><ymin>1</ymin><xmax>2</xmax><ymax>5</ymax></bndbox></object></annotation>",
            "a.xml, line 3: box 'key' has xmax < xmin",
        ),
        (
            voc_xml(filename="a.png", width=640, height=480, depth=3, objects=[]),
            "annotation is for a 640x480 image but the image is 64x48",
        ),
    ],
)
def test_bad_voc_skips_that_image_whole_and_names_file_and_line(
    tmp_path: Path, content: bytes, needle: str
) -> None:
    write_rgb(tmp_path / "imgs" / "a.png", seed=1)
    write_rgb(tmp_path / "imgs" / "b.png", seed=2)
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "a.xml").write_bytes(content)
    _voc(tmp_path / "ann" / "b.xml", "b.png", [VocObject("zipper", 1, 1, 10, 10)])
    project = new_project(tmp_path / "p")
    report = import_images(project, [tmp_path / "imgs"], annotations=tmp_path / "ann", fmt="voc")
    assert [Path(p).name for p in report.added] == ["b.png"]
    (skipped,) = report.skipped
    assert str(tmp_path / "imgs" / "a.png") in skipped and needle in skipped
    assert [Path(r.path).name for r in project.images()] == ["b.png"]
    assert project.stats()["boxes"] == 1


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("0 0.5 0.5 0.2\n", "a.txt, line 1: expected 5 fields"),
        ("0 0.5 0.5 0.2 0.2\n0 0.5 1.7 0.2 0.2\n", "a.txt, line 2: value 1.7 is outside [0, 1]"),
        ("5 0.5 0.5 0.2 0.2\n", "a.txt, line 1: class 5 is not in the class list"),
    ],
)
def test_bad_yolo_labels_skip_the_image_naming_file_and_line(
    tmp_path: Path, text: str, needle: str
) -> None:
    write_rgb(tmp_path / "images" / "a.png", seed=1)
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text(text)
    (tmp_path / "labels" / "classes.txt").write_text("zipper\n")
    project = new_project(tmp_path / "p")
    report = import_images(
        project, [tmp_path / "images"], annotations=tmp_path / "labels", fmt="yolo"
    )
    assert report.added == [] and len(report.skipped) == 1 and needle in report.skipped[0]
    assert project.image_count() == 0


def test_unknown_labels_stop_the_import_unless_added(tmp_path: Path) -> None:
    write_rgb(tmp_path / "imgs" / "a.png", seed=1)
    write_rgb(tmp_path / "imgs" / "b.png", seed=2)
    _voc(tmp_path / "ann" / "a.xml", "a.png", [VocObject("toaster", 1, 1, 5, 5)])
    _voc(
        tmp_path / "ann" / "b.xml",
        "b.png",
        [VocObject("kettle", 1, 1, 5, 5), VocObject("zipper", 1, 1, 9, 9)],
    )
    project = new_project(tmp_path / "p")
    with pytest.raises(UnknownLabelError, match="kettle, toaster") as err:
        import_images(project, [tmp_path / "imgs"], annotations=tmp_path / "ann", fmt="voc")
    assert err.value.labels == ["kettle", "toaster"]
    assert project.image_count() == 0 and len(project.label_set().labels) == 18
    report = import_images(
        project, [tmp_path / "imgs"], annotations=tmp_path / "ann", fmt="voc", add_labels=True
    )
    assert report.labels_added == ["toaster", "kettle"]
    assert [lab.id for lab in project.label_set().labels][-2:] == [18, 19]
    assert project.stats()["boxes"] == 3


def test_duplicate_images_are_skipped_and_reported(tmp_path: Path) -> None:
    write_rgb(tmp_path / "imgs" / "a.png", seed=1)
    write_rgb(tmp_path / "imgs" / "copy_of_a.png", seed=1)
    project = new_project(tmp_path / "p")
    first = import_images(project, [tmp_path / "imgs"])
    assert len(first.added) == 1 and "same content as" in first.duplicates[0]
    again = import_images(project, [tmp_path / "imgs" / "a.png"])
    assert again.added == [] and again.duplicates == [
        f"{tmp_path / 'imgs' / 'a.png'}: already in the project"
    ]
    assert project.image_count() == 1


def test_unreadable_image_is_skipped_with_its_reason(tmp_path: Path) -> None:
    write_rgb(tmp_path / "imgs" / "good.png", seed=1)
    (tmp_path / "imgs" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    project = new_project(tmp_path / "p")
    report = import_images(project, [tmp_path / "imgs"])
    assert [Path(p).name for p in report.added] == ["good.png"]
    assert len(report.skipped) == 1 and "broken.png" in report.skipped[0]
    ((path, reason),) = report.skipped_items
    assert path == str(tmp_path / "imgs" / "broken.png") and reason


def test_a_file_name_that_is_not_utf8_is_skipped_and_reported_printably(tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    write_rgb(folder / "good.png", seed=1)
    try:
        odd = os.fsdecode(os.fsencode(folder) + b"/scan\xff.png")
        os.rename(write_rgb(folder / "tmp.png", seed=2), odd)
    except (OSError, UnicodeError):
        pytest.skip("this file system does not take non-UTF-8 names")
    project = new_project(tmp_path / "p")
    report = import_images(project, [folder])
    assert [Path(p).name for p in report.added] == ["good.png"]
    (line,) = report.skipped
    assert "scan\\udcff.png" in line and "not valid UTF-8" in line
    line.encode("utf-8")  # printable and storable as it is
    assert report.skipped_items[0][0].endswith("scan\\udcff.png")


def test_missing_path_and_non_project_folder_are_refused(tmp_path: Path) -> None:
    project = new_project(tmp_path / "p")
    with pytest.raises(ClinLensError, match="does not exist; nothing was imported"):
        import_images(project, [tmp_path / "nowhere"])
    (tmp_path / "plain").mkdir()
    with pytest.raises(ProjectError, match="is not a ClinLens project"):
        Project.open(tmp_path / "plain")


def test_bad_grades_csv_stops_the_import_before_any_write(tmp_path: Path) -> None:
    write_rgb(tmp_path / "imgs" / "a.png", seed=1)
    (tmp_path / "g.csv").write_text("image,scale,value\na.png,acne4,9\n")
    project = new_project(tmp_path / "p")
    with pytest.raises(ClinLensError, match=r"g\.csv, line 2: 9 is not a grade of 'acne4'"):
        import_images(project, [tmp_path / "imgs"], grades_csv=tmp_path / "g.csv")
    assert project.image_count() == 0


def test_grades_for_unknown_images_are_reported_by_line(tmp_path: Path) -> None:
    write_rgb(tmp_path / "imgs" / "a.png", seed=1)
    (tmp_path / "g.csv").write_text("image,scale,value\na.png,acne4,2\nzzz.png,acne4,1\n")
    project = new_project(tmp_path / "p")
    report = import_images(project, [tmp_path / "imgs"], grades_csv=tmp_path / "g.csv")
    assert report.grades == 1
    assert report.skipped_grades == [
        f"{tmp_path / 'g.csv'}, line 3: no image 'zzz.png' in the project"
    ]


def test_import_skips_the_projects_own_files(tmp_path: Path) -> None:
    project = new_project(tmp_path / "p")
    write_rgb(tmp_path / "p" / "images" / "a.png", seed=1)
    write_rgb(tmp_path / "p" / "exports" / "old" / "x.png", seed=2)
    report = import_images(project, [tmp_path / "p"])
    assert [Path(p).name for p in report.added] == ["a.png"]
    assert project.images()[0].path == "images/a.png"


def test_cancelled_import_saves_nothing(tmp_path: Path) -> None:
    for i in range(3):
        write_rgb(tmp_path / "imgs" / f"{i}.png", seed=i)
    project = new_project(tmp_path / "p")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(JobCancelled):
        import_images(project, [tmp_path / "imgs"], cancel=cancel)
    assert project.image_count() == 0


def test_same_stem_in_two_folders_with_one_annotation_is_not_guessed(tmp_path: Path) -> None:
    write_rgb(tmp_path / "imgs" / "a.png", seed=1)
    write_rgb(tmp_path / "imgs" / "sub" / "a.png", seed=2)
    _voc(tmp_path / "ann" / "a.xml", "a.png", [VocObject("zipper", 1, 1, 5, 5)])
    project = new_project(tmp_path / "p")
    report = import_images(project, [tmp_path / "imgs"], annotations=tmp_path / "ann", fmt="voc")
    assert report.added == [] and len(report.skipped) == 2
    assert all("could belong to several images" in s for s in report.skipped)
    assert report.skipped_annotations == []


def test_an_annotation_file_of_another_format_is_refused(tmp_path: Path) -> None:
    write_rgb(tmp_path / "imgs" / "a.png", seed=1)
    (tmp_path / "notes.yaml").write_text("a: 1\n")
    project = new_project(tmp_path / "p")
    with pytest.raises(ClinLensError, match=r"notes\.yaml: not a VOC annotation file"):
        import_images(project, [tmp_path / "imgs"], annotations=tmp_path / "notes.yaml", fmt="voc")
    assert project.image_count() == 0


# --- truthful reports: errors kept, conflicts and refusals named -----------------------------
def test_an_image_whose_pixels_are_cut_is_kept_as_an_error_with_its_size(tmp_path: Path) -> None:
    write_rgb(tmp_path / "imgs" / "good.png", seed=1)
    data = write_rgb(tmp_path / "imgs" / "cut.png", 64, 48, seed=2).read_bytes()
    (tmp_path / "imgs" / "cut.png").write_bytes(data[: len(data) // 2])
    project = new_project(tmp_path / "p")
    report = import_images(project, [tmp_path / "imgs"])
    assert [Path(p).name for p in report.added] == ["good.png"] and report.status == "partial"
    (line,) = report.errors
    assert line.startswith(f"{tmp_path / 'imgs' / 'cut.png'}: 'cut.png' is truncated")
    cut = next(r for r in project.images() if r.path.endswith("cut.png"))
    assert (cut.width, cut.height) == (64, 48) and cut.error and "ends early" in cut.error
    assert project.stats()["images_with_errors"] == 1
    again = import_images(project, [tmp_path / "imgs"])  # both already in: complete
    assert again.status == "complete" and len(again.duplicates) == 2


def test_conflicting_grade_rows_are_reported_and_none_of_them_set(tmp_path: Path) -> None:
    write_rgb(tmp_path / "imgs" / "a.png", seed=1)
    (tmp_path / "g.csv").write_text(
        "image,scale,value,author\na.png,acne4,2,dr a\na.png,acne4,3,dr a\na.png,acne4,2,dr a\n"
    )
    project = new_project(tmp_path / "p")
    report = import_images(project, [tmp_path / "imgs"], grades_csv=tmp_path / "g.csv")
    assert report.grades == 0 and report.status == "partial"
    (line,) = report.skipped_grades
    assert "lines 2, 3, 4: conflicting human grades for 'a.png' on acne4" in line
    assert "dr a: 2; dr a: 3" in line  # each distinct value once
    assert project.grades(project.images()[0].id) == []


def test_repeated_identical_grade_rows_count_once(tmp_path: Path) -> None:
    write_rgb(tmp_path / "imgs" / "a.png", seed=1)
    (tmp_path / "g.csv").write_text("image,scale,value\na.png,acne4,2\nimgs/a.png,acne4,2\n")
    project = new_project(tmp_path / "p")
    report = import_images(project, [tmp_path / "imgs"], grades_csv=tmp_path / "g.csv")
    assert report.grades == 1 and report.skipped_grades == [] and report.status == "complete"


def test_a_box_outside_the_image_refuses_image_and_annotation_saying_so(tmp_path: Path) -> None:
    write_rgb(tmp_path / "imgs" / "a.png", seed=1)
    _voc(tmp_path / "ann" / "a.xml", "a.png", [VocObject("zipper", 1, 1, 300, 20)])
    project = new_project(tmp_path / "p")
    report = import_images(project, [tmp_path / "imgs"], annotations=tmp_path / "ann", fmt="voc")
    (line,) = report.skipped
    assert "lies outside the 64x48 image" in line
    assert line.endswith("refused: neither the image nor its annotation was imported")
    assert project.image_count() == 0 and report.status == "nothing"


def test_a_new_label_is_checked_before_any_write_naming_its_file(tmp_path: Path) -> None:
    from core.annotations.labels import LabelNameError

    write_rgb(tmp_path / "imgs" / "a.png", seed=1)
    _voc(tmp_path / "ann" / "a.xml", "a.png", [VocObject("=HYPERLINK(1)", 1, 1, 5, 5)])
    project = new_project(tmp_path / "p")
    with pytest.raises(LabelNameError) as refused:
        import_images(
            project, [tmp_path / "imgs"], annotations=tmp_path / "ann", fmt="voc", add_labels=True
        )
    assert str(refused.value).startswith(f"{tmp_path / 'ann' / 'a.xml'}: ")
    assert project.image_count() == 0 and len(project.label_set().labels) == 18


def test_unknown_label_names_are_shortened_in_the_refusal(tmp_path: Path) -> None:
    write_rgb(tmp_path / "imgs" / "a.png", seed=1)
    _voc(tmp_path / "ann" / "a.xml", "a.png", [VocObject("x" * 200, 1, 1, 5, 5)])
    project = new_project(tmp_path / "p")
    with pytest.raises(UnknownLabelError) as refused:
        import_images(project, [tmp_path / "imgs"], annotations=tmp_path / "ann", fmt="voc")
    assert "x" * 39 + "…" in str(refused.value) and "x" * 41 not in str(refused.value)


def test_an_empty_folder_imports_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    report = import_images(new_project(tmp_path / "p"), [tmp_path / "empty"])
    assert report.status == "nothing" and report.outcome().startswith("no image files found")
