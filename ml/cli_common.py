"""What the ``model``/``predict`` and ``severity`` commands share: usage and image choice."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from core.errors import ClinLensError


def usage(parser: argparse.ArgumentParser) -> int:
    """A command group run without an action: its help on stderr, user-error exit code."""
    parser.print_help(sys.stderr)
    return 2


def chosen_images(project: Any, items: list[str], *, all_images: bool) -> list[int]:
    """Image ids from ``--all`` or IMAGE arguments (ids, or paths as typed or relative to
    the project), without duplicates, in the order given. One-line errors for a mix of
    both, neither, unknown images (all named at once) and a project without images."""
    if all_images and items:
        raise ClinLensError("give either --all or image ids/paths, not both")
    if not all_images and not items:
        raise ClinLensError("say which images: give image ids or paths, or --all")
    ids = list(project.image_ids()) if all_images else _resolve(project, items)
    if not ids:
        raise ClinLensError(
            f"the project {project.folder} has no images yet: import some with "
            f"'python main.py project import {project.folder} FOLDER'"
        )
    return ids


def _resolve(project: Any, items: list[str]) -> list[int]:
    known = set(project.image_ids())
    ids: list[int] = []
    missing: list[str] = []
    for item in items:
        if item.isdigit() and int(item) in known:
            ids.append(int(item))
            continue
        record = project.find_image(path=item)
        if record is None and not Path(item).is_absolute():
            record = project.find_image(path=Path(project.folder) / item)
        if record is None:
            missing.append(item)
        else:
            ids.append(record.id)
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise ClinLensError(f"not images of this project: {shown}")
    return list(dict.fromkeys(ids))
