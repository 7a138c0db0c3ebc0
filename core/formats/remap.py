"""Class remapping for export: none, agnostic (one class), size groups, or a user map.

``none`` keeps the registry's ids and names, so ids never drift between exports.
``agnostic`` turns every label into the single class ``anomaly`` (detect "something is
there", as in the X-ray study). ``sizes`` groups boxes into small / medium / large by
pixel area in the original image (COCO's 32^2 and 96^2 px thresholds unless a file says
otherwise). A user file (YAML or JSON) maps ``old: new`` (``new`` null drops the label;
labels not named keep their own name), or says ``mode: sizes`` with ``small_max_area`` /
``medium_max_area``.

The map file is bounded like every YAML ClinLens reads (core.safe_yaml: size, no
anchors/aliases, depth); the new names it gives become the exported class names, so each
is checked like a label name, and values echoed in errors are shortened to one line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.annotations import LabelSet
from core.annotations.labels import validate_label_name
from core.errors import FormatError, UnknownLabelError
from core.formats.common import parse_yaml, read_text
from core.text import shorten

AGNOSTIC_NAME = "anomaly"
SIZE_NAMES = ("small", "medium", "large")
SMALL_MAX_AREA = 32.0 * 32.0
MEDIUM_MAX_AREA = 96.0 * 96.0


@dataclass(frozen=True)
class ClassRemap:
    mode: str  # "none" | "agnostic" | "sizes" | "map"
    names: dict[int, str]  # output class id -> name (ids 0..N-1)
    by_label: dict[str, int | None] = field(default_factory=dict)  # None = dropped
    small_max_area: float = SMALL_MAX_AREA
    medium_max_area: float = MEDIUM_MAX_AREA

    def class_of(self, label: str, box_width: float, box_height: float) -> int | None:
        """Output class id of a box (None: the map drops this label)."""
        if self.mode == "sizes":
            if label not in self.by_label:
                raise UnknownLabelError(
                    f"label '{shorten(label)}' is not in the project's registry", [label]
                )
            area = max(box_width, 0.0) * max(box_height, 0.0)
            if area <= self.small_max_area:
                return 0
            return 1 if area <= self.medium_max_area else 2
        try:
            return self.by_label[label]
        except KeyError:
            raise UnknownLabelError(
                f"label '{shorten(label)}' is not in the project's registry", [label]
            ) from None

    def name_of(self, label: str, box_width: float, box_height: float) -> str | None:
        cid = self.class_of(label, box_width, box_height)
        return None if cid is None else self.names[cid]


def _registry_names(label_set: LabelSet) -> dict[int, str]:
    names = {lab.id: lab.name for lab in label_set.labels}
    if sorted(names) != list(range(len(names))):
        raise FormatError(
            f"label set '{shorten(label_set.name)}' has class ids with gaps; YOLO needs 0..N-1"
        )
    return names


def make_remap(spec: str | Path, label_set: LabelSet) -> ClassRemap:
    """``none`` / ``agnostic`` / ``sizes`` or the path of a YAML/JSON map file."""
    registry = _registry_names(label_set)
    all_labels = {n: None for n in registry.values()}
    if str(spec) == "none":
        return ClassRemap("none", registry, {n: i for i, n in registry.items()})
    if str(spec) == "agnostic":
        return ClassRemap("agnostic", {0: AGNOSTIC_NAME}, {n: 0 for n in all_labels})
    if str(spec) == "sizes":
        return ClassRemap("sizes", dict(enumerate(SIZE_NAMES)), {n: 0 for n in all_labels})
    return _remap_from_file(Path(spec), registry)


def _load_mapping(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FormatError(
            f"--remap '{shorten(path)}': not none, agnostic or sizes, and no such map file"
        )
    text = read_text(path, max_bytes=1024 * 1024)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FormatError(f"{path}, line {exc.lineno}: malformed JSON ({exc.msg})") from None
        except RecursionError:  # json nests by recursion: 100,000 '[' would crash it
            raise FormatError(f"{path}: malformed JSON (nested too deeply)") from None
        except ValueError as exc:  # e.g. a 5,000-digit number (int's digit limit)
            raise FormatError(f"{path}: malformed JSON ({shorten(exc)})") from None
    else:
        data = parse_yaml(text, path)
    if not isinstance(data, dict) or not data:
        raise FormatError(f"{path}: a class map must be a mapping 'old label: new label'")
    return {str(k): v for k, v in data.items()}


def _remap_from_file(path: Path, registry: dict[int, str]) -> ClassRemap:
    data = _load_mapping(path)
    if data.get("mode") == "sizes":
        try:
            small = float(data.get("small_max_area", SMALL_MAX_AREA))
            medium = float(data.get("medium_max_area", MEDIUM_MAX_AREA))
        except (TypeError, ValueError):
            raise FormatError(f"{path}: size thresholds must be numbers (pixel areas)") from None
        if not 0 < small < medium:
            raise FormatError(f"{path}: need 0 < small_max_area < medium_max_area")
        return ClassRemap(
            "sizes",
            dict(enumerate(SIZE_NAMES)),
            {n: 0 for n in registry.values()},
            small_max_area=small,
            medium_max_area=medium,
        )
    known = set(registry.values())
    unknown = sorted(k for k in data if k not in known)
    if unknown:
        shown = ", ".join(shorten(k, 40) for k in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise UnknownLabelError(
            f"{path}: maps label(s) the project does not have: {shown}{more}", unknown
        )
    targets: dict[str, str | None] = {}
    for k, v in data.items():
        if v is not None and (
            isinstance(v, bool) or not isinstance(v, str | int | float) or not str(v).strip()
        ):
            raise FormatError(
                f"{path}: '{shorten(k)}' must map to a label name (or null to drop it)"
            )
        # The new name is an exported class name: same rules as a label.
        targets[k] = None if v is None else validate_label_name(v, f"{path}: '{shorten(k, 40)}'")
    names: dict[int, str] = {}
    ids: dict[str, int] = {}
    by_label: dict[str, int | None] = {}
    # Output ids follow the registry order of the first label mapped to each new name.
    for _, old in sorted(registry.items()):
        new = targets.get(old, old)
        if new is None:
            by_label[old] = None
            continue
        if new not in ids:
            ids[new] = len(ids)
            names[ids[new]] = new
        by_label[old] = ids[new]
    if not names:
        raise FormatError(f"{path}: the map drops every label; nothing would be exported")
    return ClassRemap("map", names, by_label)
