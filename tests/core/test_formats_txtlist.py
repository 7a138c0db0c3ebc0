"""keras-yolo3 / Roboflow plain-text list files."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import FormatError
from core.formats.txtlist import read_list_file

NAMES = {0: "zipper", 1: "watch"}


def test_list_lines_give_one_annotation_per_image(tmp_path: Path) -> None:
    p = tmp_path / "_annotations.txt"
    p.write_text("a.jpg 1,2,30,40,0 5.5,6,7,8,1\nsub dir/b c.png\n\n")
    a, b = read_list_file(p, NAMES)
    assert (a.image_name, a.line) == ("a.jpg", 1)
    assert [(x.label, x.x1, x.y1, x.x2, x.y2) for x in a.boxes] == [
        ("zipper", 1.0, 2.0, 30.0, 40.0),
        ("watch", 5.5, 6.0, 7.0, 8.0),
    ]
    assert (b.image_name, b.boxes) == ("sub dir/b c.png", [])


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("a.jpg 1,2,3,4,0\nb.jpg 1,2,3,0\n", "line 2: '1,2,3,0' is not a box"),
        ("a.jpg 1,2,3,4,5\n", "line 1: class 5 in '1,2,3,4,5' is not in the class list (0-1)"),
        ("a.jpg 9,2,3,4,0\n", "line 1: box '9,2,3,4,0' has x2 < x1"),
    ],
)
def test_bad_list_lines_name_file_and_line(tmp_path: Path, text: str, needle: str) -> None:
    p = tmp_path / "list.txt"
    p.write_text(text)
    with pytest.raises(FormatError) as err:
        read_list_file(p, NAMES)
    assert str(p) in str(err.value) and needle in str(err.value)
