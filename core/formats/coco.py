"""COCO JSON (object detection): one ``annotations.json`` for a whole dataset.

CVAT, X-AnyLabeling, Label Studio and most trainers move boxes in COCO. Only what boxes
need is read and written: ``images`` (id, file_name, width, height), ``categories`` (id,
name) and ``annotations`` (image_id, category_id, bbox). Export writes each box's rectangle as its
``segmentation`` polygon (mask tools need one); import reads the bbox only.

Coordinates. COCO's ``bbox`` is ``[x, y, width, height]`` in the same continuous pixel
coordinates the store keeps ((0, 0) = top-left corner of the top-left pixel), so

    export: [x1, y1, x2 - x1, y2 - y1]        import: x1, y1, x1 + w, y1 + h

Values are written rounded to ``DECIMALS`` places (a thousandth of a thousandth of a
pixel; whole numbers as integers), which makes COCO -> store -> COCO exact: the float
error of ``x + w`` is ~1e-12 px, far below the rounding step, so the same numbers come
back. The writer emits fixed key order, ids and separators: the same boxes always give
the same bytes.

The file comes from outside, so it is bounded before it is parsed (size checked before
reading; NaN/Infinity and nesting bombs refused) and every field is type-checked, with
errors naming the file and the entry (``annotations[12] (id 57)``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.annotations.labels import validate_name
from core.errors import FormatError
from core.formats.common import ParsedBox
from core.text import shorten

COCO_FILE = "annotations.json"
COCO_IMAGES = "images"
DECIMALS = 6
# Module attribute so a site (or a test) can change it. The full COCO 2017 train set's
# instances file is ~450 MB with polygons; a box-only file of 100,000 images is ~40 MB.
MAX_JSON_BYTES = 256 * 1024 * 1024
_FLAGS = ("occluded", "truncated", "difficult")


# --- coordinates ----------------------------------------------------------------------------
def _num(v: float) -> float | int:
    r = round(float(v), DECIMALS)
    if r == 0.0:
        return 0  # no "-0.0"
    return int(r) if r.is_integer() and abs(r) < 2**53 else r


def to_coco_bbox(x1: float, y1: float, x2: float, y2: float) -> list[float | int]:
    """Continuous corners -> COCO ``[x, y, w, h]`` (rounded as written)."""
    x, y = _num(x1), _num(y1)
    return [x, y, _num(_num(x2) - x), _num(_num(y2) - y)]


def from_coco_bbox(x: float, y: float, w: float, h: float) -> tuple[float, float, float, float]:
    """COCO ``[x, y, w, h]`` -> continuous corners (a negative size gives max < min, which
    ``validate_boxes`` then refuses with the file and entry)."""
    return float(x), float(y), float(x) + float(w), float(y) + float(h)


# --- writing --------------------------------------------------------------------------------
@dataclass(frozen=True)
class CocoImage:
    id: int
    file_name: str
    width: int
    height: int


@dataclass(frozen=True)
class CocoBox:
    image_id: int
    category_id: int
    x1: float
    y1: float
    x2: float
    y2: float
    occluded: bool = False
    truncated: bool = False
    difficult: bool = False


def category_id(class_id: int) -> int:
    """COCO category id of a registry class id: one more, since COCO ids start at 1 and
    many trainers read 0 as background. Stable because the registry only appends."""
    return int(class_id) + 1


def coco_json(
    images: Sequence[CocoImage],
    boxes: Sequence[CocoBox],
    categories: Mapping[int, str],
) -> bytes:
    """The whole file, byte-for-byte deterministic (UTF-8, one entry a line, LF).

    ``categories`` maps COCO category id -> name; annotation ids run 1..N in the given
    order. No date in ``info``: two exports of the same boxes are the same file.
    """

    def dump(obj: object) -> str:
        return json.dumps(obj, ensure_ascii=False, separators=(", ", ": "), allow_nan=False)

    cats = [
        {"id": int(k), "name": str(v), "supercategory": ""} for k, v in sorted(categories.items())
    ]
    imgs = [
        {"id": im.id, "file_name": im.file_name, "width": im.width, "height": im.height}
        for im in images
    ]
    anns = []
    for n, b in enumerate(boxes, start=1):
        bbox = to_coco_bbox(b.x1, b.y1, b.x2, b.y2)
        x1, y1 = bbox[0], bbox[1]
        x2, y2 = _num(x1 + bbox[2]), _num(y1 + bbox[3])
        anns.append(
            {
                "id": n,
                "image_id": b.image_id,
                "category_id": b.category_id,
                "bbox": bbox,
                "area": _num(float(bbox[2]) * float(bbox[3])),
                "iscrowd": 0,
                # The box as a polygon: tools that build masks (pycocotools' annToMask,
                # detectron2) refuse an empty one.
                "segmentation": [[x1, y1, x2, y1, x2, y2, x1, y2]],
                "attributes": {f: bool(getattr(b, f)) for f in _FLAGS},
            }
        )

    def block(name: str, rows: Sequence[object]) -> str:
        if not rows:
            return f'"{name}": []'
        return f'"{name}": [\n' + ",\n".join(f"  {dump(r)}" for r in rows) + "\n]"

    info = dump({"description": "ClinLens export", "version": "1.0"})
    parts = [f'"info": {info}', '"licenses": []']
    parts += [block("images", imgs), block("annotations", anns), block("categories", cats)]
    return ("{\n" + ",\n".join(parts) + "\n}\n").encode("utf-8")


# --- reading --------------------------------------------------------------------------------
@dataclass
class CocoFile:
    """What a COCO file says, checked: images by id, boxes per image id, names per id."""

    source: str
    images: dict[int, CocoImage] = field(default_factory=dict)
    boxes: dict[int, list[ParsedBox]] = field(default_factory=dict)  # image id -> boxes
    categories: dict[int, str] = field(default_factory=dict)
    crowd: int = 0  # iscrowd annotations (regions of many objects): not imported as boxes


def _reject_constant(name: str) -> float:
    raise ValueError(f"'{name}' is not a number JSON allows")


def load_json_bounded(path: Path, max_bytes: int | None = None) -> Any:
    """Parse a JSON file from outside: size checked before reading, UTF-8, no NaN/Infinity,
    nesting bombs refused; FormatError naming the file (and line) otherwise."""
    limit = MAX_JSON_BYTES if max_bytes is None else max_bytes
    try:
        size = path.stat().st_size
        if size > limit:
            raise FormatError(
                f"{path}: JSON file is {size / 1e6:.1f} MB, over the "
                f"{limit // (1024 * 1024)} MB limit for one annotation file"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(
            f"{path}: cannot read ({exc.strerror or exc.__class__.__name__})"
        ) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FormatError(f"{path}, line {line}: not UTF-8 text") from None
    if not text.strip():
        raise FormatError(f"{path}: the file is empty")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path}, line {exc.lineno}: malformed JSON ({exc.msg})") from None
    except ValueError as exc:  # from _reject_constant
        raise FormatError(f"{path}: malformed JSON ({exc})") from None
    except RecursionError:
        raise FormatError(f"{path}: JSON nested too deeply to be an annotation file") from None


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: object) -> bool:
    return (isinstance(v, int | float) and not isinstance(v, bool)) and math.isfinite(v)


def _entries(data: dict[str, Any], key: str, src: str, required: bool) -> list[Any]:
    value = data.get(key)
    if value is None:
        if required:
            raise FormatError(f"{src}: no '{key}' list (not a COCO annotation file?)")
        return []
    if not isinstance(value, list):
        raise FormatError(f"{src}: '{key}' must be a list, not {type(value).__name__}")
    return value


def _where(src: str, key: str, i: int, entry: object) -> str:
    eid = entry.get("id") if isinstance(entry, dict) else None
    ident = f" (id {shorten(str(eid), 20)})" if eid is not None else ""
    return f"{src}: {key}[{i}]{ident}"


def _flag(attrs: dict[str, Any], name: str, where: str) -> bool:
    v = attrs.get(name, False)
    if isinstance(v, bool):
        return v
    if _is_int(v) and v in (0, 1):
        return bool(v)
    raise FormatError(f"{where}: attributes.{name} must be true or false")


def parse_coco(data: Any, src: str) -> CocoFile:
    """Check a parsed COCO document; FormatError naming the entry at the first problem."""
    if not isinstance(data, dict):
        raise FormatError(f"{src}: a COCO file is a JSON object, not a {type(data).__name__}")
    out = CocoFile(source=src)
    for i, c in enumerate(_entries(data, "categories", src, required=True)):
        where = _where(src, "categories", i, c)
        if not isinstance(c, dict) or not _is_int(c.get("id")):
            raise FormatError(f"{where}: a category needs a whole-number 'id'")
        if c["id"] in out.categories:
            raise FormatError(f"{where}: category id {c['id']} is given twice")
        name = c.get("name")
        if not isinstance(name, str) or not name.strip():
            raise FormatError(f"{where}: a category needs a 'name'")
        out.categories[c["id"]] = validate_name(name, "category", where)
    for i, im in enumerate(_entries(data, "images", src, required=True)):
        where = _where(src, "images", i, im)
        if not isinstance(im, dict) or not _is_int(im.get("id")):
            raise FormatError(f"{where}: an image needs a whole-number 'id'")
        if im["id"] in out.images:
            raise FormatError(f"{where}: image id {im['id']} is given twice")
        name = im.get("file_name")
        if not isinstance(name, str) or not name.strip():
            raise FormatError(f"{where}: an image needs a 'file_name'")
        size = [im.get("width", 0), im.get("height", 0)]
        if not all(_is_int(v) and v >= 0 for v in size):
            raise FormatError(f"{where}: 'width' and 'height' must be whole numbers >= 0")
        out.images[im["id"]] = CocoImage(im["id"], name.strip(), size[0], size[1])
    for i, a in enumerate(_entries(data, "annotations", src, required=False)):
        where = _where(src, "annotations", i, a)
        if not isinstance(a, dict):
            raise FormatError(f"{where}: an annotation must be an object")
        image_id, cat = a.get("image_id"), a.get("category_id")
        if not _is_int(image_id) or image_id not in out.images:
            raise FormatError(f"{where}: image_id {shorten(str(image_id), 20)} is not in 'images'")
        if not _is_int(cat) or cat not in out.categories:
            raise FormatError(
                f"{where}: category_id {shorten(str(cat), 20)} is not in 'categories'"
            )
        bbox = a.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4 or not all(_is_num(v) for v in bbox):
            raise FormatError(f"{where}: 'bbox' must be 4 numbers [x, y, width, height]")
        crowd = a.get("iscrowd", 0)
        if crowd not in (0, 1) or isinstance(crowd, float):
            raise FormatError(f"{where}: 'iscrowd' must be 0 or 1")
        attrs = a.get("attributes") or {}
        if not isinstance(attrs, dict):
            raise FormatError(f"{where}: 'attributes' must be an object")
        flags = {f: _flag(attrs, f, where) for f in _FLAGS}
        if crowd == 1:
            out.crowd += 1
            continue
        x1, y1, x2, y2 = from_coco_bbox(*bbox)
        out.boxes.setdefault(image_id, []).append(
            ParsedBox(
                label=out.categories[cat],
                x1=x1,
                y1=y1,
                x2=x2,
                y2=y2,
                occluded=flags["occluded"],
                truncated=flags["truncated"],
                difficult=flags["difficult"],
            )
        )
    return out


def read_coco(path: Path) -> CocoFile:
    return parse_coco(load_json_bounded(path), str(path))
