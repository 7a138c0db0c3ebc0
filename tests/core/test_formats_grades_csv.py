"""Grades CSV: deterministic writing and checked reading."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.annotations import builtin_scale
from core.errors import FormatError
from core.formats.grades_csv import GradeRow, grades_csv_text, read_grades_csv

SCALES = {"acne4": builtin_scale("acne4"), "hyperpig": builtin_scale("hyperpig")}


def test_grades_csv_round_trip(tmp_path: Path) -> None:
    rows = [
        GradeRow("b.jpg", "hyperpig", 3.5, "dr, a", "human"),
        GradeRow("a.jpg", "acne4", 2.0, None, "model"),
    ]
    text = grades_csv_text(rows)
    assert text.splitlines()[0] == "image,scale,value,author,source"
    assert text.splitlines()[1] == "a.jpg,acne4,2,,model"
    p = tmp_path / "grades.csv"
    p.write_text(text)
    back = read_grades_csv(p, SCALES)
    assert [(r.image, r.scale, r.value, r.author, r.source, r.line) for r in back] == [
        ("a.jpg", "acne4", 2.0, None, "model", 2),
        ("b.jpg", "hyperpig", 3.5, "dr, a", "human", 3),
    ]
    assert grades_csv_text(back) == text


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("image,value\n", "line 1: header lacks column(s) scale"),
        (
            "image,scale,value\na.jpg,acne4,1\nb.jpg,iga5,1\n",
            "line 3: scale 'iga5' is not used by this project",
        ),
        (
            "image,scale,value\na.jpg,acne4,7\n",
            "line 2: 7 is not a grade of 'acne4' (allowed: 0, 1, 2, 3)",
        ),
        ("image,scale,value\na.jpg,hyperpig,0.25\n", "line 2: 0.25 is not a grade of 'hyperpig'"),
        ("image,scale,value\na.jpg,acne4,x\n", "line 2: value 'x' is not a number"),
        ("image,scale,value,source\na.jpg,acne4,1,robot\n", "line 2: source 'robot'"),
        ("", "the file is empty"),
    ],
)
def test_bad_grades_csv_names_file_and_line(tmp_path: Path, text: str, needle: str) -> None:
    p = tmp_path / "g.csv"
    p.write_text(text)
    with pytest.raises(FormatError) as err:
        read_grades_csv(p, SCALES)
    assert str(p) in str(err.value) and needle in str(err.value)
