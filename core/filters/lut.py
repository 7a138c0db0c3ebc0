"""Lookup tables: the whole per-pixel chain folded into one table indexed by stored value.

For 8/16-bit data every display operation except CLAHE is a function of the stored value
alone, so we evaluate it once per possible value (256 or 65,536 entries, ~1 ms) and apply
it in one pass with ``cv2.LUT`` (recent OpenCV, e.g. 4.14 and 5.x, accepts 16-bit input
with a 65,536-entry table: ~1 ms for 9 Mpx on two cores); where an older OpenCV refuses
16-bit input, chunked multi-threaded ``np.take`` (~3.5 ms) does the same.
"""

from __future__ import annotations

import functools
import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from core.filters.settings import FilterSettings
from core.filters.voi import Voi, VoiLut, Window, apply_voi, cached, modality_of
from core.imaging.raw import RawImage

# CLAHE works on the windowed values quantised to this many levels, spaced evenly over the
# full 16-bit range (see render._clahe for why).
CLAHE_LEVELS = 1024
CLAHE_STEP = 65536 // CLAHE_LEVELS

LUT_DTYPES = (np.dtype(np.uint8), np.dtype(np.int8), np.dtype(np.uint16), np.dtype(np.int16))


def _probe_cv2_lut16() -> bool:
    try:
        probe = cv2.LUT(np.arange(4, dtype=np.uint16), np.zeros(65536, np.uint8))
        return probe.dtype == np.uint8
    except cv2.error:
        return False


HAS_CV2_LUT16 = _probe_cv2_lut16()


def lut_index_values(dtype: np.dtype) -> np.ndarray:
    """The stored value behind every LUT index. Signed data is indexed by its bit pattern
    (what cv2.LUT and a uint view do), so index 65535 is the int16 value -1."""
    if dtype.itemsize == 1:
        return np.arange(256, dtype=np.uint8).view(dtype)
    return np.arange(65536, dtype=np.uint16).view(dtype)


def apply_lut(pixels: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """``lut[pixels]`` for 8/16-bit pixels (signed ones by bit pattern); new array."""
    if pixels.dtype.itemsize == 1:
        src = np.ascontiguousarray(pixels).view(np.uint8)
        if lut.dtype.itemsize == 1:
            return cv2.LUT(src, lut)
        return np.take(lut, src)
    src = np.ascontiguousarray(pixels).view(np.uint16)
    if HAS_CV2_LUT16 and lut.dtype in (np.uint8, np.uint16):
        return cv2.LUT(src, lut)
    return _take16(lut, src)


# np.take converts its indices to intp first (a 72 MB temporary for 9 Mpx, single-threaded
# under the GIL); in cache-sized chunks that conversion stays in L2, and the gather itself
# releases the GIL, so two threads on halves of the image nearly halve the time:
# 3000x3000 uint16 -> uint8 ~12 ms plain, ~3.5 ms chunked on 2 threads.
_CHUNK = 1 << 16
_PARALLEL_MIN = 1 << 19
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


_threads = max(1, min(4, os.cpu_count() or 1))


def set_threads(n: int) -> None:
    """How many threads 16-bit lookups use (benchmarks pin this; default: cores, max 4)."""
    global _threads, _pool
    with _pool_lock:
        _threads = max(1, int(n))
        if _pool is not None:
            _pool.shutdown(wait=False)
            _pool = None


def lut_threads() -> int:
    return _threads


def _workers() -> int:
    return _threads


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_threads, thread_name_prefix="clinlens-lut")
        return _pool


def _take_range(lut: np.ndarray, src: np.ndarray, out: np.ndarray, start: int, stop: int) -> None:
    for s in range(start, stop, _CHUNK):
        e = min(s + _CHUNK, stop)
        np.take(lut, src[s:e], out=out[s:e])


def _take16(lut: np.ndarray, src: np.ndarray) -> np.ndarray:
    out = np.empty(src.shape, dtype=lut.dtype)
    flat_src, flat_out = src.reshape(-1), out.reshape(-1)
    n = flat_src.size
    workers = _workers()
    if n < _PARALLEL_MIN or workers == 1:
        _take_range(lut, flat_src, flat_out, 0, n)
        return out
    bounds = [n * i // workers for i in range(workers + 1)]
    futures = [
        _get_pool().submit(_take_range, lut, flat_src, flat_out, a, b)
        for a, b in itertools.pairwise(bounds)
    ]
    for f in futures:
        f.result()
    return out


# --- tone: invert, brightness/contrast, gamma on 0..1 --------------------------------------
def tone(v: np.ndarray, settings: FilterSettings, invert: bool) -> np.ndarray:
    """Displayed-brightness adjustments on 0..1 values (float64).

    Invert comes first so brightness and gamma always act on what the viewer sees (on a
    MONOCHROME1 image "brighter" must not mean "darker")."""
    if invert:
        v = 1.0 - v
    if settings.contrast != 1.0 or settings.brightness != 0.0:
        v = np.clip((v - 0.5) * settings.contrast + 0.5 + settings.brightness, 0.0, 1.0)
    if settings.gamma != 1.0:
        v = np.power(v, 1.0 / settings.gamma)
    return v


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False  # cached and shared between renders and threads
    return a


def to_u8(v: np.ndarray) -> np.ndarray:
    return np.floor(v * 255.0 + 0.5).astype(np.uint8)


def voi_key(voi: Voi) -> tuple[object, ...]:
    if isinstance(voi, VoiLut):
        return ("voilut", voi.index)
    assert isinstance(voi, Window)
    return ("win", voi.center, voi.width, voi.function)


def _tone_key(settings: FilterSettings, invert: bool) -> tuple[object, ...]:
    return (settings.brightness, settings.contrast, settings.gamma, invert)


def _modality_ramp(raw: RawImage, dtype: np.dtype) -> np.ndarray:
    """Modality value of every LUT index (shared by all LUTs of one image: while a window
    slider moves only the VOI and tone are recomputed)."""

    def make() -> np.ndarray:
        return _frozen(modality_of(raw, lut_index_values(dtype)))

    return cached(raw, ("modality", dtype.str), make)  # type: ignore[no-any-return]


def display_lut(
    raw: RawImage, dtype: np.dtype, voi: Voi, settings: FilterSettings, invert: bool
) -> np.ndarray:
    """Stored value -> uint8: modality + VOI + invert + brightness/contrast + gamma."""

    def make() -> np.ndarray:
        m = _modality_ramp(raw, dtype)
        return _frozen(to_u8(tone(apply_voi(raw, voi, m), settings, invert)))

    key = ("display", dtype.str, voi_key(voi), _tone_key(settings, invert))
    return cached(raw, key, make)  # type: ignore[no-any-return]


def window_lut(raw: RawImage, dtype: np.dtype, voi: Voi) -> np.ndarray:
    """Stored value -> uint16 CLAHE input: modality + VOI, quantised to CLAHE_LEVELS."""

    def make() -> np.ndarray:
        m = _modality_ramp(raw, dtype)
        return _frozen(to_clahe_levels(apply_voi(raw, voi, m)))

    return cached(raw, ("window16", dtype.str, voi_key(voi)), make)  # type: ignore[no-any-return]


def to_clahe_levels(v: np.ndarray) -> np.ndarray:
    q = np.floor(v * (CLAHE_LEVELS - 1) + 0.5).astype(np.uint16)
    return q * np.uint16(CLAHE_STEP)


def tone_lut16(settings: FilterSettings, invert: bool) -> np.ndarray:
    """CLAHE output (uint16, full range) -> uint8 through invert/brightness/contrast/gamma."""
    return _tone_lut16(*_tone_key(settings, invert))


@functools.lru_cache(maxsize=16)
def _tone_lut16(brightness: float, contrast: float, gamma: float, invert: bool) -> np.ndarray:
    s = FilterSettings(brightness=brightness, contrast=contrast, gamma=gamma)
    lut = to_u8(tone(np.arange(65536, dtype=np.float64) / 65535.0, s, invert))
    lut.flags.writeable = False  # shared between calls and threads
    return lut
