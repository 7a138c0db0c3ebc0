"""OpenCV's CLAHE for the display chain, on every core, with its output kept per window.

CLAHE is ~85 % of a full-resolution render (3000 x 3000: ~30 CPU-ms of OpenCV's 16-bit
CLAHE against ~3 ms for each LUT pass). Its input is the windowed image, so its output
depends only on the image, the render size, the window/level (VOI) and the CLAHE
parameters -- not on gamma, brightness, contrast or invert, which come after it. Keeping
the output for the last few (image, size, window, clip, tiles) therefore turns a tone
change at full resolution into one LUT pass (``render._grey``).

Bounded: at most ``MAX_ENTRIES`` outputs and ``MAX_BYTES`` in all (a 3000 x 3000 output
is 18 MB), least recently used dropped first; an entry goes with its image (weakly held).

Cores: OpenCV splits CLAHE itself (``cv::parallel_for_`` over the tiles for the tables and
over the rows for the interpolation) on ``cv2.getNumThreads()`` threads, by default one per
core, with the same output for any thread count (a test pins it). Nothing in the window's
process lowers that count (only the model workers do, in their own processes). Hand-made
bands in a thread pool would add nothing on the same cores and would not give the same
pixels: OpenCV's interpolation weights are float32 functions of the row index within the
image, so a band starting at another row rounds differently.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable

import cv2
import numpy as np

from core.filters.lut import CLAHE_STEP
from core.imaging.raw import RawImage

MAX_ENTRIES = 6
MAX_BYTES = 128 * 1024 * 1024

_lock = threading.Lock()
_entries: OrderedDict[tuple[int, Hashable], tuple[weakref.ref[RawImage], np.ndarray]] = (
    OrderedDict()
)
_stats = {"hits": 0, "misses": 0}


def apply_clahe(levels: np.ndarray, clip: float, tiles: int) -> np.ndarray:
    """OpenCV CLAHE on windowed values (uint16 multiples of CLAHE_STEP; see
    ``render._clahe`` for why the clip limit is scaled by CLAHE_STEP)."""
    clahe = cv2.createCLAHE(clipLimit=clip * CLAHE_STEP, tileGridSize=(tiles, tiles))
    return clahe.apply(np.ascontiguousarray(levels))


def cached_clahe(raw: RawImage, key: Hashable, make: Callable[[], np.ndarray]) -> np.ndarray:
    """``make()`` (the CLAHE output for ``raw`` under ``key``), computed once while kept.

    ``make`` runs outside the lock: two render threads never wait for each other's CLAHE.
    The result is read-only (shared between renders).
    """
    k = (id(raw), key)
    with _lock:
        hit = _entries.get(k)
        if hit is not None and hit[0]() is raw:
            _entries.move_to_end(k)
            _stats["hits"] += 1
            return hit[1]
    out = make()
    out.flags.writeable = False
    with _lock:
        _stats["misses"] += 1
        _entries[k] = (weakref.ref(raw), out)
        _entries.move_to_end(k)
        _trim()
    return out


def _trim() -> None:
    for k in [k for k, (ref, _) in _entries.items() if ref() is None]:
        del _entries[k]  # its image is gone (an id can be reused: never match it again)
    total = sum(a.nbytes for _, a in _entries.values())
    while _entries and (len(_entries) > MAX_ENTRIES or total > MAX_BYTES):
        _, (_, a) = _entries.popitem(last=False)
        total -= a.nbytes


def clear() -> None:
    with _lock:
        _entries.clear()
        _stats.update(hits=0, misses=0)


def stats() -> dict[str, int]:
    """Hits, misses and entries kept (tests and benchmarks read them)."""
    with _lock:
        return {**_stats, "entries": len(_entries)}
