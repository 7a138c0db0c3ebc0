"""Image-level grading scales (acne4, iga5, hyperpig, or user-defined)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import yaml

from core.errors import FormatError
from resources import resource_path

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

    @property
    def allowed(self) -> np.ndarray:
        return np.array([v.value for v in self.values], dtype=np.float64)

    @property
    def edges(self) -> np.ndarray:
        """Boundaries between neighbouring grades (midpoints): acne4 -> [0.5, 1.5, 2.5]."""
        a = self.allowed
        return (a[:-1] + a[1:]) / 2.0

    def to_grade(self, continuous: float) -> float:
        """Map a continuous prediction to an allowed grade; on an edge, the upper grade."""
        idx = int(np.searchsorted(self.edges, float(continuous), side="right"))
        return float(self.allowed[idx])

    def is_valid(self, value: float) -> bool:
        return bool(np.any(np.isclose(self.allowed, float(value))))

    def label_of(self, value: float) -> str:
        for v in self.values:
            if np.isclose(v.value, value):
                return v.label
        return str(value)

    def group_of(self, value: float) -> str | None:
        for g in self.groups:
            if g.low - 1e-9 <= value <= g.high + 1e-9:
                return g.label
        return None


def scale_from_mapping(name: str, data: dict[str, Any], source: str = "scale") -> GradingScale:
    values: list[ScaleValue] = []
    if "range" in data:
        r = data["range"]
        lo, hi, step = float(r["min"]), float(r["max"]), float(r["step"])
        if step <= 0 or hi < lo:
            raise FormatError(f"{source}: scale '{name}' has a bad range")
        n = round((hi - lo) / step) + 1
        if n > MAX_SCALE_VALUES:
            raise FormatError(
                f"{source}: scale '{name}' would have {n} values; at most {MAX_SCALE_VALUES}"
                " (check its step)"
            )
        values = [ScaleValue(round(lo + i * step, 6), f"{lo + i * step:g}") for i in range(n)]
    else:
        for entry in data.get("values", []):
            values.append(
                ScaleValue(float(entry["value"]), str(entry.get("label", entry["value"])))
            )
    if len(values) < 2:
        raise FormatError(f"{source}: scale '{name}' needs at least two values")
    values.sort(key=lambda v: v.value)
    groups = tuple(
        ScaleGroup(str(g["label"]), float(g["low"]), float(g["high"]))
        for g in data.get("groups", [])
    )
    return GradingScale(
        name=name,
        title=str(data.get("title", name)),
        values=tuple(values),
        groups=groups,
        required=bool(data.get("required", True)),
    )


@cache
def _builtin_scales() -> dict[str, GradingScale]:
    raw = yaml.safe_load(resource_path("grading_scales.yaml").read_text(encoding="utf-8"))
    return {k: scale_from_mapping(k, v, "grading_scales.yaml") for k, v in raw.items()}


def builtin_scale_names() -> list[str]:
    return list(_builtin_scales())


def builtin_scale(name: str) -> GradingScale:
    scales = _builtin_scales()
    if name not in scales:
        raise FormatError(f"unknown grading scale '{name}' (built-ins: {', '.join(scales)})")
    return scales[name]
