"""Image-level grades as CSV: ``image,scale,value,author,source`` (one row per grade).

A project with image-level tags adds a column per tag kind (``lesion_types``: the options
present, ``;``-separated); see ``grades_csv_text``. ``parse_tags_text`` reads those columns
back (``core.project_io.grades.apply_tag_cells`` stores them), so an export's tags survive
``project import --grades``.

An optional ``group`` column on import names the source of each photo (one face or
patient, augmented copies): cross-validation keeps a group in one fold.

Written beside VOC and YOLO exports (``grades.csv``) and read back on import. ``image`` is
the image's file name in the export (or any path/name that identifies it on import).

Formula escape (CSV injection). A spreadsheet opening the file runs any cell that starts
with ``=``, ``+``, ``-`` or ``@`` (or a tab, CR or LF before one) as a formula, and image
names and authors come from outside. So, as OWASP recommends, the writer puts a single
quote ``'`` before every text cell (``image``, ``scale``, ``author``, ``source``) that
starts with one of ``= + - @ \\t \\r \\n`` -- and before one that already starts with
``'``, so that a real leading quote is written doubled. The reader removes exactly one
leading ``'`` from those columns. The round trip is exact::

    =HYPERLINK(...)  ->  '=HYPERLINK(...)  ->  =HYPERLINK(...)
    -2+3             ->  '-2+3             ->  -2+3
    'quoted          ->  ''quoted          ->  'quoted
    plain.png        ->  plain.png         ->  plain.png

The ``value`` column is a number written by ClinLens and is never escaped: a negative
grade stays ``-1`` and a spreadsheet reads it as the number it is. A file from another
tool whose text cell really starts with ``'`` loses that quote on import (the price of
the escape; such names are rare and the quote is what spreadsheets hide anyway).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from core.annotations import BOX_SOURCES
from core.annotations.scales import GradingScale
from core.annotations.tags import TAG_KINDS, TAG_SEPARATOR, TagKind
from core.errors import FormatError
from core.formats.common import read_text
from core.text import shorten

COLUMNS = ("image", "scale", "value", "author", "source")
GRADES_FILE = "grades.csv"
ESCAPE = "'"
# OWASP's triggers, plus LF (some spreadsheets skip a leading line break too), plus the
# escape character itself so that the escape is reversible.
_NEEDS_ESCAPE = ("=", "+", "-", "@", "\t", "\r", "\n", ESCAPE)


@dataclass(frozen=True)
class GradeRow:
    image: str
    scale: str
    value: float
    author: str | None = None
    source: str = "human"
    line: int = 0
    group: str | None = (
        None  # optional ``group`` column: photos of one source (core.store.source_groups)
    )


def _fmt(value: float) -> str:
    return f"{value:g}"


def escape_cell(text: str) -> str:
    """A text cell safe to open in a spreadsheet (see the module docstring)."""
    return ESCAPE + text if text.startswith(_NEEDS_ESCAPE) else text


def unescape_cell(text: str) -> str:
    """Undo ``escape_cell``: drop exactly one leading ``'``."""
    return text[1:] if text.startswith(ESCAPE) else text


def _csv_row(cells: list[str]) -> str:
    """One CSV row ending in LF, with every cell holding a CR or LF quoted.

    The csv module quotes only the characters of its own line terminator: with "\n" a
    bare CR inside a cell went out unquoted, and a spreadsheet started a new row there
    (``x\r=1+1`` put a live formula at the start of a line). With "\r\n" both are quoted,
    so the only unquoted CR LF is the row's end, which becomes LF.
    """
    one = io.StringIO()
    csv.writer(one, lineterminator="\r\n").writerow(cells)
    return one.getvalue()[:-2] + "\n"


def grades_csv_text(
    rows: Iterable[GradeRow],
    tags: Mapping[str, str] | None = None,
    tag_column: str = "lesion_types",
) -> str:
    """Deterministic CSV (sorted by image, scale, source), LF line endings, text cells
    escaped against formula injection.

    ``tags`` (image -> cell, e.g. ``papule;pustule``) adds the ``tag_column`` column: the
    image's image-level tags on each of its rows, and one row with empty scale and value
    for an image that has tags but no grade (readers skip such rows).
    """
    columns = [*COLUMNS, tag_column] if tags is not None else list(COLUMNS)
    rows = list(rows)
    if tags is not None:
        graded = {r.image for r in rows}
        rows += [GradeRow(img, "", math.nan, None, "") for img in tags if img not in graded]
    out = [_csv_row(columns)]
    for r in sorted(rows, key=lambda r: (r.image, r.scale, r.source, r.author or "")):
        cells = [
            escape_cell(r.image),
            escape_cell(r.scale),
            "" if math.isnan(r.value) else _fmt(r.value),  # a number: never escaped
            escape_cell(r.author or ""),
            escape_cell(r.source),
        ]
        if tags is not None:
            cells.append(escape_cell(tags.get(r.image, "")))
        out.append(_csv_row(cells))
    return "".join(out)


def parse_grades_csv(
    lines: list[str], source: str, scales: Mapping[str, GradingScale]
) -> list[GradeRow]:
    """``parse_grades_text`` over lines (a CR inside a quoted cell is lost in the split;
    ``read_grades_csv`` parses the text itself)."""
    return parse_grades_text("\n".join(lines), source, scales)


def parse_grades_text(text: str, source: str, scales: Mapping[str, GradingScale]) -> list[GradeRow]:
    """Check every row against the project's scales; errors name the file and line."""
    # newline="" semantics: the csv module sees CR and LF as written, so a quoted cell
    # holding a CR (escaped on export) comes back exactly.
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise FormatError(
            f"{source}: the file is empty (expected a header {','.join(COLUMNS)})"
        ) from None
    except csv.Error as exc:
        raise FormatError(f"{source}, line 1: malformed CSV ({shorten(exc)})") from None
    cols = {h.strip().lower(): i for i, h in enumerate(header)}
    missing = [c for c in ("image", "scale", "value") if c not in cols]
    if missing:
        raise FormatError(
            f"{source}, line 1: header lacks column(s) {', '.join(missing)} "
            f"(expected {','.join(COLUMNS)})"
        )
    rows: list[GradeRow] = []
    try:
        for fields in reader:
            line = reader.line_num
            if not any(f.strip() for f in fields):
                continue

            def get(col: str, fields: list[str] = fields) -> str:
                i = cols.get(col)
                if i is None or i >= len(fields):
                    return ""
                cell = fields[i]
                if cell.startswith(ESCAPE):  # written by ClinLens: exact, no stripping
                    return unescape_cell(cell)
                return cell.strip()

            image, scale_name, raw_value = get("image"), get("scale"), get("value")
            if not scale_name and not raw_value and any(c not in COLUMNS for c in cols):
                continue  # an image's tags without a grade (see grades_csv_text)
            if not image:
                raise FormatError(f"{source}, line {line}: no image name")
            scale = scales.get(scale_name)
            if scale is None:
                known = ", ".join(shorten(s, 40) for s in scales) or "none"
                raise FormatError(
                    f"{source}, line {line}: scale '{shorten(scale_name)}' is not used by "
                    f"this project (project scales: {known})"
                )
            try:
                value = float(raw_value)
            except ValueError:
                raise FormatError(
                    f"{source}, line {line}: value '{shorten(raw_value, 40)}' is not a number"
                ) from None
            if not math.isfinite(value) or not scale.is_valid(value):
                allowed = ", ".join(_fmt(v) for v in scale.allowed)
                raise FormatError(
                    f"{source}, line {line}: {_fmt(value)} is not a grade of "
                    f"'{shorten(scale_name)}' (allowed: {shorten(allowed)})"
                )
            src = get("source") or "human"
            if src not in BOX_SOURCES:
                raise FormatError(
                    f"{source}, line {line}: source '{shorten(src, 40)}' must be one of "
                    f"{', '.join(BOX_SOURCES)}"
                )
            rows.append(
                GradeRow(
                    image, scale_name, value, get("author") or None, src, line, get("group") or None
                )
            )
    except csv.Error as exc:
        raise FormatError(
            f"{source}, line {reader.line_num}: malformed CSV ({shorten(exc)})"
        ) from None
    return rows


def read_grades_csv(path: Path, scales: Mapping[str, GradingScale]) -> list[GradeRow]:
    return parse_grades_text(read_text(path), str(path), scales)


@dataclass(frozen=True)
class TagCell:
    """One row's image-level tags of one kind (``()``: none present)."""

    image: str
    kind: str
    tags: tuple[str, ...]
    line: int = 0


def parse_tags_text(
    text: str, source: str, kinds: Mapping[str, TagKind] = TAG_KINDS
) -> list[TagCell]:
    """The tag columns of a grades CSV: one cell per row and tag-kind column (a column
    named after a kind in ``kinds``; a file without one gives ``[]``). Every row is read,
    the tag-only rows (empty scale and value) too. An option the kind lacks is a
    FormatError naming the file and line, like a bad grade: nothing is imported."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        return []  # parse_grades_text reports an empty or broken header
    cols = {h.strip().lower(): i for i, h in enumerate(header)}
    tag_cols = [(kinds[c], i) for c, i in cols.items() if c in kinds]
    image_col = cols.get("image")
    if not tag_cols or image_col is None:
        return []

    def cell(fields: list[str], i: int) -> str:
        if i >= len(fields):
            return ""
        return unescape_cell(fields[i]) if fields[i].startswith(ESCAPE) else fields[i].strip()

    out: list[TagCell] = []
    try:
        for fields in reader:
            if not any(f.strip() for f in fields):
                continue
            image = cell(fields, image_col)
            if not image:
                continue  # parse_grades_text refuses a row without an image name
            for kind, i in tag_cols:
                raw = cell(fields, i)
                options = [t.strip() for t in raw.split(TAG_SEPARATOR) if t.strip()]
                try:
                    tags = kind.normalise(options)
                except ValueError as exc:
                    raise FormatError(
                        f"{source}, line {reader.line_num}: column {kind.name}: {exc}"
                    ) from None
                out.append(TagCell(image, kind.name, tags, reader.line_num))
    except csv.Error as exc:
        raise FormatError(
            f"{source}, line {reader.line_num}: malformed CSV ({shorten(exc)})"
        ) from None
    return out


def read_tags_csv(path: Path, kinds: Mapping[str, TagKind] = TAG_KINDS) -> list[TagCell]:
    return parse_tags_text(read_text(path), str(path), kinds)
