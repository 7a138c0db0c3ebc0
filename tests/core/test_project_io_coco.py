"""COCO export/import through a project: exact round trips, read back by pycocotools."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from core.annotations import Box
from core.formats.coco import COCO_FILE
from core.project_io import ExportOptions, export_project, import_images
from core.store import Project
from tests.core.conftest import annotated_project, files_of, new_project, write_rgb


def _reimport(export: Path, folder: Path) -> Project:
    project = new_project(folder)
    report = import_images(
        project, [export / "images"], fmt="coco", grades_csv=export / "grades.csv"
    )
    assert not report.skipped and not report.skipped_annotations and not report.skipped_grades
    return project


@pytest.mark.parametrize("pseudonymise", [False, True])
def test_coco_export_import_export_is_byte_stable(tmp_path: Path, pseudonymise: bool) -> None:
    a = annotated_project(tmp_path / "a", with_16bit=False)
    first = tmp_path / "coco1"
    export_project(a, ExportOptions("coco", first, pseudonymise=pseudonymise, statuses=None))
    b = _reimport(first, tmp_path / "b")
    second = tmp_path / "coco2"
    export_project(b, ExportOptions("coco", second, pseudonymise=pseudonymise, statuses=None))
    one, two = files_of(first), files_of(second)
    assert COCO_FILE in one and len(one) > 5 and one == two


def test_store_boxes_come_back_exactly_and_pycocotools_reads_what_was_written(
    tmp_path: Path,
) -> None:
    a = annotated_project(tmp_path / "a", n=4, with_16bit=False)
    out = tmp_path / "coco"
    report = export_project(a, ExportOptions("coco", out, pseudonymise=False, statuses=None))
    assert report.images == 4 and report.boxes == 10
    coco = COCO(str(out / COCO_FILE))
    # Categories: the registry, ids + 1, every label even unused ones.
    reg = {lab.id + 1: lab.name for lab in a.label_set().labels}
    assert {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())} == reg
    by_name = {rec.path.rsplit("/", 1)[-1]: rec for rec in a.images()}
    boxes = a.boxes_by_image()
    for img in coco.loadImgs(coco.getImgIds()):
        rec = by_name[img["file_name"]]
        assert (img["width"], img["height"]) == (rec.width, rec.height)
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[img["id"]]))
        want = sorted((b.label, b.x1, b.y1, b.x2 - b.x1, b.y2 - b.y1) for b in boxes[rec.id])
        got = sorted((reg[x["category_id"]], *x["bbox"]) for x in anns)
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert g[0] == w[0] and g[1:] == pytest.approx(w[1:], abs=1e-9)
        for x in anns:  # pycocotools' mask of the polygon covers the box
            assert coco.annToMask(x).sum() == pytest.approx(x["area"], rel=0.35, abs=40)
    # pycocotools scores the file against itself as detections: every box found, AP 1.
    dets = coco.loadRes([{**x, "score": 1.0} for x in coco.dataset["annotations"]])
    ev = COCOeval(coco, dets, "bbox")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)
    b = _reimport(out, tmp_path / "b")
    got_b = {
        r.path.rsplit("/", 1)[-1]: sorted((x.label, x.x1, x.y1, x.x2, x.y2, x.difficult,
                                          x.truncated, x.occluded) for x in bx)
        for r in b.images() for bx in [b.boxes_by_image().get(r.id, [])]
    }  # fmt: skip
    for name, rec in by_name.items():
        want_b = sorted(
            (x.label, x.x1, x.y1, x.x2, x.y2, x.difficult, x.truncated, x.occluded)
            for x in boxes[rec.id]
        )
        assert len(got_b[name]) == len(want_b)
        for g, w in zip(got_b[name], want_b, strict=True):
            assert g[0] == w[0] and g[5:] == w[5:]
            assert g[1:5] == pytest.approx(w[1:5], abs=1e-6)


def test_no_images_writes_only_the_json_naming_the_files_an_image_export_would(
    tmp_path: Path,
) -> None:
    a = annotated_project(tmp_path / "a", n=3, with_16bit=True)
    full, bare = tmp_path / "full", tmp_path / "bare"
    export_project(a, ExportOptions("coco", full, pseudonymise=True, statuses=None))
    export_project(a, ExportOptions("coco", bare, pseudonymise=True, statuses=None, images=False))
    assert not (bare / "images").exists() and (bare / COCO_FILE).is_file()
    assert (full / COCO_FILE).read_bytes() == (bare / COCO_FILE).read_bytes()
    names = [im["file_name"] for im in json.loads((full / COCO_FILE).read_text())["images"]]
    assert sorted(p.name for p in (full / "images").iterdir()) == sorted(names)
    assert all(n.startswith("img-") for n in names)  # pseudonymised: no file names


def test_the_reviewed_only_default_holds_for_coco(tmp_path: Path) -> None:
    a = annotated_project(tmp_path / "a", n=3, with_16bit=False)
    first = a.images()[0]
    a.grading.set_review_status(first.id, "done")
    out = tmp_path / "coco"
    report = export_project(a, ExportOptions("coco", out))
    assert report.images == 1 and report.not_reviewed_left_out == 2
    assert len(json.loads((out / COCO_FILE).read_text())["images"]) == 1


def test_a_cvat_style_file_imports_by_file_name(tmp_path: Path) -> None:
    src = tmp_path / "ds"
    write_rgb(src / "images" / "a.png", 64, 48, seed=1)
    write_rgb(src / "images" / "b.png", 64, 48, seed=2)
    doc = {
        "images": [
            {"id": 7, "file_name": "a.png", "width": 64, "height": 48},
            {"id": 9, "file_name": "b.png", "width": 64, "height": 48},
        ],
        "categories": [{"id": 1, "name": "zipper"}, {"id": 2, "name": "watch"}],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 2, "bbox": [1.25, 2.5, 10.5, 4.75],
             "attributes": {"occluded": True}},
            {"id": 2, "image_id": 9, "category_id": 1, "bbox": [0, 0, 64, 48]},
            {"id": 3, "image_id": 9, "category_id": 1, "bbox": [0, 0, 5, 5], "iscrowd": 1},
        ],
    }  # fmt: skip
    (src / "annotations").mkdir()
    (src / "annotations" / "instances_default.json").write_text(json.dumps(doc))
    p = new_project(tmp_path / "p")
    report = import_images(p, [src / "images"], annotations=src / "annotations", fmt="coco")
    assert len(report.added) == 2 and report.boxes == 2
    assert any("crowd" in s for s in report.skipped_annotations)
    by_name = {r.path.rsplit("/", 1)[-1]: r.id for r in p.images()}
    (box,) = p.boxes_by_image()[by_name["a.png"]]
    assert (box.label, box.x1, box.y1, box.x2, box.y2, box.occluded) == (
        "watch", 1.25, 2.5, 11.75, 7.25, True,
    )  # fmt: skip


def test_a_box_off_the_image_refuses_that_image_only(tmp_path: Path) -> None:
    src = tmp_path / "ds"
    write_rgb(src / "a.png", 64, 48, seed=1)
    write_rgb(src / "b.png", 64, 48, seed=2)
    doc = {
        "images": [{"id": 1, "file_name": "a.png"}, {"id": 2, "file_name": "b.png"}],
        "categories": [{"id": 1, "name": "zipper"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, -5, 4]},
            {"id": 2, "image_id": 2, "category_id": 1, "bbox": [1, 1, 5, 4]},
        ],
    }
    (src / COCO_FILE).write_text(json.dumps(doc))
    p = new_project(tmp_path / "p")
    report = import_images(p, [src], fmt="coco")
    assert len(report.added) == 1 and report.boxes == 1
    assert "a.png" in report.skipped[0] and "maximum before its minimum" in report.skipped[0]
    p.add_boxes(p.images()[0].id, [Box(0, 0, 1, 1, "zipper")])  # the project still works
