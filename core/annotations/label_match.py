"""Label names as datasets spell them: near-twins of a project's labels, and mappings.

A dataset exported elsewhere often names the project's classes a little differently:
"Papules" for ``papule``, "nodule_cyst" for ``nodule/cyst``, "white head" for
``whitehead``. Adding those as new labels splits one class in two (and the Hayashi count,
which knows ``papule``, finds nothing). So an import reports them as likely matches and
maps them only when asked:

- ``auto``: a dataset name with exactly one near-twin among the project's labels is
  mapped to it; with two or more (``papule`` and ``Papule`` both in the project) it is
  never guessed between - it stays unmapped and is reported with both candidates;
- a YAML file ``dataset name: project label`` maps exactly what it names.

Two names are near-twins when they are equal after case folding, dropping punctuation
and spacing, and reducing each word to a singular ("papules" -> "papule", "cysts" ->
"cyst", "pustules" -> "pustule"). The comparison is deliberately narrow: "nodules and
cysts" is *not* a twin of ``nodule/cyst`` (the "and" is a word); a mapping file says so.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.annotations.labels import validate_label_name
from core.errors import FormatError
from core.text import shorten

AUTO = "auto"
_WORD = re.compile(r"[^\W_]+", re.UNICODE)  # letters and digits; "_", "/", "-" split words
# Words whose final "s" is not a plural ending (kept as they are).
_NOT_PLURAL = ("ss", "us", "is", "os")


def _singular(word: str) -> str:
    if len(word) <= 3 or word.endswith(_NOT_PLURAL):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def label_key(name: str) -> str:
    """The form two near-twin names share: folded case, no punctuation or spaces,
    singular words. ``label_key("Papules") == label_key("papule")``."""
    text = unicodedata.normalize("NFKC", name).casefold()
    return "".join(_singular(w) for w in _WORD.findall(text))


def near_twins(name: str, labels: Iterable[str]) -> list[str]:
    """The labels (other than ``name`` itself) that are near-twins of ``name``."""
    key = label_key(name)
    return [lab for lab in labels if lab != name and key and label_key(lab) == key]


@dataclass
class LabelMapping:
    """What an import does with dataset labels the project lacks."""

    mapped: dict[str, str] = field(default_factory=dict)  # dataset name -> project label
    likely: dict[str, list[str]] = field(default_factory=dict)  # unmapped -> near-twins

    def ambiguous(self) -> dict[str, list[str]]:
        return {n: c for n, c in self.likely.items() if len(c) > 1}

    def hint(self) -> str:
        """'Papules' looks like 'papule'; ... (for messages), or ''."""
        parts = []
        for name, cands in sorted(self.likely.items()):
            shown = " or ".join(f"'{shorten(c, 40)}'" for c in cands)
            parts.append(f"'{shorten(name, 40)}' looks like {shown}")
        return "; ".join(parts)


def read_label_map(path: str | Path) -> dict[str, str]:
    """A YAML mapping ``dataset name: project label`` (bounded reader, names checked)."""
    p = Path(path)
    if not p.is_file():
        raise FormatError(f"label map '{p}' is not a file (give 'auto' or a YAML file)")
    from core.safe_yaml import read_yaml_file  # PyYAML only when a map file is read

    data = read_yaml_file(p)
    if not isinstance(data, dict) or not data:
        raise FormatError(
            f"{p}: a label map is a YAML mapping 'dataset name: project label', one per line"
        )
    out: dict[str, str] = {}
    for key, value in data.items():
        source = validate_label_name(key, str(p))
        target = validate_label_name(value, str(p))
        out[source] = target
    return out


def plan_mapping(
    missing: Sequence[str],
    project_labels: Sequence[str],
    how: str | Mapping[str, str] | None,
) -> LabelMapping:
    """How dataset labels the project lacks (``missing``) map onto ``project_labels``.

    ``how``: None (map nothing, report likely matches), ``"auto"`` (map names with one
    near-twin), or an explicit mapping (its targets must be project labels). Names a
    mapping file does not list fall back to reporting their likely matches.
    """
    plan = LabelMapping()
    known = list(project_labels)
    explicit: Mapping[str, str] = how if isinstance(how, Mapping) else {}
    for target in dict.fromkeys(explicit.values()):
        if target not in known:
            raise FormatError(
                f"label map: '{shorten(target, 40)}' is not a label of this project "
                f"({', '.join(shorten(k, 30) for k in known)}); add it first "
                "(`project labels DIR --add NAME`)"
            )
    for name in missing:
        if name in explicit:
            plan.mapped[name] = explicit[name]
            continue
        cands = near_twins(name, known)
        if how == AUTO and len(cands) == 1:
            plan.mapped[name] = cands[0]
        elif cands:
            plan.likely[name] = cands
    return plan


def twins_among(names: Sequence[str]) -> list[list[str]]:
    """Groups of two or more ``names`` that are near-twins of each other."""
    groups: dict[str, list[str]] = {}
    for n in names:
        groups.setdefault(label_key(n), []).append(n)
    return [g for g in groups.values() if len(g) > 1]
