"""Annotation domain: boxes, grades, label sets, grading scales, review status.

Pure dataclasses; the store persists them, formats read/write them, the GUI draws them.
Box geometry (area, IoU, one-to-one matching) is in ``core.annotations.geometry``.
"""

from core.annotations.labels import Label, LabelSet, builtin_label_set, builtin_label_set_names
from core.annotations.model import (
    BOX_SOURCES,
    BOX_STATUSES,
    REVIEW_STATUSES,
    Box,
    Grade,
    clamp_box,
)
from core.annotations.scales import (
    GradingScale,
    ScaleValue,
    builtin_scale,
    builtin_scale_names,
)

__all__ = [
    "BOX_SOURCES",
    "BOX_STATUSES",
    "REVIEW_STATUSES",
    "Box",
    "Grade",
    "GradingScale",
    "Label",
    "LabelSet",
    "ScaleValue",
    "builtin_label_set",
    "builtin_label_set_names",
    "builtin_scale",
    "builtin_scale_names",
    "clamp_box",
]
