"""Lesion-count grade (Hayashi criterion), shown beside the regression grade.

Hayashi et al. (J Dermatol 2008) grade acne by the number of inflammatory eruptions
(papules and pustules) on *one half of the face*: 0-5 mild, 6-20 moderate, 21-50 severe,
more than 50 very severe. ACNE04 (Wu et al., ICCV 2019) applies the same cut-offs to the
lesions counted on its photos, which show one side of the face each.

How ClinLens counts (documented choice):
- a frontal photo with landmarks: boxes are split by the face midline (line through the
  nose-bridge landmarks 27-30) and the count is the **larger of the two halves** - the
  criterion is per half face, and the worse side decides (the total would roughly double
  the count and push faces a whole grade up);
- no landmarks (a profile photo as in ACNE04, or no face found): all boxes count as one
  half face, and the result says so;
- which boxes: accepted, edited and suggested boxes (rejected ones never); which labels:
  papules and pustules when the project has those labels (Hayashi counts inflammatory
  lesions only), otherwise every label (a single generic "acne" label as in ACNE04).
  Callers may pass their own label list.

Grades are on the acne4 scale: 0 mild, 1 moderate, 2 severe, 3 very severe.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.annotations import Box
from ml.severity.landmarks import side_of_midline

# Upper bound (inclusive) of each Hayashi grade: mild <= 5, moderate <= 20, severe <= 50.
HAYASHI_UPPER = (5, 20, 50)
HAYASHI_LABELS = ("Mild", "Moderate", "Severe", "Very severe")
INFLAMMATORY_LABELS = ("papule", "pustule")
COUNTED_STATUSES = ("accepted", "edited", "suggested")


def hayashi_grade(count: int) -> int:
    """0 mild (0-5), 1 moderate (6-20), 2 severe (21-50), 3 very severe (> 50)."""
    if count < 0:
        raise ValueError("a lesion count cannot be negative")
    for grade, upper in enumerate(HAYASHI_UPPER):
        if count <= upper:
            return grade
    return len(HAYASHI_UPPER)


def counted_labels(project_labels: Sequence[str]) -> tuple[str, ...] | None:
    """The labels Hayashi counts in a project: papule/pustule if present, else all (None)."""
    present = tuple(lab for lab in project_labels if lab.lower() in INFLAMMATORY_LABELS)
    return present or None


@dataclass(frozen=True)
class LesionCountGrade:
    grade: int  # acne4 value 0..3
    label: str
    count: int  # the count the grade is based on (the worse half, or all)
    right_half: int | None  # subject's right = image left on a frontal photo
    left_half: int | None
    total: int
    by_midline: bool
    labels: tuple[str, ...] | None  # labels counted (None = every label)
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "grade": self.grade,
            "label": self.label,
            "count": self.count,
            "right_half": self.right_half,
            "left_half": self.left_half,
            "total": self.total,
            "by_midline": self.by_midline,
            "labels": None if self.labels is None else list(self.labels),
            "notes": list(self.notes),
        }


def lesion_count_grade(
    boxes: Iterable[Box],
    midline: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    labels: Sequence[str] | None = None,
    statuses: Sequence[str] = COUNTED_STATUSES,
) -> LesionCountGrade:
    """Hayashi grade of an image's lesion boxes (see module doc for the counting rules).

    ``midline``: ``PatchSet.midline()`` (None when no landmarks). ``labels``: the labels to
    count (None = all). ``statuses``: which review statuses count (never rejected ones
    by default; lesion-counting evaluation passes them all to score the detector).
    """
    wanted = None if labels is None else {lab.lower() for lab in labels}
    kept = [
        b for b in boxes if b.status in statuses and (wanted is None or b.label.lower() in wanted)
    ]
    total = len(kept)
    notes: list[str] = []
    right: int | None
    left: int | None
    if midline is not None and kept:
        centres = np.array([((b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2) for b in kept])
        side = side_of_midline(centres, midline)
        # A lesion exactly on the midline belongs to both halves (it is on each of them).
        right = int(np.count_nonzero(side <= 0))
        left = int(np.count_nonzero(side >= 0))
        count, by_midline = max(right, left), True
    elif midline is not None:
        right = left = count = 0
        by_midline = True
    else:
        right = left = None
        count, by_midline = total, False
        notes.append("no face midline found: all lesions counted as one half face")
    grade = hayashi_grade(count)
    return LesionCountGrade(
        grade=grade,
        label=HAYASHI_LABELS[grade],
        count=count,
        right_half=right,
        left_half=left,
        total=total,
        by_midline=by_midline,
        labels=None if labels is None else tuple(labels),
        notes=tuple(notes),
    )
