"""Values of interest: modality mapping, which window applies, and the window functions.

Everything here works on *modality values* (stored value after rescale slope/intercept or
the Modality LUT Sequence), the units DICOM windows are written in. Colour photos have no
modality mapping; their "stored values" are the luminance L scaled to the stored range.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from core.filters.settings import FilterSettings
from core.imaging.raw import RawImage

# Percentiles and histograms use ~256k samples: enough for a stable 0.5 % tail, and a few
# milliseconds even on a 9-megapixel image (ARCHITECTURE: auto-levels from a subsample).
SUBSAMPLE_TARGET = 1 << 18

# --- per-image cache -------------------------------------------------------------------------
# Keyed by the RawImage object itself (frozen, identity-hashed), held weakly so the cache dies
# with the image. Entries depend only on the image's immutable metadata + arguments.
_cache: weakref.WeakKeyDictionary[RawImage, dict[Hashable, Any]] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()
_MAX_ENTRIES_PER_IMAGE = 32


def cached(raw: RawImage, key: Hashable, make: Any) -> Any:
    """Return ``make()`` memoised per image under ``key`` (thread-safe, bounded)."""
    with _cache_lock:
        entries = _cache.get(raw)
        if entries is not None and key in entries:
            return entries[key]
    value = make()  # outside the lock: LUT building must not serialise two render threads
    with _cache_lock:
        entries = _cache.setdefault(raw, {})
        if len(entries) >= _MAX_ENTRIES_PER_IMAGE:
            entries.pop(next(iter(entries)))  # oldest first (dicts keep insertion order)
        entries[key] = value
    return value


# --- stored -> modality ----------------------------------------------------------------------
def is_color(raw: RawImage) -> bool:
    return raw.pixels.ndim == 3 and raw.pixels.shape[2] >= 3


def stored_max(raw: RawImage) -> float:
    """Largest value the stored dtype can hold (the full range of a photo's channels).
    Photos deeper than 8 bits are processed as 16-bit (see render._color)."""
    dt = raw.pixels.dtype
    if is_color(raw):
        return 255.0 if dt == np.uint8 else 65535.0
    if dt.kind in "ui":
        return float(np.iinfo(dt).max)
    return 1.0


def modality_of(raw: RawImage, stored: np.ndarray) -> np.ndarray:
    """Stored values -> modality values (float64). Photos: unchanged."""
    if is_color(raw):
        return stored.astype(np.float64)
    if raw.modality_lut is not None:
        lut, first = raw.modality_lut[0], int(raw.modality_lut[1])
        lut = np.asarray(lut)
        idx = np.clip(stored.astype(np.int64) - first, 0, len(lut) - 1)
        return lut[idx].astype(np.float64)
    out = stored.astype(np.float64)
    if raw.rescale_slope != 1.0:
        out *= raw.rescale_slope
    if raw.rescale_intercept != 0.0:
        out += raw.rescale_intercept
    return out


def subsample(pixels: np.ndarray, target: int = SUBSAMPLE_TARGET) -> np.ndarray:
    """A strided view with about ``target`` pixels (no copy, no averaging: fast)."""
    h, w = pixels.shape[:2]
    step = max(1, int(math.sqrt(h * w / target)))
    return pixels[::step, ::step]


def lightness(rgb: np.ndarray) -> np.ndarray:
    """L of Lab scaled to 0..255 (8-bit photos) or 0..65535 (deeper), as float64: the
    channel the colour pipeline windows and equalises, so percentiles/histograms match it."""
    rgb = np.ascontiguousarray(rgb[..., :3])
    if rgb.dtype == np.uint8:
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)[..., 0].astype(np.float64)
    f = rgb.astype(np.float32)
    top = 65535.0 if rgb.dtype == np.uint16 else float(f.max() or 1.0)
    lab = cv2.cvtColor(f * np.float32(1.0 / top), cv2.COLOR_RGB2Lab)
    return lab[..., 0].astype(np.float64) * (65535.0 / 100.0)


def sample_values(raw: RawImage) -> np.ndarray:
    """Modality values (grey) or Lab lightness (colour) of a strided subsample, flat float64."""
    sub = subsample(raw.pixels)
    vals = lightness(sub) if is_color(raw) else modality_of(raw, sub)
    vals = vals.ravel()
    return vals[np.isfinite(vals)] if vals.dtype.kind == "f" else vals


def percentiles(raw: RawImage, lo_pct: float, hi_pct: float) -> tuple[float, float]:
    def make() -> tuple[float, float]:
        vals = sample_values(raw)
        if vals.size == 0:
            return 0.0, 1.0
        lo, hi = np.percentile(vals, [lo_pct, hi_pct])
        return float(lo), float(hi)

    return cached(raw, ("pct", lo_pct, hi_pct), make)  # type: ignore[no-any-return]


def histogram(raw: RawImage, bins: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of modality values (colour: Lab lightness in stored units) from a strided subsample."""
    if bins < 1:
        raise ValueError("bins must be >= 1")
    vals = sample_values(raw)
    if vals.size == 0:
        return np.zeros(bins, np.int64), np.linspace(0.0, 1.0, bins + 1)
    return np.histogram(vals, bins=bins)


# --- which VOI -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    """A DICOM window in modality units; ``function`` LINEAR | LINEAR_EXACT | SIGMOID."""

    center: float
    width: float
    function: str = "LINEAR"


@dataclass(frozen=True)
class VoiLut:
    """The file's VOI LUT Sequence (identity-keyed by the image it came from)."""

    lut: np.ndarray
    first: int
    bits: int


Voi = Window | VoiLut


def is_hounsfield(raw: RawImage) -> bool:
    return (raw.rescale_type or "").upper() == "HU" or (raw.modality or "").upper() == "CT"


def shows_inverted(raw: RawImage) -> bool:
    """MONOCHROME1 stores 'white = low values'; it is shown inverted by default."""
    return (raw.photometric or "").upper() == "MONOCHROME1"


def _range_window(lo: float, hi: float, function: str) -> Window:
    """The DICOM LINEAR window whose ramp runs exactly from ``lo`` to ``hi``."""
    if not hi > lo:
        hi = lo + 1.0
    # LINEAR maps c-0.5-(w-1)/2 .. c-0.5+(w-1)/2 onto black..white.
    return Window(center=(lo + hi) / 2.0 + 0.5, width=hi - lo + 1.0, function=function)


def _file_voi_options(raw: RawImage) -> list[Voi]:
    options: list[Voi] = []
    if raw.voi_lut is not None and not is_color(raw):
        lut = np.asarray(raw.voi_lut[0])
        first = int(raw.voi_lut[1])
        if len(raw.voi_lut) > 2:
            bits = int(raw.voi_lut[2])  # type: ignore[misc]
        else:  # descriptor bits unknown: the smallest power of two holding the LUT
            bits = max(1, int(lut.max()).bit_length()) if lut.size else 8
        options.append(VoiLut(lut=lut, first=first, bits=max(1, min(bits, 32))))
    fn = (raw.voi_lut_function or "LINEAR").upper()
    for w in raw.voi_windows:
        if w.width > 0 and math.isfinite(w.center) and math.isfinite(w.width):
            options.append(Window(float(w.center), float(w.width), fn))
    return options


def voi_options(raw: RawImage) -> list[str]:
    """Human-readable list of the file's own VOI choices (index = ``voi_index``)."""
    names: list[str] = []
    for opt in _file_voi_options(raw):
        if isinstance(opt, VoiLut):
            names.append("VOI LUT")
        else:
            names.append(f"W {opt.width:g} / L {opt.center:g}")
    expl = [w.explanation for w in raw.voi_windows if w.width > 0]
    offset = len(names) - len(expl)
    for i, e in enumerate(expl):
        if e:
            names[offset + i] += f" ({e})"
    return names


def _auto_range(raw: RawImage, settings: FilterSettings, fn: str) -> Window:
    if settings.normalise == "minmax":
        lo, hi = percentiles(raw, 0.0, 100.0)
        return _range_window(lo, hi, fn)
    if settings.normalise == "percentile":
        lo_pct, hi_pct = settings.norm_low_pct, settings.norm_high_pct
    elif raw.pixels.dtype.itemsize == 1 or is_color(raw):
        # 8-bit data (and photos) are display-referred already: show the full range.
        top = stored_max(raw)
        return _range_window(0.0, top, fn) if top > 1 else _range_window(0.0, 1.0, fn)
    else:
        lo_pct, hi_pct = 0.5, 99.5
    if shows_inverted(raw):
        # Percentiles count in display order: "0.5 % shown black" means the same on
        # MONOCHROME1 (where black is the high stored values).
        lo_pct, hi_pct = 100.0 - hi_pct, 100.0 - lo_pct
    lo, hi = percentiles(raw, lo_pct, hi_pct)
    return _range_window(lo, hi, fn)


def resolve_voi(raw: RawImage, settings: FilterSettings) -> Voi:
    """The VOI that ``settings`` selects for ``raw`` (see FilterSettings for the order)."""
    fn = "LINEAR" if is_color(raw) else (raw.voi_lut_function or "LINEAR").upper()
    if fn not in ("LINEAR", "LINEAR_EXACT", "SIGMOID"):
        fn = "LINEAR"
    c, w = settings.window_center, settings.window_width
    if c is not None and w is not None:
        return Window(c, w, fn)
    auto: Voi
    if settings.hu_window is not None and is_hounsfield(raw) and not is_color(raw):
        auto = Window(settings.hu_window[0], settings.hu_window[1], fn)
    elif settings.normalise != "none":
        auto = _auto_range(raw, settings, fn)
    else:
        options = _file_voi_options(raw)
        if options:
            auto = options[min(settings.voi_index, len(options) - 1)]
        else:
            auto = _auto_range(raw, settings, fn)
    if c is None and w is None:
        return auto
    # One of centre/width given: keep the automatic value of the other.
    base = auto if isinstance(auto, Window) else _auto_range(raw, settings, fn)
    return Window(c if c is not None else base.center, w if w is not None else base.width, fn)


def resolve_window(raw: RawImage, settings: FilterSettings) -> tuple[float, float] | None:
    """(center, width) the settings show for ``raw``; None when a VOI LUT is used."""
    voi = resolve_voi(raw, settings)
    return (voi.center, voi.width) if isinstance(voi, Window) else None


# --- window functions (DICOM PS3.3 C.11.2.1.2), output 0..1 ---------------------------------
def apply_voi(voi: Voi, m: np.ndarray) -> np.ndarray:
    """Modality values -> 0..1 (float64) through ``voi``."""
    if isinstance(voi, VoiLut):
        idx = np.clip(np.rint(m).astype(np.int64) - voi.first, 0, len(voi.lut) - 1)
        top = float(2**voi.bits - 1)
        return np.clip(voi.lut[idx].astype(np.float64) / top, 0.0, 1.0)
    c, w = voi.center, voi.width
    if voi.function == "SIGMOID":
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-4.0 * (m - c) / w))
    if voi.function == "LINEAR_EXACT":
        return np.clip((m - c) / w + 0.5, 0.0, 1.0)
    if w <= 1.0:  # LINEAR with width 1 is a threshold at c - 0.5
        return (m > c - 0.5).astype(np.float64)
    return np.clip((m - (c - 0.5)) / (w - 1.0) + 0.5, 0.0, 1.0)
