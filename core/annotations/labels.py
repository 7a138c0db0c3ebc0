"""Label sets: the classes a project annotates, with stable ids, colours and hotkeys."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from core.errors import FormatError
from resources import resource_path

_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_FALLBACK_COLOURS = (
    "#e6194b",
    "#3cb44b",
    "#ffe119",
    "#4363d8",
    "#f58231",
    "#911eb4",
    "#46f0f0",
    "#f032e6",
    "#bcf60c",
    "#fabebe",
    "#008080",
    "#e6beff",
    "#9a6324",
    "#fffac8",
)


@dataclass(frozen=True)
class Label:
    id: int  # stable class id (YOLO class index); append-only
    name: str
    color: str = "#ff0000"
    hotkey: str | None = None  # "1".."9" for the first nine


@dataclass(frozen=True)
class LabelSet:
    name: str
    labels: tuple[Label, ...]
    title: str = ""

    def names(self) -> list[str]:
        return [lab.name for lab in self.labels]

    def by_name(self, name: str) -> Label | None:
        for lab in self.labels:
            if lab.name == name:
                return lab
        return None


def _label_set_from_mapping(name: str, data: dict[str, Any], source: str) -> LabelSet:
    entries = data.get("labels")
    if not isinstance(entries, list) or not entries:
        raise FormatError(f"{source}: label set '{name}' needs a non-empty 'labels' list")
    labels: list[Label] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        if isinstance(entry, str):
            entry = {"name": entry}
        if not isinstance(entry, dict) or not str(entry.get("name", "")).strip():
            raise FormatError(f"{source}: label #{i + 1} of '{name}' has no name")
        label_name = str(entry["name"]).strip()
        if label_name in seen:
            raise FormatError(f"{source}: label '{label_name}' appears twice in '{name}'")
        seen.add(label_name)
        colour = str(entry.get("color") or _FALLBACK_COLOURS[i % len(_FALLBACK_COLOURS)])
        if not _HEX_COLOUR.fullmatch(colour):
            raise FormatError(
                f"{source}: label '{label_name}' has colour '{colour}'; use #rrggbb (e.g. #e6194b)"
            )
        hotkey = str(i + 1) if i < 9 else None
        labels.append(Label(id=i, name=label_name, color=colour, hotkey=hotkey))
    return LabelSet(name=name, labels=tuple(labels), title=str(data.get("title", name)))


@cache
def _builtin_label_sets() -> dict[str, LabelSet]:
    raw = yaml.safe_load(resource_path("label_sets.yaml").read_text(encoding="utf-8"))
    return {k: _label_set_from_mapping(k, v, "label_sets.yaml") for k, v in raw.items()}


def builtin_label_set_names() -> list[str]:
    return list(_builtin_label_sets())


def builtin_label_set(name: str) -> LabelSet:
    sets = _builtin_label_sets()
    if name not in sets:
        raise FormatError(f"unknown label set '{name}' (built-ins: {', '.join(sets)})")
    return sets[name]


def load_label_set_yaml(path: str | Path) -> LabelSet:
    """A user label set: YAML with ``name``/``title`` and ``labels`` (names or mappings)."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise FormatError(f"{p}: not UTF-8 text; save the label set as UTF-8") from exc
    except (OSError, yaml.YAMLError) as exc:
        raise FormatError(f"{p}: cannot read label set ({exc.__class__.__name__})") from exc
    if isinstance(data, list):
        data = {"labels": data}
    if not isinstance(data, dict):
        raise FormatError(f"{p}: a label set must be a mapping with a 'labels' list")
    return _label_set_from_mapping(str(data.get("name", p.stem)), data, str(p))
