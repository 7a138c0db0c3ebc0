"""The label step of an import: dataset labels the project lacks are mapped, added or
refused before anything is written.

- ``map_labels`` ("auto" or a mapping dataset name -> project label, see
  ``core.annotations.label_match``) renames boxes onto the project's labels;
- what is still missing stops the import (UnknownLabelError, naming likely matches)
  unless ``add_labels``;
- ``add_labels`` refuses to create a near-twin of a project label ("papules" beside
  "papule") or two near-twins of each other, unless ``force``: one class split in two
  would quietly halve every count and metric that uses it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from core.annotations.label_match import AUTO, plan_mapping, read_label_map, twins_among
from core.annotations.labels import validate_label_name
from core.errors import FormatError, UnknownLabelError
from core.text import shorten

if TYPE_CHECKING:
    from core.store import Project


def resolve_map_option(value: str | Mapping[str, str] | None) -> str | Mapping[str, str] | None:
    """``--map-labels`` as given: None, "auto", a mapping, or a YAML file path (read)."""
    if value is None or isinstance(value, Mapping) or value == AUTO:
        return value
    return read_label_map(value)


def check_labels(
    project: Project,
    ready: Sequence[Any],  # importer._Candidate (not imported: it imports this module)
    report: Any,  # importer.ImportReport
    *,
    add_labels: bool,
    map_labels: str | Mapping[str, str] | None = None,
    force: bool = False,
) -> None:
    from core.text import printable_path as shown

    how = resolve_map_option(map_labels)
    known = project.label_set().names()
    registry = set(known)
    missing: dict[str, str] = {}  # label -> first file using it (for the message)
    for cand in ready:
        for b in cand.boxes:
            if b.label not in registry and b.label not in missing:
                missing[b.label] = shown(cand.annotation or cand.path)
    if not missing:
        return
    plan = plan_mapping(list(missing), known, how)
    report.labels_mapped = dict(plan.mapped)
    report.likely_matches = {k: list(v) for k, v in plan.likely.items()}
    if plan.mapped:
        for cand in ready:
            if any(b.label in plan.mapped for b in cand.boxes):
                cand.boxes = [
                    dataclasses.replace(b, label=plan.mapped.get(b.label, b.label))
                    for b in cand.boxes
                ]
        for name in plan.mapped:
            missing.pop(name)
    if not missing:
        return
    hint = plan.hint()
    if not add_labels:
        advice = (
            f"likely matches: {hint}; use --map-labels auto (or a FILE) to map them, "
            "or --add-labels to add the others"
            if hint
            else "use --add-labels to add them, or --map-labels FILE to map them"
        )
        if plan.ambiguous():
            advice += " (a name with two candidates is never guessed: map it in a FILE)"
        raise UnknownLabelError(
            "label(s) not in the project's registry: "
            f"{', '.join(shorten(n, 40) for n in sorted(missing))} "
            f"(nothing was imported; {advice})",
            list(missing),
        )
    # Every name is checked before the first is added, so a bad one (a formula start, a
    # line break) stops the import before any write, naming the file it came from.
    cleaned = {name: validate_label_name(name, source) for name, source in missing.items()}
    new_names = [n for n in dict.fromkeys(cleaned.values()) if n not in registry]
    if not force:
        twins = [n for n in new_names if n in plan.likely]
        among = twins_among(new_names)
        if twins or among:
            what = [hint] if twins else []
            what += [" and ".join(f"'{shorten(n, 40)}'" for n in g) + " are twins" for g in among]
            raise FormatError(
                "--add-labels would create near-twin labels: "
                f"{'; '.join(w for w in what if w)} (nothing was imported; map them with "
                "--map-labels auto or FILE, or pass --force to add them anyway)"
            )
    for cand in ready:
        if any(cleaned.get(b.label, b.label) != b.label for b in cand.boxes):
            cand.boxes = [
                dataclasses.replace(b, label=cleaned.get(b.label, b.label)) for b in cand.boxes
            ]
    with project.batch():
        for name in new_names:  # first-seen order: ids follow the import
            project.add_label(name)
    report.labels_added = new_names
