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
- a photo that shows one side of the face (the project's or the image's "photo shows"
  setting, ``core.annotations.photo_view``; ACNE04 photos are taken ~70 deg from the
  front): every lesion counts, not the larger half of a midline split - there is no
  other half on the photo;
- which boxes: accepted, edited and suggested boxes (rejected ones never); which labels:
  by the label set's categories (``category`` in resources/label_sets.yaml): typed
  inflammatory lesions (papule, pustule, nodule/cyst) and untyped ``lesion`` boxes count,
  comedones and sequelae do not. A project whose labels have no category at all (one
  generic "acne" label) counts every box. A photo whose boxes carry only labels without
  a category is *not counted* (grade None, with a note saying why) rather than graded
  mild from a count of 0. Callers may pass their own label list.

Grades are on the acne4 scale: 0 mild, 1 moderate, 2 severe, 3 very severe.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.annotations import Box, LabelSet
from core.annotations.labels import label_categories
from ml.severity.landmarks import side_of_midline

# Upper bound (inclusive) of each Hayashi grade: mild <= 5, moderate <= 20, severe <= 50.
HAYASHI_UPPER = (5, 20, 50)
HAYASHI_LABELS = ("Mild", "Moderate", "Severe", "Very severe")
COUNTED_CATEGORIES = ("inflammatory", "untyped")
COUNTED_STATUSES = ("accepted", "edited", "suggested")
FULL_FACE = "full_face"
ONE_SIDE = "one_side"
NOT_COUNTED = "Not counted"


def hayashi_grade(count: int) -> int:
    """0 mild (0-5), 1 moderate (6-20), 2 severe (21-50), 3 very severe (> 50)."""
    if count < 0:
        raise ValueError("a lesion count cannot be negative")
    for grade, upper in enumerate(HAYASHI_UPPER):
        if count <= upper:
            return grade
    return len(HAYASHI_UPPER)


@dataclass(frozen=True)
class CountPlan:
    counted: tuple[str, ...] | None  # labels counted (None: every label)
    known: tuple[str, ...] | None  # labels with a category (None: no category anywhere)


def counting_plan(label_set: LabelSet) -> CountPlan:
    """Which of a project's labels Hayashi counts, from the labels' categories."""
    categories = label_categories(label_set)
    if not categories:
        return CountPlan(None, None)
    counted = tuple(n for n, c in categories.items() if c in COUNTED_CATEGORIES)
    return CountPlan(counted, tuple(categories))


def counted_labels(project_labels: Sequence[str]) -> tuple[str, ...] | None:
    """The labels Hayashi counts among ``project_labels`` (None = every label)."""
    from core.annotations import Label

    labels = tuple(Label(id=i, name=n) for i, n in enumerate(project_labels))
    return counting_plan(LabelSet(name="", labels=labels)).counted


@dataclass(frozen=True)
class LesionCountGrade:
    grade: int | None  # acne4 value 0..3; None when the boxes' labels cannot be counted
    label: str
    count: int  # the count the grade is based on (the worse half, or all)
    right_half: int | None  # subject's right = image left on a frontal photo
    left_half: int | None
    total: int
    by_midline: bool
    labels: tuple[str, ...] | None  # labels counted (None = every label)
    notes: tuple[str, ...] = field(default_factory=tuple)
    view: str = FULL_FACE

    @property
    def countable(self) -> bool:
        return self.grade is not None

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
            "view": self.view,
        }


def lesion_count_grade(
    boxes: Iterable[Box],
    midline: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    labels: Sequence[str] | None = None,
    statuses: Sequence[str] = COUNTED_STATUSES,
    known: Sequence[str] | None = None,
    view: str = FULL_FACE,
) -> LesionCountGrade:
    """Hayashi grade of an image's lesion boxes (see module doc for the counting rules).

    ``midline``: ``PatchSet.midline()`` (None when no landmarks). ``labels``: the labels to
    count (None = all). ``statuses``: which review statuses count (never rejected ones
    by default; lesion-counting evaluation passes them all to score the detector).
    ``known``: labels with a category (``counting_plan``); a photo whose boxes carry
    none of them is not counted. ``view``: FULL_FACE or ONE_SIDE (counted whole).
    """
    if view not in (FULL_FACE, ONE_SIDE):
        raise ValueError(f"photo view must be {FULL_FACE} or {ONE_SIDE}, not {view!r}")
    wanted = None if labels is None else {lab.lower() for lab in labels}
    present = [b for b in boxes if b.status in statuses]
    kept = [b for b in present if wanted is None or b.label.lower() in wanted]
    total = len(kept)
    notes: list[str] = []
    right: int | None
    left: int | None
    if known is not None and present:
        understood = {lab.lower() for lab in known}
        unknown = sorted({b.label for b in present if b.label.lower() not in understood})
        if len(unknown) == len({b.label for b in present}):
            return LesionCountGrade(
                grade=None,
                label=NOT_COUNTED,
                count=0,
                right_half=None,
                left_half=None,
                total=0,
                by_midline=False,
                labels=None if labels is None else tuple(labels),
                notes=(
                    f"not counted: the {len(present)} box(es) carry only label(s) the count "
                    f"does not know ({', '.join(unknown[:4])}); map them to 'lesion' or a "
                    "lesion type (project import --map-labels)",
                ),
                view=view,
            )
    if view == ONE_SIDE:
        right = left = None
        count, by_midline = total, False
        notes.append("photo shows one side of the face: every lesion counted")
    elif midline is not None and kept:
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
        view=view,
    )
