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

import numpy as np

from core.filters.color import lightness_code
from core.filters.settings import FilterSettings
from core.imaging import apply_voi as imaging_apply_voi
from core.imaging import (
    apply_window,
    has_voi,
    modality_range,
    to_modality,
    voi_count,
    voi_labels,
    voi_window,
)
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
            value = entries.pop(key)
            entries[key] = value  # most recently used goes last: eviction is LRU
            return value
    value = make()  # outside the lock: LUT building must not serialise two render threads
    with _cache_lock:
        entries = _cache.setdefault(raw, {})
        if len(entries) >= _MAX_ENTRIES_PER_IMAGE:
            entries.pop(next(iter(entries)))  # least recently used (dicts keep order)
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
    """Stored values -> modality values (float32), exactly as core.imaging (and pydicom's
    apply_modality_lut) define them. Photos: unchanged (their L channel is passed here)."""
    if is_color(raw):
        return np.asarray(stored, dtype=np.float32)
    return to_modality(raw, stored)


def subsample(pixels: np.ndarray, target: int = SUBSAMPLE_TARGET) -> np.ndarray:
    """A strided view with about ``target`` pixels (no copy, no averaging: fast)."""
    h, w = pixels.shape[:2]
    step = max(1, int(math.sqrt(h * w / target)))
    return pixels[::step, ::step]


def sample_values(raw: RawImage) -> np.ndarray:
    """Modality values (grey) or Lab lightness (colour) of a strided subsample, flat float64."""
    sub = subsample(raw.pixels)
    if is_color(raw) and sub.dtype not in (np.uint8, np.uint16):
        sub = np.clip(
            sub.astype(np.float64) / (float(np.nanmax(sub)) or 1.0) * 65535, 0, 65535
        ).astype(np.uint16)
    vals = lightness_code(sub).astype(np.float64) if is_color(raw) else modality_of(raw, sub)
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


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold of ``values`` (the split that maximises the between-class
    variance), from a ``bins``-bin histogram; the tests check it against scikit-image."""
    counts, edges = np.histogram(values, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2.0
    w0 = np.cumsum(counts).astype(np.float64)
    w1 = w0[-1] - w0
    m = np.cumsum(counts * centres)
    mean0 = np.divide(m, w0, out=np.zeros_like(m), where=w0 > 0)
    mean1 = np.divide(m[-1] - m, w1, out=np.zeros_like(m), where=w1 > 0)
    between = w0 * w1 * (mean0 - mean1) ** 2
    return float(centres[int(np.argmax(between[:-1]))])


def body_values(raw: RawImage) -> np.ndarray | None:
    """Subsampled modality values inside the body of a grey image, or None when the image
    shows no clear air around it (a tight crop, a photo: use every pixel then).

    Air is the display-dark end (high stored values on MONOCHROME1) and it surrounds the
    body: Otsu splits the values in display order, air is the narrow peak at the bottom
    of the dark class, and it counts as air only when it is a real part of the image and
    holds most of the image's border (a crop with no air splits its tissue in two, and
    its border falls on both sides)."""

    def make() -> np.ndarray | None:
        if is_color(raw):
            return None
        sub = subsample(raw.pixels)
        if sub.ndim == 3:
            sub = sub[..., 0]
        if sub.shape[0] < 8 or sub.shape[1] < 8:
            return None
        values = modality_of(raw, sub).astype(np.float64)
        display = -values if shows_inverted(raw) else values
        finite = np.isfinite(display)
        if not finite.all() or float(display.max()) <= float(display.min()):
            return None
        t = otsu_threshold(display.ravel())
        # Otsu's dark class also takes thin soft tissue (hands, arms); air itself is the
        # narrow peak at its bottom: its median plus six robust deviations.
        low = display[display <= t]
        med = float(np.median(low))
        mad = 1.4826 * float(np.median(np.abs(low - med)))
        if med + 6.0 * mad >= t:
            return None  # no narrow dark peak: tissue split in two, not air
        dark = display <= med + 6.0 * mad
        border = np.concatenate([dark[0], dark[-1], dark[:, 0], dark[:, -1]])
        if not 0.05 <= dark.mean() <= 0.95 or border.mean() < 0.25:
            return None
        return values[~dark].ravel()

    return cached(raw, ("body",), make)  # type: ignore[no-any-return]


def region_percentiles(
    raw: RawImage, lo_pct: float, hi_pct: float, region: str
) -> tuple[float, float]:
    """``percentiles`` counted inside the body (``region="body"``) when the image has air
    around it, else over the whole image."""
    if region != "body":
        return percentiles(raw, lo_pct, hi_pct)
    body = body_values(raw)
    if body is None:
        return percentiles(raw, lo_pct, hi_pct)

    def make() -> tuple[float, float]:
        lo, hi = np.percentile(body, [lo_pct, hi_pct])
        return float(lo), float(hi)

    return cached(raw, ("body-pct", lo_pct, hi_pct), make)  # type: ignore[no-any-return]


def value_range(raw: RawImage) -> tuple[float, float]:
    """Exact smallest and largest modality value in the image (photos: of the lightness,
    from the subsample). A subsample could miss a few-pixel metal fragment."""

    def make() -> tuple[float, float]:
        if is_color(raw):
            return percentiles(raw, 0.0, 100.0)
        px = raw.pixels
        if px.ndim == 3:
            px = px[..., 0]
        if px.dtype.kind == "f":
            lo_s, hi_s = float(np.nanmin(px)), float(np.nanmax(px))
        else:
            lo_s, hi_s = px.min(), px.max()
        if raw.modality_lut is not None and px.dtype.kind in "ui":
            stored = np.arange(int(lo_s), int(hi_s) + 1)
        else:  # linear rescale: the extremes map to the extremes
            stored = np.array([lo_s, hi_s], dtype=px.dtype)
        m = modality_of(raw, stored)
        return float(m.min()), float(m.max())

    return cached(raw, ("range",), make)  # type: ignore[no-any-return]


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
    """The file's VOI LUT Sequence, applied by core.imaging (choice ``index``)."""

    index: int


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
    """The file's own VOI choices in core.imaging's order: VOI LUT first, then windows."""
    if is_color(raw) or not has_voi(raw):
        return []
    fn = _function(raw)
    options: list[Voi] = []
    for i in range(voi_count(raw)):
        w = voi_window(raw, i)
        if w is None:
            options.append(VoiLut(i))
        elif w.width > 0 and math.isfinite(w.center) and math.isfinite(w.width):
            options.append(Window(float(w.center), float(w.width), fn))
        else:  # a broken window in the file: keep the numbering, show robust percentiles
            options.append(_auto_range(raw, FilterSettings(), fn))
    return options


def voi_options(raw: RawImage) -> list[str]:
    """Human-readable list of the file's own VOI choices (index = ``voi_index``)."""
    return [] if is_color(raw) else voi_labels(raw)


def _function(raw: RawImage) -> str:
    fn = "LINEAR" if is_color(raw) else (raw.voi_lut_function or "LINEAR").upper()
    return fn if fn in ("LINEAR", "LINEAR_EXACT", "SIGMOID") else "LINEAR"


def _auto_range(raw: RawImage, settings: FilterSettings, fn: str) -> Window:
    if settings.normalise == "minmax":
        lo, hi = value_range(raw)
        return _range_window(lo, hi, fn)
    if settings.normalise == "percentile" and is_color(raw) and settings.norm_region == "body":
        # An X-ray preset (body windows) on a photo: photos are not windowed.
        return _range_window(0.0, stored_max(raw), fn)
    if settings.normalise == "percentile":
        lo_pct, hi_pct = settings.norm_low_pct, settings.norm_high_pct
    elif is_color(raw):
        return _range_window(0.0, stored_max(raw), fn)  # photos: no windowing
    elif raw.pixels.dtype.itemsize == 1:
        # 8-bit grey is display-referred already: show its full range.
        lo, hi = modality_range(raw)
        return _range_window(lo, hi, fn)
    else:
        lo_pct, hi_pct = 0.5, 99.5
    if shows_inverted(raw):
        # Percentiles count in display order: "0.5 % shown black" means the same on
        # MONOCHROME1 (where black is the high stored values).
        lo_pct, hi_pct = 100.0 - hi_pct, 100.0 - lo_pct
    region = settings.norm_region if settings.normalise == "percentile" else "image"
    lo, hi = region_percentiles(raw, lo_pct, hi_pct, region)
    return _range_window(lo, hi, fn)


def resolve_voi(raw: RawImage, settings: FilterSettings) -> Voi:
    """The VOI that ``settings`` selects for ``raw`` (see FilterSettings for the order)."""
    fn = _function(raw)
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


# --- window functions (DICOM PS3.3 C.11.2.1.2, implemented in core.imaging) ----------------
def apply_voi(raw: RawImage, voi: Voi, m: np.ndarray) -> np.ndarray:
    """Modality values -> 0..1 (float32) through ``voi``."""
    if isinstance(voi, VoiLut):
        return imaging_apply_voi(raw, m, voi.index)
    width = voi.width
    if voi.function == "LINEAR":
        width = max(width, 1.0)  # LINEAR is defined for width >= 1 (1 = a threshold)
    return apply_window(m, voi.center, width, voi.function)
