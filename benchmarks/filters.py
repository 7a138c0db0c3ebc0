"""Display pipeline speed: ClinLens render() against baselines measured in the same run.

    .venv/bin/python benchmarks/filters.py [--runs 21] [--threads 2]

Rows (3000 x 3000 uint16 synthetic radiograph unless noted):
  * ClinLens full chain (window/level + gamma + CLAHE + invert) at full resolution and at a
    1000-px preview; the same without CLAHE;
  * scikit-image ``equalize_adapthist`` on the same image (CLAHE only; fewer runs: slow);
  * a naive float64 implementation of window/level + gamma + invert (no CLAHE);
  * open-to-first-render of pydicom-data's RG1_UNCR.dcm (1955 x 1841 CR): read + render at a
    1000-px screen size and at full resolution.
Times are wall-clock milliseconds: median and minimum of N runs (the minimum shows what the
code costs when the shared machine is quiet). Targets are for 2 cores.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Thread pools read these at import: set them before numpy/OpenCV load.
_THREADS = "2"
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, _THREADS)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from core.filters import FilterSettings, render  # noqa: E402
from core.filters import lut as lut_module  # noqa: E402
from core.imaging import read  # noqa: E402
from core.imaging.raw import RawImage, VoiWindow  # noqa: E402

SIZE = 3000
PREVIEW = 1000


def phantom(n: int = SIZE, seed: int = 0) -> np.ndarray:
    """14-bit radiograph-like image: air, a body ellipse, two long bones, a metal block,
    blur and quantum-like noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:n, 0:n].astype(np.float32) / np.float32(n)
    img = np.full((n, n), 800.0, np.float32)
    body = ((x - 0.5) / 0.38) ** 2 + ((y - 0.5) / 0.46) ** 2 < 1
    img[body] += 5000 + 1500 * np.cos(6 * x[body])
    for cx in (0.35, 0.65):
        img[(np.abs(x - cx) < 0.04) & (np.abs(y - 0.5) < 0.4)] += 4000
    img[(np.abs(x - 0.5) < 0.02) & (np.abs(y - 0.3) < 0.05)] = 15000
    img = cv2.GaussianBlur(img, (0, 0), 3)
    img += rng.normal(0, 120, img.shape).astype(np.float32)
    return np.clip(img, 0, 16383).astype(np.uint16)


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float, float, float]:
    """(first, median, min, median CPU) ms. The first call is timed separately (cold caches).
    CPU time sums all threads of the process: on a busy shared machine it stays put while
    wall time grows, which tells load apart from the code's own cost."""
    t0 = time.perf_counter()
    fn()
    first = (time.perf_counter() - t0) * 1000
    wall, cpu = [], []
    for _ in range(runs):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return first, statistics.median(wall), min(wall), statistics.median(cpu)


def naive_float(pixels: np.ndarray, center: float, width: float, gamma: float) -> np.ndarray:
    """The textbook implementation: float64 per pixel, no lookup table."""
    v = (pixels.astype(np.float64) - (center - 0.5)) / (width - 1.0) + 0.5
    v = np.clip(v, 0.0, 1.0)
    v = 1.0 - v
    v = v ** (1.0 / gamma)
    return (v * 255.0 + 0.5).astype(np.uint8)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=21, help="timed runs per ClinLens row")
    ap.add_argument("--threads", type=int, default=int(_THREADS), help="OpenCV/LUT threads")
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
    full_chain = FilterSettings(gamma=1.3, clahe=True, clahe_clip=2.0, invert=True)
    no_clahe = full_chain.replace(clahe=False)

    rows: list[tuple[str, tuple[float, float, float, float], str, int]] = []

    def row(name: str, fn: Callable[[], object], target: str = "", runs: int = args.runs) -> None:
        rows.append((name, timed(fn, runs), target, runs))

    row("ClinLens full chain, full res 3000x3000", lambda: render(raw, full_chain), "<= 20")
    row("ClinLens full chain, 1000-px preview", lambda: render(raw, full_chain, PREVIEW), "<= 8")

    def fresh() -> RawImage:  # same pixels, new object: no LUT/preview caches apply
        return dataclasses.replace(raw)

    row(
        "ClinLens full chain, full res, cold (new image object each run)",
        lambda: render(fresh(), full_chain),
    )
    row(
        "ClinLens full chain, 1000-px preview, cold (new image object each run)",
        lambda: render(fresh(), full_chain, PREVIEW),
    )
    drag = iter(range(10**6))
    row(
        "ClinLens full chain, preview, window dragged (new LUTs every frame)",
        lambda: render(
            raw,
            full_chain.replace(window_center=5000.0 + next(drag), window_width=12000.0),
            PREVIEW,
        ),
        "<= 8",
    )
    row("ClinLens W/L+gamma+invert (no CLAHE), full res", lambda: render(raw, no_clahe))
    row("ClinLens W/L+gamma+invert (no CLAHE), preview", lambda: render(raw, no_clahe, PREVIEW))

    from skimage.exposure import equalize_adapthist

    row(
        "baseline: skimage equalize_adapthist (CLAHE only)",
        lambda: equalize_adapthist(px, clip_limit=0.01),
        runs=3,
    )
    row(
        "baseline: naive float64 W/L+gamma+invert",
        lambda: naive_float(px, 7000.0, 12000.0, 1.3),
        runs=5,
    )
    row(
        "baseline: cv2 8-bit CLAHE after naive float W/L",
        lambda: cv2.createCLAHE(2.0, (8, 8)).apply(naive_float(px, 7000.0, 12000.0, 1.0)),
        runs=5,
    )

    from pydicom.data import get_testdata_file

    rg1 = get_testdata_file("RG1_UNCR.dcm")
    if rg1 is not None:
        default = FilterSettings()
        row("RG1_UNCR read only", lambda: read(rg1))
        row(
            "RG1_UNCR open-to-first-render, 1000-px screen",
            lambda: render(read(rg1), default, PREVIEW),
            "<= 150",
        )
        row("RG1_UNCR open-to-first-render, full res", lambda: render(read(rg1), default), "<= 150")
    load_after = os.getloadavg()

    print(
        f"Machine: {cpu_model()}; {os.cpu_count()} logical CPUs "
        f"(affinity {len(os.sched_getaffinity(0))}); {platform.system()} {platform.release()}"
    )
    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, OpenCV {cv2.__version__} "
        f"(threads {cv2.getNumThreads()}, 16-bit cv2.LUT {lut_module.HAS_CV2_LUT16}), "
        f"LUT threads {lut_module.lut_threads()}"
    )
    print(f"Load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (shared machine)")
    print()
    print(
        "| case | median ms | min ms | first call ms | CPU ms (all threads) | runs | target ms | met |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|:---:|")
    for name, (first, med, best, cpu), target, runs in rows:
        met = ""
        if target:
            limit = float(target.split()[-1])
            met = "yes" if med <= limit else ("min only" if best <= limit else "no")
        print(
            f"| {name} | {med:.1f} | {best:.1f} | {first:.1f} | {cpu:.1f} | {runs} | {target} | {met} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
