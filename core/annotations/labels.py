"""Label sets: the classes a project annotates, with stable ids, colours and hotkeys.

Label names travel into exports (VOC XML, YOLO data.yaml, grades CSV) and onto the
screen, so every name from outside goes through ``validate_label_name``: one line, at most
``MAX_LABEL_LENGTH`` characters, no control or format characters, and not starting with
a character that makes a spreadsheet read the cell as a formula.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from core.annotations.kinds import IMAGE_KINDS
from core.errors import FormatError
from core.text import shorten
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


MAX_LABEL_LENGTH = 100
# OWASP's CSV-injection triggers; tab and CR are control characters, refused anyway.
FORMULA_START = frozenset("=+-@")
# Control, format (bidi overrides, zero-width), surrogate, line/paragraph separators.
_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


class LabelNameError(FormatError):
    """A label name that ClinLens will not store: empty, too long, multi-line, control
    characters, or starting like a spreadsheet formula."""


def validate_label_name(name: object, source: str | None = None) -> str:
    """The cleaned label name (surrounding whitespace removed), or LabelNameError.

    ``source`` (a file, ``"file, line 3"``) starts the one-line message when given.
    """
    return validate_name(name, "label", source)


def validate_name(name: object, kind: str, source: str | None = None) -> str:
    """``validate_label_name`` for any name that is exported or shown (``kind`` names it
    in the message: "label", "scale", "class")."""
    prefix = f"{source}: " if source else ""
    if isinstance(name, list | tuple | dict | set):
        raise LabelNameError(f"{prefix}a {kind} name must be text, not a list or mapping")
    if not isinstance(name, str):  # YAML reads `- 3` as a number: the label is "3"
        name = "" if name is None else shorten(name, MAX_LABEL_LENGTH + 1)
    cleaned = name.strip()
    if not cleaned:
        raise LabelNameError(f"{prefix}a {kind} needs a name")
    shown = shorten(cleaned, 60)
    if len(cleaned) > MAX_LABEL_LENGTH:
        raise LabelNameError(
            f"{prefix}{kind} '{shown}' is {len(cleaned):,} characters long; "
            f"at most {MAX_LABEL_LENGTH}"
        )
    for ch in cleaned:
        if unicodedata.category(ch) in _BAD_CATEGORIES:
            what = "a line break" if ch in "\n\r\x85\u2028\u2029" else f"character U+{ord(ch):04X}"
            raise LabelNameError(
                f"{prefix}{kind} '{shown}' contains {what}; a name is one line of visible text"
            )
    if cleaned[0] in FORMULA_START:
        raise LabelNameError(
            f"{prefix}{kind} '{shown}' starts with '{cleaned[0]}', which spreadsheets read as "
            "a formula; rename it (e.g. without the leading sign)"
        )
    return cleaned


@dataclass(frozen=True)
class Label:
    id: int  # stable class id (YOLO class index); append-only
    name: str
    color: str = "#ff0000"
    hotkey: str | None = None  # "1".."9" for the first nine
    # What kind of finding (acne: inflammatory, comedonal, untyped, sequela): the Hayashi
    # count counts by category, not by exact name. Kept in the label set YAML only.
    category: str | None = None


@dataclass(frozen=True)
class LabelSet:
    name: str
    labels: tuple[Label, ...]
    title: str = ""
    kind: str | None = None  # "xray" | "photo": the images it is made for (None: any)

    def names(self) -> list[str]:
        return [lab.name for lab in self.labels]

    def by_name(self, name: str) -> Label | None:
        for lab in self.labels:
            if lab.name == name:
                return lab
        return None


def _label_set_from_mapping(name: str, data: dict[str, Any], source: str) -> LabelSet:
    shown = shorten(name)
    entries = data.get("labels")
    if not isinstance(entries, list) or not entries:
        raise FormatError(f"{source}: label set '{shown}' needs a non-empty 'labels' list")
    labels: list[Label] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        if isinstance(entry, str):
            entry = {"name": entry}
        if not isinstance(entry, dict) or not str(entry.get("name", "")).strip():
            raise FormatError(f"{source}: label #{i + 1} of '{shown}' has no name")
        label_name = validate_label_name(entry["name"], source)
        if label_name in seen:
            raise FormatError(f"{source}: label '{shorten(label_name)}' appears twice in '{shown}'")
        seen.add(label_name)
        colour = str(entry.get("color") or _FALLBACK_COLOURS[i % len(_FALLBACK_COLOURS)])
        if not _HEX_COLOUR.fullmatch(colour):
            raise FormatError(
                f"{source}: label '{shorten(label_name)}' has colour '{shorten(colour, 20)}'; "
                "use #rrggbb (e.g. #e6194b)"
            )
        hotkey = str(i + 1) if i < 9 else None
        category = entry.get("category")
        if category is not None:
            category = validate_name(category, "category", source)
        labels.append(Label(id=i, name=label_name, color=colour, hotkey=hotkey, category=category))
    kind = data.get("kind")
    if kind is not None and kind not in IMAGE_KINDS:
        raise FormatError(
            f"{source}: label set '{shown}' has kind '{shorten(kind, 20)}'; "
            f"use {', '.join(IMAGE_KINDS)}"
        )
    return LabelSet(name=name, labels=tuple(labels), title=str(data.get("title", name)), kind=kind)


@cache
def _builtin_label_sets() -> dict[str, LabelSet]:
    # Our own file, but through the same loader: one YAML dialect (no anchors) everywhere.
    from core.safe_yaml import load_yaml  # PyYAML: on first use

    raw = load_yaml(resource_path("label_sets.yaml").read_text(encoding="utf-8"), "label_sets.yaml")
    return {k: _label_set_from_mapping(k, v, "label_sets.yaml") for k, v in raw.items()}


def builtin_label_set_names() -> list[str]:
    return list(_builtin_label_sets())


def builtin_label_kinds() -> dict[str, str | None]:
    """Label name -> the kind of image its built-in set is made for (first set wins).
    A project's registry keeps names, not sets: this is how a label knows its kind."""
    kinds: dict[str, str | None] = {}
    for label_set in _builtin_label_sets().values():
        for lab in label_set.labels:
            kinds.setdefault(lab.name, label_set.kind)
    return kinds


def builtin_label_set(name: str) -> LabelSet:
    sets = _builtin_label_sets()
    if name not in sets:
        raise FormatError(f"unknown label set '{shorten(name)}' (built-ins: {', '.join(sets)})")
    return sets[name]


def load_label_set_yaml(path: str | Path) -> LabelSet:
    """A user label set: YAML with ``name``/``title`` and ``labels`` (names or mappings).

    Read with the bounded loader (size, anchors/aliases, depth: core.safe_yaml); every
    name goes through ``validate_label_name``. FormatError names the file (and line).
    """
    p = Path(path)
    from core.safe_yaml import read_yaml_file  # PyYAML: on first use

    data = read_yaml_file(p)
    if isinstance(data, list):
        data = {"labels": data}
    if not isinstance(data, dict):
        raise FormatError(f"{p}: a label set must be a mapping with a 'labels' list")
    return _label_set_from_mapping(str(data.get("name", p.stem)), data, str(p))


def label_categories(label_set: LabelSet) -> dict[str, str]:
    """Each label's category: its own, else that of the same name in the built-in set the
    project was made from, else in any built-in set (a project's registry in the database
    keeps names, ids and colours only). Names compare case-insensitively ("Papule" is a
    papule); nothing looser - near-twins are mapped on import, not guessed here. Labels
    with no category are left out."""
    sets = _builtin_label_sets()
    first = sets.get(label_set.name)
    order = ([first] if first is not None else []) + [s for s in sets.values() if s is not first]
    builtin: dict[str, str] = {}
    for s in reversed(order):  # the project's own set wins: written last
        builtin.update({lab.name.casefold(): lab.category for lab in s.labels if lab.category})
    out: dict[str, str] = {}
    for lab in label_set.labels:
        category = lab.category or builtin.get(lab.name.casefold())
        if category:
            out[lab.name] = category
    return out
