"""Image-level grades as CSV: ``image,scale,value,author,source`` (one row per grade).

Written beside VOC and YOLO exports (``grades.csv``) and read back on import. ``image`` is
the image's file name in the export (or any path/name that identifies it on import).
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
from core.errors import FormatError
from core.formats.common import read_text_lines

COLUMNS = ("image", "scale", "value", "author", "source")
GRADES_FILE = "grades.csv"


@dataclass(frozen=True)
class GradeRow:
    image: str
    scale: str
    value: float
    author: str | None = None
    source: str = "human"
    line: int = 0


def _fmt(value: float) -> str:
    return f"{value:g}"


def grades_csv_text(rows: Iterable[GradeRow]) -> str:
    """Deterministic CSV (sorted by image, scale, source), LF line endings."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in sorted(rows, key=lambda r: (r.image, r.scale, r.source, r.author or "")):
        w.writerow([r.image, r.scale, _fmt(r.value), r.author or "", r.source])
    return buf.getvalue()


def parse_grades_csv(
    lines: list[str], source: str, scales: Mapping[str, GradingScale]
) -> list[GradeRow]:
    """Check every row against the project's scales; errors name the file and line."""
    text = "\n".join(lines)
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise FormatError(
            f"{source}: the file is empty (expected a header {','.join(COLUMNS)})"
        ) from None
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
                return fields[i].strip() if i is not None and i < len(fields) else ""

            image, scale_name, raw_value = get("image"), get("scale"), get("value")
            if not image:
                raise FormatError(f"{source}, line {line}: no image name")
            scale = scales.get(scale_name)
            if scale is None:
                known = ", ".join(scales) or "none"
                raise FormatError(
                    f"{source}, line {line}: scale '{scale_name}' is not used by this project "
                    f"(project scales: {known})"
                )
            try:
                value = float(raw_value)
            except ValueError:
                raise FormatError(
                    f"{source}, line {line}: value '{raw_value}' is not a number"
                ) from None
            if not math.isfinite(value) or not scale.is_valid(value):
                allowed = ", ".join(_fmt(v) for v in scale.allowed)
                raise FormatError(
                    f"{source}, line {line}: {_fmt(value)} is not a grade of '{scale_name}' "
                    f"(allowed: {allowed})"
                )
            src = get("source") or "human"
            if src not in BOX_SOURCES:
                raise FormatError(
                    f"{source}, line {line}: source '{src}' must be one of {', '.join(BOX_SOURCES)}"
                )
            rows.append(GradeRow(image, scale_name, value, get("author") or None, src, line))
    except csv.Error as exc:
        raise FormatError(f"{source}, line {reader.line_num}: malformed CSV ({exc})") from None
    return rows


def read_grades_csv(path: Path, scales: Mapping[str, GradingScale]) -> list[GradeRow]:
    return parse_grades_csv(read_text_lines(path), str(path), scales)
