"""CLAHE at full resolution: the cached chain against OpenCV's CLAHE alone and pyqtgraph.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/clahe.py [--runs 15] [--threads N]

All on one 3000 x 3000 14-bit synthetic radiograph (benchmarks/filters.py's phantom), in
one run, so the rows compare on the same load:

  * tone change with CLAHE on (gamma moves every frame): with the CLAHE output kept per
    window (now) and with it recomputed every frame (before: the cache cleared each frame);
  * window change with CLAHE on (the centre moves every frame: CLAHE must run), also from
    a job thread as the window renders (its interactive lane), with the OpenCV thread
    count that thread sees (the second core is lost if anything set it to 1);
  * OpenCV's 16-bit CLAHE alone on the windowed levels, on N threads and on 1 (the split
    over cores is OpenCV's own);
  * pyqtgraph's ImageItem levels + 256-entry LUT path (``ImageItem.render()`` after
    ``setLevels``: what a pyqtgraph viewer does per frame; it has no CLAHE);
  * the same frame sizes at a 1000-px preview for the ClinLens rows.
Times: wall-clock ms, median and minimum; CPU ms sums all threads (see filters.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np

from benchmarks.filters import cpu_model, phantom, timed
from core.filters import FilterSettings, render
from core.filters import clahe as clahe_cache
from core.filters import lut as lut_module
from core.filters.lut import window_lut
from core.filters.voi import resolve_voi
from core.imaging.raw import RawImage, VoiWindow

PREVIEW = 1000


def pyqtgraph_frame(px: np.ndarray, lo: float, hi: float) -> Callable[[], object]:
    """One pyqtgraph frame per call: new levels, then ImageItem.render() (levels + LUT)."""
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    item = pg.ImageItem(axisOrder="row-major")
    ramp = 1.0 - np.linspace(0.0, 1.0, 256) ** (1 / 1.3)  # gamma 1.3 + invert, like ours
    lut = np.floor(ramp * 255 + 0.5).astype(np.uint8)
    item.setImage(px, autoLevels=False, levels=(lo, hi), lut=lut, autoDownsample=False)
    step = iter(range(10**6))

    def frame() -> object:
        d = next(step) % 50
        item.setLevels((lo + d, hi))
        item.render()
        return item.qimage

    frame.app = app  # type: ignore[attr-defined]  # keep the application alive
    return frame


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--threads", type=int, default=cv2.getNumThreads(), help="OpenCV threads")
    args = ap.parse_args(argv)
    cv2.setNumThreads(args.threads)
    lut_module.set_threads(args.threads)
    load_before = os.getloadavg()

    px = phantom()
    raw = RawImage(
        pixels=px,
        source_format="dicom",
        bits_stored=14,
        photometric="MONOCHROME2",
        voi_windows=(VoiWindow(7000.0, 12000.0),),
    )
    base = FilterSettings(gamma=1.3, clahe=True, clahe_clip=2.0, invert=True)
    rows: list[tuple[str, tuple[float, float, float, float], str]] = []

    def row(name: str, fn: Callable[[], object], target: str = "") -> None:
        rows.append((name, timed(fn, args.runs), target))

    def tone_frames(size: int | None, keep: bool) -> Callable[[], object]:
        g = iter(range(10**6))

        def frame() -> object:
            if not keep:
                clahe_cache.clear()
            return render(raw, base.replace(gamma=1.0 + (next(g) % 40) / 20), size)

        return frame

    def window_frames(size: int | None) -> Callable[[], object]:
        c = iter(range(10**6))
        return lambda: render(raw, base.replace(window_center=5000.0 + next(c)), size)

    row("ClinLens, tone change, CLAHE kept (now), full res", tone_frames(None, True), "<= 20")
    row("ClinLens, tone change, CLAHE recomputed (before), full res", tone_frames(None, False))
    row("ClinLens, window change (CLAHE must run), full res", window_frames(None))
    seen: list[int] = []

    def from_job_thread(frame: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            out: list[object] = []

            def job() -> None:
                seen.append(cv2.getNumThreads())
                out.append(frame())

            t = threading.Thread(target=job)
            t.start()
            t.join()
            return out[0]

        return run

    row(
        "ClinLens, window change, full res, from a job thread (as the app)",
        from_job_thread(window_frames(None)),
    )
    row("ClinLens, tone change, CLAHE kept (now), 1000-px preview", tone_frames(PREVIEW, True))
    row("ClinLens, window change, 1000-px preview", window_frames(PREVIEW))

    levels = np.ascontiguousarray(window_lut(raw, px.dtype, resolve_voi(raw, base))[px])
    row(
        f"OpenCV CLAHE alone (16-bit, {cv2.getNumThreads()} threads), full res",
        lambda: clahe_cache.apply_clahe(levels, 2.0, 8),
    )

    def one_thread() -> object:
        cv2.setNumThreads(1)
        try:
            return clahe_cache.apply_clahe(levels, 2.0, 8)
        finally:
            cv2.setNumThreads(args.threads)

    row("OpenCV CLAHE alone (16-bit, 1 thread), full res", one_thread)
    row(
        "pyqtgraph ImageItem levels+LUT (no CLAHE), full res",
        pyqtgraph_frame(px, 2000.0, 12000.0),
    )
    load_after = os.getloadavg()
    import pyqtgraph

    print(
        f"Machine: {cpu_model()}; {os.cpu_count()} logical CPUs "
        f"(affinity {len(os.sched_getaffinity(0))}); OpenCV {cv2.__version__} "
        f"threads {cv2.getNumThreads()}; pyqtgraph {pyqtgraph.__version__}; numpy {np.__version__}"
    )
    print(f"Load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (shared machine)")
    print(f"CLAHE cache: {clahe_cache.stats()}")
    print(f"OpenCV threads seen by the job thread's renders: {sorted(set(seen))}")
    print()
    print("| case | median ms | min ms | first ms | CPU ms | target ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (first, med, best, cpu), target in rows:
        print(f"| {name} | {med:.1f} | {best:.1f} | {first:.1f} | {cpu:.1f} | {target} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
