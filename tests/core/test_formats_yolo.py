"""YOLO label lines, class files and data.yaml."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from core.errors import FormatError
from core.formats.yolo import (
    data_yaml_text,
    find_class_file,
    parse_yolo_text,
    read_class_names,
    read_yolo_labels,
    rows_to_annotation,
    yolo_line,
)


def test_yolo_line_is_normalised_centre_and_size() -> None:
    assert yolo_line(3, 0.0, 0.0, 10.0, 20.0, 100, 200) == "3 0.050000 0.050000 0.100000 0.100000"


def test_yolo_round_trip_within_1e_6_of_the_image_size() -> None:
    rng = random.Random(7)
    W, H = 1234, 987
    lines = []
    boxes = []
    for i in range(200):
        x1, x2 = sorted(rng.uniform(0, W) for _ in range(2))
        y1, y2 = sorted(rng.uniform(0, H) for _ in range(2))
        boxes.append((x1, y1, x2, y2))
        lines.append(yolo_line(i % 5, x1, y1, x2, y2, W, H))
    rows = parse_yolo_text(lines, "l.txt")
    ann = rows_to_annotation(rows, {i: f"c{i}" for i in range(5)}, W, H, "l.txt")
    for (x1, y1, x2, y2), b in zip(boxes, ann.boxes, strict=True):
        assert abs(b.x1 / W - x1 / W) <= 1e-6 and abs(b.x2 / W - x2 / W) <= 1e-6
        assert abs(b.y1 / H - y1 / H) <= 1e-6 and abs(b.y2 / H - y2 / H) <= 1e-6
    # and writing what was read gives the same lines
    again = [
        yolo_line(r.class_id, b.x1, b.y1, b.x2, b.y2, W, H)
        for r, b in zip(rows, ann.boxes, strict=True)
    ]
    assert again == lines


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("0 0.5 0.5 0.1 0.1\n0 0.5 0.5 0.1\n", "line 2: expected 5 fields"),
        (
            "0 0.5 0.5 0.1 0.1 0.9 0.2 0.3\n",
            "line 1: expected 5 fields 'class cx cy w h', found 8 (a segmentation",
        ),
        ("\n0 1.5 0.5 0.1 0.1\n", "line 2: value 1.5 is outside [0, 1]"),
        ("0 0.5 -0.2 0.1 0.1\n", "line 1: value -0.2 is outside [0, 1]"),
        ("a 0.5 0.5 0.1 0.1\n", "line 1: 'a 0.5 0.5 0.1 0.1' has a field that is not a number"),
        ("1.5 0.5 0.5 0.1 0.1\n", "line 1: class '1.5' is not a whole number"),
        ("0 nan 0.5 0.1 0.1\n", "line 1: value nan is outside"),
    ],
)
def test_bad_yolo_lines_name_file_and_line(tmp_path: Path, text: str, needle: str) -> None:
    p = tmp_path / "img.txt"
    p.write_text(text)
    with pytest.raises(FormatError) as err:
        read_yolo_labels(p)
    assert str(p) in str(err.value) and needle in str(err.value)


def test_unknown_class_id_names_the_line() -> None:
    rows = parse_yolo_text(["0 0.5 0.5 0.1 0.1", "7 0.5 0.5 0.1 0.1"], "l.txt")
    with pytest.raises(
        FormatError, match=r"l.txt, line 2: class 7 is not in the class list \(0-1\)"
    ):
        rows_to_annotation(rows, {0: "a", 1: "b"}, 10, 10, "l.txt")


def test_blank_lines_and_bom_are_accepted(tmp_path: Path) -> None:
    p = tmp_path / "l.txt"
    p.write_bytes("\ufeff0 0.5 0.5 0.2 0.2\n\n".encode())
    assert len(read_yolo_labels(p)) == 1


def test_class_names_from_data_yaml_list_dict_and_classes_txt(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("names: [zipper, watch]\n")
    (tmp_path / "b.yaml").write_text("names:\n  0: zipper\n  1: belt buckle\n")
    (tmp_path / "classes.txt").write_text("zipper\nwatch\n\n")
    assert read_class_names(tmp_path / "a.yaml") == {0: "zipper", 1: "watch"}
    assert read_class_names(tmp_path / "b.yaml") == {0: "zipper", 1: "belt buckle"}
    assert read_class_names(tmp_path / "classes.txt") == {0: "zipper", 1: "watch"}


def test_bad_class_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "gap.yaml").write_text("names: {0: a, 2: b}\n")
    (tmp_path / "none.yaml").write_text("nc: 2\n")
    (tmp_path / "broken.yaml").write_text("names: [a, b\n")
    (tmp_path / "empty_line.txt").write_text("a\n\nb\n")
    with pytest.raises(FormatError, match="without gaps"):
        read_class_names(tmp_path / "gap.yaml")
    with pytest.raises(FormatError, match="no 'names'"):
        read_class_names(tmp_path / "none.yaml")
    with pytest.raises(FormatError, match=r"broken.yaml, line \d+: malformed YAML"):
        read_class_names(tmp_path / "broken.yaml")
    with pytest.raises(FormatError, match=r"empty_line\.txt, line 2: empty class name"):
        read_class_names(tmp_path / "empty_line.txt")


def test_class_file_is_found_in_the_folder_its_parent_or_the_dataset_root(tmp_path: Path) -> None:
    for sub in ("train/labels", "labels/val", "notes/misc"):
        (tmp_path / sub).mkdir(parents=True)
    (tmp_path / "data.yaml").write_text("names: [a]\n")
    assert find_class_file([tmp_path / "train"]) == tmp_path / "data.yaml"
    # Roboflow (train/labels) and ultralytics (labels/val) layouts: data.yaml at the root.
    assert find_class_file([tmp_path / "train" / "labels"]) == tmp_path / "data.yaml"
    assert find_class_file([tmp_path / "labels" / "val"]) == tmp_path / "data.yaml"
    # Elsewhere only one level up, so an unrelated data.yaml further up is not picked.
    assert find_class_file([tmp_path / "notes" / "misc"]) is None


def test_data_yaml_has_path_splits_and_names_as_dict(tmp_path: Path) -> None:
    text = data_yaml_text(tmp_path, ["train", "val"], {1: "watch", 0: "zipper"})
    data = yaml.safe_load(text)
    assert data == {
        "path": str(tmp_path.resolve()),
        "train": "images/train",
        "val": "images/val",
        "names": {0: "zipper", 1: "watch"},
    }


# --- clamping at the image edges ------------------------------------------------------------
def _fields(line: str) -> tuple[int, list[float]]:
    cls, *values = line.split()
    return int(cls), [float(v) for v in values]


def test_yolo_box_touching_the_right_and_bottom_edges_ends_exactly_at_1() -> None:
    line = yolo_line(1, 60.0, 150.0, 100.0, 200.0, 100, 200)
    assert line == "1 0.800000 0.875000 0.400000 0.250000"
    _, (cx, cy, w, h) = _fields(line)
    assert cx + w / 2 == pytest.approx(1.0) and cy + h / 2 == pytest.approx(1.0)


def test_yolo_box_wider_and_taller_than_the_image_is_clamped_to_the_whole_image() -> None:
    # 2 x the image in each direction around its centre: width and height clamp to 1.
    assert yolo_line(0, -50.0, -100.0, 150.0, 300.0, 100, 200) == (
        "0 0.500000 0.500000 1.000000 1.000000"
    )


@pytest.mark.parametrize(
    "box",
    [
        (90.0, 180.0, 130.0, 260.0),  # past the right and bottom edges, centre outside
        (80.0, 10.0, 300.0, 30.0),  # width 2.2 x the image, sticking out on the right
        (-40.0, -40.0, 10.0, 10.0),  # past the left and top edges, centre outside
    ],
)
def test_yolo_fields_of_a_box_past_the_edges_stay_within_0_1(
    box: tuple[float, float, float, float],
) -> None:
    # ultralytics refuses a label file with any coordinate outside [0, 1].
    _, values = _fields(yolo_line(0, *box, 100, 200))
    assert all(0.0 <= v <= 1.0 for v in values), values
    rows = parse_yolo_text([yolo_line(0, *box, 100, 200)], "l.txt")  # and reads back
    assert len(rows) == 1


def test_yolo_box_past_the_edge_is_written_as_its_part_inside_the_image() -> None:
    _, (cx, cy, w, h) = _fields(yolo_line(0, 90.0, 180.0, 130.0, 260.0, 100, 200))
    assert (cx - w / 2, cx + w / 2) == pytest.approx((0.9, 1.0))
    assert (cy - h / 2, cy + h / 2) == pytest.approx((0.9, 1.0))
