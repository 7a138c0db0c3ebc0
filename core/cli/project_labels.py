"""``project labels DIR [--add NAME...] [--force] [--json]``: list or extend a project's labels;
``project photo-view DIR [full_face|one_side]``: what the project's face photos show.

Listing opens the project read-only. ``--add`` appends labels (ids only ever grow); a
name that is a near-twin of a project label ("Papules" beside "papule") is refused
unless ``--force``, as on import. Each label is shown with its id, its box count and its
category (from the built-in label set: inflammatory, comedonal, ...), which the Hayashi
lesion count uses.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from core.errors import ClinLensError
from core.text import shorten


def register_labels(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "labels",
        help="list a project's labels, or add some",
        description="List the project's labels (id, name, category, boxes), or append new "
        "ones with --add. A near-twin of an existing label is refused unless --force.",
    )
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument("--add", nargs="+", metavar="NAME", default=[], help="labels to append")
    p.add_argument("--force", action="store_true", help="add near-twins of existing labels")
    p.add_argument("--json", action="store_true", help="print a JSON object")
    p.set_defaults(func=run_labels)


def register_photo_view(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "photo-view",
        help="show or set what the face photos show (full face / one side)",
        description="What the project's face photos show. one_side (profile or three-quarter "
        "photos, as in ACNE04): the Hayashi lesion count takes every lesion on the photo; "
        "full_face (default): the larger half of the face split at the landmark midline.",
    )
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument("view", nargs="?", choices=("full_face", "one_side"), help="set it to this")
    p.set_defaults(func=run_photo_view)


def run_photo_view(args: argparse.Namespace) -> int:
    from core.store import Project

    with Project.open(args.dir, read_only=args.view is None) as project:
        if args.view is not None:
            project.definitions.set_photo_view(args.view)
        print(project.definitions.photo_view())
    return 0


def check_new_labels(names: list[str], existing: list[str], force: bool) -> list[str]:
    """The cleaned names to add; ClinLensError for a taken name or (without ``force``) a
    near-twin of an existing label or of another new one."""
    from core.annotations.label_match import near_twins, twins_among
    from core.annotations.labels import validate_label_name

    cleaned = list(dict.fromkeys(validate_label_name(n) for n in names))
    taken = [n for n in cleaned if n in existing]
    if taken:
        raise ClinLensError(
            f"the project already has label(s) {', '.join(repr(shorten(n, 40)) for n in taken)}"
        )
    if not force:
        problems = []
        for n in cleaned:
            twins = near_twins(n, existing)
            if twins:
                problems.append(f"'{shorten(n, 40)}' looks like '{shorten(twins[0], 40)}'")
        for group in twins_among(cleaned):
            problems.append(" and ".join(f"'{shorten(n, 40)}'" for n in group) + " are twins")
        if problems:
            raise ClinLensError(
                f"near-twin label(s): {'; '.join(problems)}; nothing was added "
                "(use the existing label, or --force to add anyway)"
            )
    return cleaned


def run_labels(args: argparse.Namespace) -> int:
    from core.annotations.labels import label_categories
    from core.store import Project

    with Project.open(args.dir, read_only=not args.add) as project:
        added: list[str] = []
        if args.add:
            names = check_new_labels(args.add, project.label_set().names(), args.force)
            with project.batch():
                for name in names:
                    project.add_label(name)
            added = names
        label_set = project.label_set()
        counts = project.stats().get("boxes_per_label", {})
    categories = label_categories(label_set)
    rows: list[dict[str, Any]] = [
        {
            "id": lab.id,
            "name": lab.name,
            "category": categories.get(lab.name),
            "boxes": int(counts.get(lab.name, 0)),
        }
        for lab in label_set.labels
    ]
    if args.json:
        print(json.dumps({"labels": rows, "added": added}, ensure_ascii=True))
        return 0
    for r in rows:
        cat = r["category"] or "-"
        print(f"{r['id']:>3}  {shorten(r['name'], 50):<50} {cat:<13} {r['boxes']:>7} box(es)")
    if added:
        print(f"added: {', '.join(added)}")
    return 0
