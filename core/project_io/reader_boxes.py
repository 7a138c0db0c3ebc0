"""Whose boxes an export writes (``ExportOptions.boxes``): every reader's, the readers'
majority consensus, or one reader's. A box's reader is its author (the one who drew it,
or who accepted or edited a suggestion)."""

from __future__ import annotations

from collections.abc import Sequence

from core.agreement.boxes import consensus_boxes
from core.annotations import Box
from core.errors import ClinLensError
from core.store import Project

ALL, CONSENSUS = "all", "consensus"


def check_box_choice(project: Project, choice: str) -> None:
    """ClinLensError (before anything is written) for a reader who drew no box."""
    if choice in (ALL, CONSENSUS):
        return
    authors = sorted({b.author or "" for boxes in project.boxes_by_image().values() for b in boxes})
    if choice not in authors:
        shown = ", ".join(a for a in authors if a) or "none"
        raise ClinLensError(
            f"--boxes: reader '{choice}' drew no box in this project (readers with boxes: "
            f"{shown}; or use all / consensus)"
        )


def choose_boxes(boxes: Sequence[Box], choice: str) -> list[Box]:
    if choice == ALL:
        return list(boxes)
    if choice == CONSENSUS:
        by_reader: dict[str, list[Box]] = {}
        for b in boxes:
            by_reader.setdefault(b.author or "", []).append(b)
        return consensus_boxes(by_reader)
    return [b for b in boxes if (b.author or "") == choice]
