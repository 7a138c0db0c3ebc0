"""YOLO labels (ultralytics layout): one ``class cx cy w h`` line per box, normalised.

Export writes normalised centre/size from the continuous store coordinates with six
decimals (what ultralytics writes); import checks field counts, numbers and the [0, 1]
range line by line so a bad file is refused with its name and line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from core.annotations.labels import validate_name
from core.errors import FormatError
from core.formats.common import (
    ParsedAnnotation,
    ParsedBox,
    parse_yaml,
    read_text,
    read_text_lines,
)
from core.text import shorten

# Values may exceed [0, 1] by this much (float printing); beyond it the line is refused.
_RANGE_EPS = 1e-6
CLASS_FILE_NAMES = ("data.yaml", "data.yml", "dataset.yaml", "classes.txt", "_classes.txt")


def yolo_line(
    class_id: int, x1: float, y1: float, x2: float, y2: float, width: int, height: int
) -> str:
    """``"c cx cy w h"`` for a box in continuous pixel coordinates, clipped to the image.

    The corners are clipped, not the centre and size separately: a box past an edge is
    written as its part inside the image (x 90..130 of a 100-px image -> 0.9..1.0).
    """
    left, right = (min(max(v / width, 0.0), 1.0) for v in (x1, x2))
    top, bottom = (min(max(v / height, 0.0), 1.0) for v in (y1, y2))
    cx, cy = (left + right) / 2.0, (top + bottom) / 2.0
    w, h = max(right - left, 0.0), max(bottom - top, 0.0)
    return f"{class_id} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}"


@dataclass(frozen=True)
class YoloRow:
    line: int
    class_id: int
    cx: float
    cy: float
    w: float
    h: float


def parse_yolo_text(lines: Sequence[str], source: str) -> list[YoloRow]:
    """Check and parse label lines; blank lines are allowed (ultralytics skips them)."""
    rows: list[YoloRow] = []
    for i, raw in enumerate(lines, start=1):
        fields = raw.split()
        if not fields:
            continue
        if len(fields) != 5:
            kind = " (a segmentation polygon?)" if len(fields) > 6 else ""
            raise FormatError(
                f"{source}, line {i}: expected 5 fields 'class cx cy w h', found "
                f"{len(fields)}{kind}"
            )
        try:
            cls_f = float(fields[0])
            values = [float(f) for f in fields[1:]]
        except ValueError:
            raise FormatError(
                f"{source}, line {i}: '{shorten(raw.strip())}' has a field that is not a number"
            ) from None
        if not cls_f.is_integer() or cls_f < 0:
            raise FormatError(
                f"{source}, line {i}: class '{shorten(fields[0], 40)}' is not a whole number >= 0"
            )
        for v in values:
            if not math.isfinite(v) or v < -_RANGE_EPS or v > 1.0 + _RANGE_EPS:
                raise FormatError(
                    f"{source}, line {i}: value {v:g} is outside [0, 1] (YOLO coordinates are "
                    "fractions of the image size)"
                )
        cx, cy, w, h = (min(max(v, 0.0), 1.0) for v in values)
        rows.append(YoloRow(i, int(cls_f), cx, cy, w, h))
    return rows


def read_yolo_labels(path: Path) -> list[YoloRow]:
    return parse_yolo_text(read_text_lines(path), str(path))


def rows_to_annotation(
    rows: Sequence[YoloRow],
    names: Mapping[int, str],
    width: int,
    height: int,
    source: str,
) -> ParsedAnnotation:
    """Normalised rows -> continuous pixel boxes for an image of the given size."""
    ann = ParsedAnnotation(source=source)
    for r in rows:
        if r.class_id not in names:
            raise FormatError(
                f"{source}, line {r.line}: class {r.class_id} is not in the class list "
                f"(0-{max(names) if names else -1})"
            )
        ann.boxes.append(
            ParsedBox(
                label=names[r.class_id],
                x1=(r.cx - r.w / 2.0) * width,
                y1=(r.cy - r.h / 2.0) * height,
                x2=(r.cx + r.w / 2.0) * width,
                y2=(r.cy + r.h / 2.0) * height,
                line=r.line,
            )
        )
    return ann


# --- class names ----------------------------------------------------------------------------
def read_class_names(path: Path) -> dict[int, str]:
    """Class names from an ultralytics ``data.yaml`` (list or dict) or a ``classes.txt``.

    The names become the project's labels, so each is checked like one
    (``validate_label_name``: one line, length, no formula start); the YAML is bounded.
    """
    if path.suffix.lower() in (".yaml", ".yml"):
        return _names_from_yaml(path)
    names = [ln.strip() for ln in read_text_lines(path, max_bytes=1024 * 1024)]
    while names and not names[-1]:
        names.pop()
    for i, n in enumerate(names, start=1):
        if not n:
            raise FormatError(f"{path}, line {i}: empty class name")
        names[i - 1] = validate_name(n, "class", f"{path}, line {i}")
    if not names:
        raise FormatError(f"{path}: no class names in the file")
    return dict(enumerate(names))


def _names_from_yaml(path: Path) -> dict[int, str]:
    data = parse_yaml(read_text(path, max_bytes=1024 * 1024), path)
    raw = data.get("names") if isinstance(data, dict) else None
    if isinstance(raw, list):
        items = list(enumerate(raw))
    elif isinstance(raw, dict):
        try:
            items = [(int(k), v) for k, v in raw.items()]
        except (TypeError, ValueError):
            raise FormatError(f"{path}: 'names' keys must be class numbers") from None
    else:
        raise FormatError(f"{path}: no 'names' list or mapping (the class names)")
    names: dict[int, str] = {}
    for k, v in items:
        if v is None or (isinstance(v, str) and not v.strip()):
            raise FormatError(f"{path}: class {k} in 'names' has an empty name")
        names[k] = validate_name(v, "class", str(path))
    if not names or sorted(names) != list(range(len(names))):
        raise FormatError(f"{path}: class numbers in 'names' must run 0..N-1 without gaps")
    return names


# Folder names of dataset layouts (ultralytics labels/train, Roboflow train/labels): the
# class file sits at the dataset root above two of them.
_LAYOUT_NAMES = frozenset({"labels", "images", "train", "val", "valid", "test"})


def find_class_file(folders: Sequence[Path]) -> Path | None:
    """The first data.yaml / classes.txt in the folders, then one level up; two levels up
    when both folders are layout names (``ds/labels/train``, ``ds/train/labels`` -> ``ds``)."""
    candidates: list[Path] = []
    for folder in folders:
        candidates.extend([folder, folder.parent])
        if {folder.name.lower(), folder.parent.name.lower()} <= _LAYOUT_NAMES:
            candidates.append(folder.parent.parent)
    seen: set[Path] = set()
    for folder in candidates:
        if folder in seen or not folder.is_dir():
            continue
        seen.add(folder)
        for name in CLASS_FILE_NAMES:
            p = folder / name
            if p.is_file():
                return p
    return None


def data_yaml_text(root: Path, splits: Sequence[str], names: Mapping[int, str]) -> str:
    """ultralytics data.yaml. ``path`` is absolute because ultralytics resolves a relative
    one against the working directory, not against the YAML file."""
    data: dict[str, object] = {"path": str(root.resolve())}
    for split in ("train", "val", "test"):
        if split in splits:
            data[split] = f"images/{split}"
    data["names"] = {int(k): str(v) for k, v in sorted(names.items())}
    return yaml.dump(
        data,
        Dumper=_NoAliasDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
    )


class _NoAliasDumper(yaml.SafeDumper):
    """SafeDumper that never writes ``&id001`` / ``*id001`` for a repeated object: ClinLens'
    own loader refuses anchors, and its exports must always read back."""

    def ignore_aliases(self, data: object) -> bool:
        return True
