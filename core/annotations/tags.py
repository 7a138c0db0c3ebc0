"""Image-level tag kinds: multi-select facts about an image, beside the ordinal scales.

The first one is the lesion-type study's: which of comedone, papule, pustule and nodule are
present on a face photo. Its value is filled from the image's boxes (a box labelled
"whitehead comedone" means comedones are present) until the grader changes it; from then
on the grader's choice wins, even when boxes are drawn or removed later, until they reset
it to the boxes' answer. Pure data and functions; the store keeps the grader's choices
(``core.store.tags``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

AUTO = "auto"  # the value comes from the boxes
HUMAN = "human"  # the grader chose it
TAG_SEPARATOR = ";"  # between options in one CSV cell


@dataclass(frozen=True)
class TagKind:
    name: str  # stored and exported (the CSV column)
    title: str  # shown
    options: tuple[str, ...]  # in display (and export) order
    # option -> words of a label that mean it (a label matches when it holds one of them)
    words: tuple[tuple[str, tuple[str, ...]], ...]

    def option_of(self, label: str) -> str | None:
        """The option a box label stands for (None: the label is not a lesion type)."""
        tokens = set(re.findall(r"[a-z]+", label.lower()))
        for option, words in self.words:
            if tokens & set(words):
                return option
        return None

    def from_labels(self, labels: Iterable[str]) -> tuple[str, ...]:
        """The options present among the boxes' labels, in option order."""
        present = {self.option_of(lab) for lab in labels}
        return tuple(o for o in self.options if o in present)

    def normalise(self, tags: Iterable[str]) -> tuple[str, ...]:
        """Known options in option order, each once; ValueError naming an unknown one."""
        chosen = set(tags)
        unknown = sorted(chosen - set(self.options))
        if unknown:
            raise ValueError(
                f"'{unknown[0]}' is not a {self.title} option (options: {', '.join(self.options)})"
            )
        return tuple(o for o in self.options if o in chosen)

    def cell(self, tags: Iterable[str]) -> str:
        """The CSV cell: options joined by ';' ('' = none present)."""
        return TAG_SEPARATOR.join(self.normalise(tags))


LESION_TYPES = TagKind(
    name="lesion_types",
    title="Lesion types present",
    options=("comedone", "papule", "pustule", "nodule"),
    words=(
        ("comedone", ("comedo", "comedone", "comedones", "whitehead", "blackhead")),
        ("papule", ("papule", "papules")),
        ("pustule", ("pustule", "pustules")),
        ("nodule", ("nodule", "nodules", "cyst", "cysts", "nodulocystic")),
    ),
)
TAG_KINDS = {LESION_TYPES.name: LESION_TYPES}
# ACNE04's one untyped class: such a project still asks which types are present.
_UNTYPED_LESION = "lesion"


def tag_kinds_for(labels: Iterable[str], scales: Iterable[str] = ()) -> list[TagKind]:
    """The tag kinds a project uses: lesion types when its labels are acne lesions (typed,
    or ACNE04's untyped "lesion"). An X-ray project has none, even with an acne scale.
    ``scales`` is accepted for kinds that will depend on them."""
    names = [n.strip().lower() for n in labels]
    if _UNTYPED_LESION in names or any(LESION_TYPES.option_of(n) for n in names):
        return [LESION_TYPES]
    return []


@dataclass(frozen=True)
class ImageTags:
    """One image's value of one tag kind, and where it came from."""

    kind: str
    tags: tuple[str, ...]
    source: str  # AUTO or HUMAN
    auto: tuple[str, ...]  # what the boxes say (shown beside a grader's choice)
    author: str | None = None
