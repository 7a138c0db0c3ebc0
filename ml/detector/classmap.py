"""Map a model's class names to the project's label registry.

By name, never by index: a model trained on another project may number its classes
differently. Names match exactly first, then ignoring case, spaces, '-' and '_'
("surgical_implant" = "surgical implant"). A class-agnostic model (one class whose name
the project lacks, e.g. "anomaly" or "object") suggests the project's generic label, which
the expert then refines. Which label is generic suits the project's label set: "unknown
anomaly" for X-rays, "lesion" for acne (``GENERIC_LABEL_BY_SET``, found by the set's name,
else by words of its name or title), before the other catch-alls of
``GENERIC_LABEL_CANDIDATES``. A project without one gets a refusal saying which label to add.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from core.annotations.labels import LabelSet
from core.errors import ModelError

# Labels a project may use as its catch-all, in order of preference (after its set's own).
GENERIC_LABEL_CANDIDATES = ("unknown anomaly", "anomaly", "unknown", "other", "lesion")

# The catch-all each kind of label set calls for, and what it names (for messages).
GENERIC_LABEL_BY_SET = {"xray": "unknown anomaly", "acne": "lesion"}
_FINDINGS = {"xray": "anomalies", "acne": "lesions"}
# A set that is not a built-in one is recognised by words of its name or title.
_SET_WORDS = (
    ("xray", re.compile(r"x[\s_-]?ray|radiograph", re.IGNORECASE)),
    ("acne", re.compile(r"acne|derma|skin|lesion|comedo", re.IGNORECASE)),
)


@dataclass(frozen=True)
class ClassMap:
    """model class id -> project label name; classes the project lacks are listed apart."""

    model_names: dict[int, str]
    to_label: dict[int, str]
    unmapped: tuple[str, ...] = ()
    generic: bool = False  # class-agnostic model mapped to the generic label
    notes: tuple[str, ...] = field(default_factory=tuple)

    def label_for(self, class_id: int) -> str | None:
        return self.to_label.get(int(class_id))


def normalise_name(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", str(name)).strip().casefold()


def model_class_names(names: Mapping[int, str] | Sequence[str]) -> dict[int, str]:
    if isinstance(names, Mapping):
        return {int(k): str(v) for k, v in names.items()}
    return {i: str(v) for i, v in enumerate(names)}


def label_set_kind(label_set: LabelSet) -> str | None:
    """``"xray"``, ``"acne"`` (keys of ``GENERIC_LABEL_BY_SET``) or None: by the set's name,
    else by the first kind whose words its name or title holds."""
    name = normalise_name(label_set.name).replace(" ", "")
    if name in GENERIC_LABEL_BY_SET:
        return name
    text = f"{label_set.name} {label_set.title}"
    for kind, words in _SET_WORDS:
        if words.search(text):
            return kind
    return None


def suited_generic_label(label_set: LabelSet) -> str | None:
    """The generic label this kind of project calls for, whether or not it has it yet."""
    kind = label_set_kind(label_set)
    return GENERIC_LABEL_BY_SET.get(kind) if kind else None


def find_generic_label(label_set: LabelSet, preferred: str | None = None) -> str | None:
    """The project's catch-all label: ``preferred`` (a model's recorded ``generic_label``)
    if the project has it, else the one its label set calls for (:func:`suited_generic_label`),
    else the first of ``GENERIC_LABEL_CANDIDATES`` it has; None if it has none."""
    names = label_set.names()
    by_norm = {normalise_name(n): n for n in names}
    suited = suited_generic_label(label_set)
    candidates = (
        ((preferred,) if preferred else ())
        + ((suited,) if suited else ())
        + GENERIC_LABEL_CANDIDATES
    )
    for candidate in candidates:
        hit = by_norm.get(normalise_name(candidate))
        if hit is not None:
            return hit
    return None


def _no_generic_label(label_set: LabelSet, preferred: str | None, model_label: str) -> str:
    kind = label_set_kind(label_set)
    findings = _FINDINGS.get(kind, "objects") if kind else "objects"
    wanted = suited_generic_label(label_set) or preferred
    if wanted:
        how = f"add a label '{wanted}' to the project"
    else:
        how = "add a generic label (such as 'unknown anomaly' or 'lesion') to the project"
    return (
        f"{model_label} finds {findings} without naming them, but this project has no "
        f"generic label to put on them; {how}, and its suggestions will carry it"
    )


def map_classes(
    names: Mapping[int, str] | Sequence[str],
    label_set: LabelSet,
    *,
    generic_label: str | None = None,
    class_agnostic: bool | None = None,
    model_label: str = "the model",
) -> ClassMap:
    """Build the mapping; ModelError when no class of the model can be used in the project.

    ``class_agnostic`` forces (True) or forbids (False) the generic mapping; ``None`` decides
    from the names: one class that the project lacks means class-agnostic.
    """
    model_names = model_class_names(names)
    if not model_names:
        raise ModelError(f"{model_label} has no classes; it cannot make box suggestions")
    project = label_set.names()
    exact = set(project)
    by_norm = {normalise_name(n): n for n in project}

    def match(name: str) -> str | None:
        if name in exact:
            return name
        return by_norm.get(normalise_name(name))

    only = next(iter(model_names.values())) if len(model_names) == 1 else None
    agnostic = class_agnostic
    if agnostic is None:
        agnostic = only is not None and match(only) is None
    if agnostic:
        generic = find_generic_label(label_set, generic_label)
        if generic is None:
            raise ModelError(_no_generic_label(label_set, generic_label, model_label))
        return ClassMap(
            model_names=model_names,
            to_label={cid: generic for cid in model_names},
            generic=True,
            notes=(
                f"class-agnostic model: suggestions are labelled '{generic}' for you to refine",
            ),
        )

    to_label: dict[int, str] = {}
    unmapped: list[str] = []
    for cid, name in sorted(model_names.items()):
        hit = match(name)
        if hit is None:
            unmapped.append(name)
        else:
            to_label[cid] = hit
    if not to_label:
        raise ModelError(
            f"the classes of {model_label} ({_short_list(model_names.values())}) do not match "
            f"any label of this project ({_short_list(project)}); use a model trained for "
            f"these labels, or import it into a project with its classes"
        )
    notes: tuple[str, ...] = ()
    if unmapped:
        notes = (
            f"{len(unmapped)} class(es) of {model_label} are not labels of this project and "
            f"are not suggested: {_short_list(unmapped)}",
        )
    return ClassMap(
        model_names=model_names, to_label=to_label, unmapped=tuple(unmapped), notes=notes
    )


def _short_list(names: object, limit: int = 8) -> str:
    items = [str(n) for n in names]  # type: ignore[attr-defined]
    shown = ", ".join(f"'{n}'" for n in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
