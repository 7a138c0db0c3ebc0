"""``FilterSettings``: the recorded, JSON-serialisable description of one display.

A frozen dataclass so a settings object can be a cache key, be shared between the GUI thread
and a render worker, and be stored per image in the project (and reused to make the 8-bit
pixels a model trains on). Every field is optional; the defaults show what a radiologist
expects: the file's own VOI window, MONOCHROME1 inverted, no enhancement.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any, Literal, cast

from core.errors import ClinLensError

Normalise = Literal["none", "percentile", "minmax"]
NORMALISE_MODES: tuple[str, ...] = ("none", "percentile", "minmax")
NormRegion = Literal["image", "body"]
NORM_REGIONS: tuple[str, ...] = ("image", "body")


class FilterSettingsError(ClinLensError):
    """Display settings with a value out of range (e.g. a negative window width)."""


@dataclass(frozen=True)
class FilterSettings:
    """How to turn a full-bit-depth image into the 8-bit picture on screen.

    Order of operations (grey): modality LUT -> VOI (window / VOI LUT / normalisation)
    -> CLAHE -> invert -> brightness/contrast -> gamma -> 8 bits. Colour photos get the same
    chain on the L channel of Lab, so hues stay true; ``invert`` makes a colour negative.

    window_center, window_width: in modality units (HU for CT). None -> the file's VOI
        (``voi_index`` picks which), else robust percentiles. One of them alone keeps the
        automatic value of the other.
    hu_window: (center, width) used instead of percentiles when the image is in Hounsfield
        units (CT); lets one preset mean "W400/L40" on CT and "a percentile window" on CR.
    voi_index: which of the file's VOI options (VOI LUT first when present, then windows).
    brightness: -1..1 added to the displayed brightness (0 = identity).
    contrast: > 0, slope around mid-grey (1 = identity).
    gamma: > 0, ``out = in ** (1 / gamma)``: above 1 brightens mid-tones (1 = identity).
    clahe, clahe_clip, clahe_tiles: contrast-limited adaptive histogram equalisation;
        clip = maximum slope relative to a flat histogram, tiles = grid per side.
    normalise: "none" (window / file VOI), "percentile" (norm_low_pct..norm_high_pct of
        the pixel values, counted in display order so the numbers mean the same for
        MONOCHROME1) or "minmax" (full range of the pixel values).
    norm_region: where "percentile" counts: "image" (every pixel) or "body" (X-rays: only
        the pixels inside the body, so the air around a thin full-body view does not
        claim most of the percentiles; photos and images without air: the whole image).
    invert: flips black and white relative to the default (MONOCHROME1 is already shown
        inverted; ``invert=True`` on it shows the stored polarity).
    preset: the name of the preset these settings came from (informational).
    """

    window_center: float | None = None
    window_width: float | None = None
    hu_window: tuple[float, float] | None = None
    voi_index: int = 0
    brightness: float = 0.0
    contrast: float = 1.0
    gamma: float = 1.0
    clahe: bool = False
    clahe_clip: float = 2.0
    clahe_tiles: int = 8
    normalise: Normalise = "none"
    norm_low_pct: float = 0.5
    norm_high_pct: float = 99.5
    norm_region: NormRegion = "image"
    invert: bool = False
    preset: str | None = None

    def __post_init__(self) -> None:
        _validate(self)

    # --- serialisation ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if self.hu_window is not None:
            d["hu_window"] = list(self.hu_window)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FilterSettings:
        """Build from a dict; missing keys take defaults, unknown keys are ignored (so a
        newer ClinLens's settings still open), bad values raise FilterSettingsError."""
        if not isinstance(d, dict):
            raise FilterSettingsError("Display settings must be a JSON object.")
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in names}
        return cls(**kwargs)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, s: str) -> FilterSettings:
        try:
            d = json.loads(s)
        except (TypeError, ValueError) as exc:
            raise FilterSettingsError(f"Display settings are not valid JSON: {exc}") from exc
        return cls.from_dict(d)

    def replace(self, **changes: Any) -> FilterSettings:
        return dataclasses.replace(self, **changes)

    @property
    def is_identity_tone(self) -> bool:
        """True when brightness, contrast and gamma leave values unchanged."""
        return self.brightness == 0.0 and self.contrast == 1.0 and self.gamma == 1.0


# --- validation ------------------------------------------------------------------------------
def _set(obj: FilterSettings, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


def _number(name: str, value: Any, lo: float, hi: float, *, lo_open: bool = False) -> float:
    # bool is an int subclass; "true" as a gamma is a mistake, not 1.0.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FilterSettingsError(f"Display setting '{name}' must be a number, got {value!r}.")
    v = float(value)
    if not math.isfinite(v):
        raise FilterSettingsError(f"Display setting '{name}' must be a finite number.")
    if v < lo or v > hi or (lo_open and v == lo):
        bound = f"above {lo:g}" if lo_open else f"at least {lo:g}"
        raise FilterSettingsError(
            f"Display setting '{name}' = {v:g} is out of range ({bound}, at most {hi:g})."
        )
    return v


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise FilterSettingsError(f"Display setting '{name}' must be true or false.")
    return value


def _validate(s: FilterSettings) -> None:
    inf = math.inf
    if s.window_center is not None:
        _set(s, "window_center", _number("window_center", s.window_center, -inf, inf))
    if s.window_width is not None:
        _set(s, "window_width", _number("window_width", s.window_width, 0.0, inf, lo_open=True))
    if s.hu_window is not None:
        hw = s.hu_window
        if not isinstance(hw, list | tuple) or len(hw) != 2:
            raise FilterSettingsError("Display setting 'hu_window' must be [center, width].")
        c = _number("hu_window center", hw[0], -inf, inf)
        w = _number("hu_window width", hw[1], 0.0, inf, lo_open=True)
        _set(s, "hu_window", (c, w))
    if isinstance(s.voi_index, bool) or not isinstance(s.voi_index, int) or s.voi_index < 0:
        raise FilterSettingsError("Display setting 'voi_index' must be a whole number >= 0.")
    _set(s, "brightness", _number("brightness", s.brightness, -1.0, 1.0))
    _set(s, "contrast", _number("contrast", s.contrast, 0.0, 100.0, lo_open=True))
    _set(s, "gamma", _number("gamma", s.gamma, 0.0, 100.0, lo_open=True))
    _flag("clahe", s.clahe)
    _set(s, "clahe_clip", _number("clahe_clip", s.clahe_clip, 0.0, 1000.0, lo_open=True))
    tiles = s.clahe_tiles
    if isinstance(tiles, bool) or not isinstance(tiles, int) or not 1 <= tiles <= 64:
        raise FilterSettingsError("Display setting 'clahe_tiles' must be a whole number 1..64.")
    if s.normalise not in NORMALISE_MODES:
        raise FilterSettingsError(
            f"Display setting 'normalise' must be one of {', '.join(NORMALISE_MODES)}; "
            f"got {s.normalise!r}."
        )
    _set(s, "normalise", cast(Normalise, s.normalise))
    lo = _number("norm_low_pct", s.norm_low_pct, 0.0, 100.0)
    hi = _number("norm_high_pct", s.norm_high_pct, 0.0, 100.0)
    if lo >= hi:
        raise FilterSettingsError(
            f"Display setting 'norm_low_pct' ({lo:g}) must be below 'norm_high_pct' ({hi:g})."
        )
    if s.norm_region not in NORM_REGIONS:
        raise FilterSettingsError(
            f"Display setting 'norm_region' must be one of {', '.join(NORM_REGIONS)}; "
            f"got {s.norm_region!r}."
        )
    _set(s, "norm_region", cast(NormRegion, s.norm_region))
    _set(s, "norm_low_pct", lo)
    _set(s, "norm_high_pct", hi)
    _flag("invert", s.invert)
    if s.preset is not None and not isinstance(s.preset, str):
        raise FilterSettingsError("Display setting 'preset' must be a name or null.")
