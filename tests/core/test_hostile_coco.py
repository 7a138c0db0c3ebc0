"""COCO files from outside: bounded before parsing, every field checked, one clear line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import core.formats.coco as coco
from core.errors import FormatError
from core.formats.coco import from_coco_bbox, parse_coco, read_coco, to_coco_bbox


def _doc(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "images": [{"id": 1, "file_name": "a.png", "width": 64, "height": 48}],
        "categories": [{"id": 1, "name": "zipper"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]}],
    }
    doc.update(over)
    return doc


def _refused(tmp_path: Path, content: str | bytes) -> str:
    p = tmp_path / "annotations.json"
    p.write_bytes(content.encode() if isinstance(content, str) else content)
    with pytest.raises(FormatError) as exc:
        read_coco(p)
    msg = str(exc.value)
    assert "\n" not in msg and str(p) in msg and len(msg) < 400
    return msg


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(coco, "MAX_JSON_BYTES", 1024)
    msg = _refused(tmp_path, json.dumps(_doc()) + " " * 2000)
    assert "limit" in msg


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("", "empty"),
        ("{", "malformed JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"images": [], "categories": [], "x": NaN}', "not a number JSON allows"),
        ("[1, 2]", "JSON object"),
        ('{"categories": []}', "no 'images' list"),
        ('{"images": []}', "no 'categories' list"),
        ('{"images": {}, "categories": []}', "'images' must be a list"),
    ],
)
def test_broken_documents_are_refused_in_one_line(
    tmp_path: Path, content: str | bytes, words: str
) -> None:
    assert words in _refused(tmp_path, content)


def _bad(**over: Any) -> str:
    with pytest.raises(FormatError) as exc:
        parse_coco(_doc(**over), "f.json")
    return str(exc.value)


@pytest.mark.parametrize(
    ("over", "words"),
    [
        ({"images": [{"id": "1", "file_name": "a.png"}]}, "images[0] (id 1): an image needs"),
        ({"images": [{"id": 1}]}, "needs a 'file_name'"),
        ({"images": [{"id": 1, "file_name": "a", "width": -3}]}, "whole numbers >= 0"),
        ({"images": [{"id": 1, "file_name": "a"}, {"id": 1, "file_name": "b"}]}, "twice"),
        ({"categories": [{"id": 1}]}, "needs a 'name'"),
        ({"categories": [{"id": 1, "name": "=cmd()"}]}, "spreadsheets"),
        ({"categories": [{"id": True, "name": "x"}]}, "whole-number 'id'"),
        ({"annotations": [{"image_id": 2, "category_id": 1, "bbox": [0, 0, 1, 1]}]},
         "image_id 2 is not in 'images'"),
        ({"annotations": [{"image_id": 1, "category_id": 5, "bbox": [0, 0, 1, 1]}]},
         "category_id 5 is not in 'categories'"),
        ({"annotations": [{"image_id": 1, "category_id": 1}]}, "'bbox' must be 4 numbers"),
        ({"annotations": [{"image_id": 1, "category_id": 1, "bbox": [0, 0, "1", 1]}]},
         "'bbox' must be 4 numbers"),
        ({"annotations": [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1, 1]}]},
         "'bbox' must be 4 numbers"),
        ({"annotations": [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1e999]}]},
         "'bbox' must be 4 numbers"),
        ({"annotations": [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1],
                           "attributes": {"occluded": "yes"}}]}, "attributes.occluded"),
        ({"annotations": ["box"]}, "annotations[0]: an annotation must be an object"),
    ],
)  # fmt: skip
def test_wrong_types_and_missing_or_unknown_references_name_the_entry(
    over: dict[str, Any], words: str
) -> None:
    msg = _bad(**over)
    assert words in msg and msg.startswith("f.json: ")


def test_a_negative_size_becomes_max_before_min_for_the_image_check() -> None:
    doc = parse_coco(_doc(annotations=[{"image_id": 1, "category_id": 1, "bbox": [9, 9, -4, 2]}]),
                     "f.json")  # fmt: skip
    (b,) = doc.boxes[1]
    assert b.x2 < b.x1  # validate_boxes refuses it with the image (see the project tests)


@pytest.mark.parametrize(
    "corners",
    [(0.1, 0.2, 0.3, 0.7), (12.4, 5.6, 30.2, 20.7), (0.0, 0.0, 3000.0, 2999.999999),
     (1e-7, 2.5, 1234.567891, 99.0)],
)  # fmt: skip
def test_the_bbox_convention_round_trips_at_the_written_precision(
    corners: tuple[float, float, float, float],
) -> None:
    once = to_coco_bbox(*corners)
    back = from_coco_bbox(*once)
    assert to_coco_bbox(*back) == once  # COCO -> store -> COCO: the same numbers
    assert back == pytest.approx(corners, abs=1e-6)  # store -> COCO -> store: within 1e-6 px
    assert once[2] >= 0 and once[3] >= 0
