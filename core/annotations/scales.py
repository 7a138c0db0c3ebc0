"""Image-level grading scales (acne4, iga5, hyperpig, or user-defined).

A scale file (``--scales FILE.yaml``) maps scale names to definitions; ``load_scale_file``
reads it with the bounded YAML loader and refuses a malformed definition with a
FormatError that names the file and shows the offending value shortened.
"""

from __future__ import annotations

import bisect
import itertools
import math
import os
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from core.annotations.kinds import applies, validate_kinds
from core.annotations.labels import validate_name
from core.errors import FormatError
from core.text import shorten
from resources import resource_path

if TYPE_CHECKING:  # the store opens scales at the window's start: numpy only when asked (#17)
    import numpy as np

MAX_SCALE_VALUES = 1000


@dataclass(frozen=True)
class ScaleValue:
    value: float
    label: str


@dataclass(frozen=True)
class ScaleGroup:
    label: str
    low: float
    high: float


@dataclass(frozen=True)
class GradingScale:
    name: str
    title: str
    values: tuple[ScaleValue, ...]
    groups: tuple[ScaleGroup, ...] = ()
    required: bool = True  # an image cannot be marked done without it
    applies_to: tuple[str, ...] = ()  # image kinds ("xray", "photo") it is for; () = all

    def applies(self, kind: str | None) -> bool:
        """Whether an image of ``kind`` (None: unknown) is graded on this scale."""
        return applies(self.applies_to, kind)

    @property
    def allowed(self) -> np.ndarray:
        import numpy as np

        return np.array([v.value for v in self.values], dtype=np.float64)

    @property
    def edges(self) -> np.ndarray:
        """Boundaries between neighbouring grades (midpoints): acne4 -> [0.5, 1.5, 2.5]."""
        import numpy as np

        return np.array(self._edges(), dtype=np.float64)

    def _edges(self) -> list[float]:
        # The same float64 midpoints as (a[:-1] + a[1:]) / 2.0 on the array.
        a = [float(v.value) for v in self.values]
        return [(lo + hi) / 2.0 for lo, hi in itertools.pairwise(a)]

    def to_grade(self, continuous: float) -> float:
        """Map a continuous prediction to an allowed grade; on an edge, the upper grade."""
        # bisect_right is searchsorted(side="right"), NaN included (past every edge).
        idx = bisect.bisect_right(self._edges(), float(continuous))
        return float(self.values[idx].value)

    def snap(self, value: float) -> float:
        """The allowed value nearest ``value`` (the first of equally near ones, as argmin)."""
        number = float(value)
        return min((float(v.value) for v in self.values), key=lambda a: abs(a - number))

    def is_valid(self, value: float) -> bool:
        return any(_isclose(v.value, float(value)) for v in self.values)

    def label_of(self, value: float) -> str:
        for v in self.values:
            if _isclose(v.value, value):
                return v.label
        return str(value)

    def group_of(self, value: float) -> str | None:
        for g in self.groups:
            if g.low - 1e-9 <= value <= g.high + 1e-9:
                return g.label
        return None


def _isclose(a: float, b: float) -> bool:
    """numpy.isclose(a, b) with its defaults (rtol 1e-5 of ``b``, atol 1e-8), without numpy."""
    a, b = float(a), float(b)
    if a == b:
        return True  # equal infinities too, as numpy has it
    if not (math.isfinite(a) and math.isfinite(b)):
        return False
    return abs(a - b) <= 1e-08 + 1e-05 * abs(b)


def _number(value: Any, what: str, where: str) -> float:
    """A finite float, or FormatError naming ``what`` (NaN/inf would break the edges)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FormatError(f"{where}: {what} must be a number, not '{shorten(value, 40)}'")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise FormatError(f"{where}: {what} must be a number, not '{shorten(value, 40)}'") from None
    if not math.isfinite(number):
        raise FormatError(f"{where}: {what} must be a finite number, not {number}")
    return number


def _mapping(value: Any, what: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FormatError(f"{where}: {what} must be a mapping, not '{shorten(value, 40)}'")
    return value


def scale_from_mapping(name: str, data: dict[str, Any], source: str = "scale") -> GradingScale:
    """A scale from its definition (a scale file's entry, or the store's JSON).

    FormatError for anything malformed, naming ``source`` and the scale; values from the
    file are shown shortened so the message stays one line.
    """
    where = f"{source}: scale '{shorten(name)}'"
    data = _mapping(data, "the definition", where)
    values: list[ScaleValue] = []
    if "range" in data:
        r = _mapping(data["range"], "'range'", where)
        missing = [k for k in ("min", "max", "step") if k not in r]
        if missing:
            raise FormatError(f"{where}: 'range' lacks {', '.join(missing)}")
        lo = _number(r["min"], "range 'min'", where)
        hi = _number(r["max"], "range 'max'", where)
        step = _number(r["step"], "range 'step'", where)
        if step <= 0 or hi < lo:
            raise FormatError(f"{where} has a bad range")
        steps = (hi - lo) / step  # inf for min -1e308, max 1e308: refused, not rounded
        if not math.isfinite(steps) or steps + 1 > MAX_SCALE_VALUES + 0.5:
            shown = f"{steps + 1:.0f}" if math.isfinite(steps) else "too many"
            raise FormatError(
                f"{where} would have {shown} values; at most {MAX_SCALE_VALUES} (check its step)"
            )
        n = round(steps) + 1
        values = [ScaleValue(round(lo + i * step, 6), f"{lo + i * step:g}") for i in range(n)]
    else:
        entries = data.get("values", [])
        if not isinstance(entries, list):
            raise FormatError(f"{where}: 'values' must be a list of {{value, label}}")
        if len(entries) > MAX_SCALE_VALUES:
            raise FormatError(f"{where} has {len(entries)} values; at most {MAX_SCALE_VALUES}")
        for i, entry in enumerate(entries, start=1):
            entry = _mapping(entry, f"value #{i}", where)
            if "value" not in entry:
                raise FormatError(f"{where}: value #{i} has no 'value'")
            value = _number(entry["value"], f"value #{i}", where)
            label = entry.get("label", entry["value"])
            values.append(ScaleValue(value, shorten(label, 200)))
    if len(values) < 2:
        raise FormatError(f"{where} needs at least two values")
    values.sort(key=lambda v: v.value)
    raw_groups = data.get("groups", [])
    if not isinstance(raw_groups, list):
        raise FormatError(f"{where}: 'groups' must be a list of {{label, low, high}}")
    groups: list[ScaleGroup] = []
    for i, g in enumerate(raw_groups, start=1):
        g = _mapping(g, f"group #{i}", where)
        if "label" not in g:
            raise FormatError(f"{where}: group #{i} has no 'label'")
        groups.append(
            ScaleGroup(
                shorten(g["label"], 200),
                _number(g.get("low"), f"group #{i} 'low'", where),
                _number(g.get("high"), f"group #{i} 'high'", where),
            )
        )
    return GradingScale(
        name=name,
        title=shorten(data.get("title", name), 200),
        values=tuple(values),
        groups=tuple(groups),
        required=bool(data.get("required", True)),
        applies_to=_kinds(data.get("applies_to"), where),
    )


def _kinds(value: Any, where: str) -> tuple[str, ...]:
    try:
        return validate_kinds(value, where)
    except ValueError as exc:
        raise FormatError(str(exc)) from None


def load_scale_file(path: str | os.PathLike[str]) -> list[GradingScale]:
    """The scales of a user's YAML file (``name: {title, values | range, groups}``).

    Bounded YAML (core.safe_yaml); names checked like label names (one line, no formula
    start); FormatError naming the file for anything wrong.
    """
    source = str(path)
    from core.safe_yaml import read_yaml_file  # PyYAML: on first use

    data = read_yaml_file(path)
    if not isinstance(data, dict) or not data:
        raise FormatError(f"{source}: a scale file maps scale names to their values")
    scales: list[GradingScale] = []
    for raw_name, body in data.items():
        name = validate_name(raw_name, "scale", source)
        scales.append(scale_from_mapping(name, body, source))
    return scales


@cache
def _builtin_scales() -> dict[str, GradingScale]:
    # Our own file, but through the same loader: one YAML dialect (no anchors) everywhere.
    text = resource_path("grading_scales.yaml").read_text(encoding="utf-8")
    from core.safe_yaml import load_yaml  # PyYAML: on first use

    raw = load_yaml(text, "grading_scales.yaml")
    return {k: scale_from_mapping(k, v, "grading_scales.yaml") for k, v in raw.items()}


def builtin_scale_names() -> list[str]:
    return list(_builtin_scales())


def builtin_scale(name: str) -> GradingScale:
    scales = _builtin_scales()
    if name not in scales:
        raise FormatError(
            f"unknown grading scale '{shorten(name)}' (built-ins: {', '.join(scales)})"
        )
    return scales[name]
