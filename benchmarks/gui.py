"""GUI benchmark: cold start, switching to a 3000x3000 16-bit image, filter slider steps,
and the longest GUI-thread stall (timer probe), each beside a baseline measured in the same run.

Baselines (what a naive viewer does): a bare Qt window for the cold start; a synchronous
read + full-resolution render + QPixmap on the GUI thread for image switches and slider
steps. Run: ``.venv/bin/python benchmarks/gui.py [--images 4] [--steps 20] [--out FILE]``.
Offscreen platform unless QT_QPA_PLATFORM is set (the numbers are CPU-bound either way).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TARGETS = {"start": 1.0, "switch": 0.150, "slider": 0.030, "stall": 0.050}


# --- cold start -------------------------------------------------------------------------------
def _cold_start(project: Path | None, data_dir: Path) -> dict:
    probe = data_dir / f"probe-{time.monotonic_ns()}.json"
    env = dict(os.environ, CLINLENS_DATA_DIR=str(data_dir), CLINLENS_STARTUP_PROBE=str(probe))
    args = [sys.executable, "main.py"] + ([str(project)] if project else [])
    t0 = time.time()
    subprocess.run(args, cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    result = json.loads(probe.read_text())
    return {"seconds": result["wall_time"] - t0, "heavy": result["heavy_modules"]}


_BARE = (
    "import sys, time, json; from PySide6.QtWidgets import QApplication, QMainWindow;"
    "from PySide6.QtCore import QTimer; a = QApplication(sys.argv); w = QMainWindow(); w.show();"
    "QTimer.singleShot(0, lambda: (print(json.dumps(time.time())), a.quit())); a.exec()"
)


def _bare_start() -> float:
    t0 = time.time()
    out = subprocess.run(
        [sys.executable, "-c", _BARE], capture_output=True, text=True, check=True, timeout=60
    )
    return float(out.stdout.strip().splitlines()[-1]) - t0


# --- in-process measurements ------------------------------------------------------------------
class StallProbe:
    """A 5 ms QTimer; the longest gap between its ticks is the longest GUI-thread stall."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)
        self.last = 0.0
        self.max_gap = 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.last:
            self.max_gap = max(self.max_gap, now - self.last)
        self.last = now

    def start(self) -> None:
        self.last, self.max_gap = 0.0, 0.0
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        return self.max_gap


def _wait(app, cond, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.perf_counter() + timeout
    while not cond():
        if time.perf_counter() > deadline:
            raise TimeoutError("benchmark step timed out")
        app.processEvents()
        time.sleep(0.0005)


def _make_project(folder: Path, n: int) -> Path:
    """n 3000x3000 16-bit phantoms: half DICOM/TIFF (demo writer), half 16-bit PNG (the
    slowest common format to decode, where a synchronous viewer stalls most)."""
    import cv2

    from core.annotations import builtin_label_set
    from core.demo import make_demo_files, make_phantom
    from core.project_io import import_images
    from core.store import Project

    images = folder / "images"
    make_demo_files(images, n_xrays=max(1, n // 2), size=(3000, 3000))
    for i in range(n - max(1, n // 2)):
        pixels, _boxes = make_phantom(100 + i, 3000, 3000)
        cv2.imwrite(str(images / f"png16_{i}.png"), pixels)
    with Project.create(folder, label_set=builtin_label_set("xray"), scales=[], name="bench") as p:
        import_images(p, [images])
    return folder


def _png_reads(folder: Path, repeats: int = 7) -> list[tuple[str, float, float]]:
    """core.imaging on 3000x3000 16-bit PNGs beside the previous reader, which asked
    Pillow's ``getexif()`` for the orientation (a full decode of every PNG), then decoded."""
    import cv2
    import numpy as np
    from PIL import Image

    from core.demo import make_phantom
    from core.imaging import read, read_header

    grey, _boxes = make_phantom(7, 3000, 3000)
    files = {"grey": folder / "grey16.png", "rgb": folder / "rgb48.png"}
    cv2.imwrite(str(files["grey"]), grey)
    cv2.imwrite(str(files["rgb"]), np.dstack([grey, grey // 2, grey // 3]))

    def previous_read(path: Path) -> None:
        with Image.open(path) as im:
            im.getexif()  # PngImageFile.getexif(): load() decodes all pixels
            if im.mode in ("I;16", "I;16B", "I"):
                np.asarray(im).astype(np.uint16)
            else:  # 16-bit colour: Pillow keeps 8 bits, so OpenCV decoded it again
                cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)

    def previous_header(path: Path) -> None:
        with Image.open(path) as im:
            im.getexif()

    def median_ms(fn, path: Path) -> float:  # type: ignore[no-untyped-def]
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn(path)
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    return [
        (
            "read a 16-bit grey PNG",
            median_ms(read, files["grey"]),
            median_ms(previous_read, files["grey"]),
        ),
        (
            "read a 16-bit RGB PNG",
            median_ms(read, files["rgb"]),
            median_ms(previous_read, files["rgb"]),
        ),
        (
            "read_header of a 16-bit grey PNG (import, per file)",
            median_ms(read_header, files["grey"]),
            median_ms(previous_header, files["grey"]),
        ),
        (
            "read_header of a 16-bit RGB PNG (import, per file)",
            median_ms(read_header, files["rgb"]),
            median_ms(previous_header, files["rgb"]),
        ),
    ]


def _switch_until(app, window, xray_rows: list[int], done) -> list[float]:  # type: ignore[no-untyped-def]
    """Switch images as fast as the window shows them (each at full resolution) until done()."""
    switches: list[float] = []
    i = 0
    while not done():
        row = xray_rows[i % len(xray_rows)]
        if row == window.images.current_row():
            row = xray_rows[(i + 1) % len(xray_rows)]
        i += 1
        shown: list[int] = []
        window.display.image_loaded.connect(lambda loaded, s=shown: s.append(1))
        t1 = time.perf_counter()
        window.images.select_row(row)
        _wait(app, lambda s=shown: bool(s), 60)
        switches.append(time.perf_counter() - t1)
        window.display.image_loaded.disconnect()
        window.display.image_loaded.connect(window._on_image_loaded)
        _wait(app, lambda: done() or "full" in window.canvas.image_item.frames, 60)
    return switches


def _batch(app, window, xray_rows: list[int], probe: StallProbe, switching: bool) -> dict:  # type: ignore[no-untyped-def]
    """Suggestions for every image in the background, the user idle or switching images."""
    window.suggestions.refresh_status()
    probe.start()
    t0 = time.perf_counter()
    job = window.suggestions.suggest_unreviewed()
    if switching:
        switches = _switch_until(app, window, xray_rows, lambda: job.done)
    else:
        switches = []
        _wait(app, lambda: job.done, 600)
    seconds = time.perf_counter() - t0
    stall = probe.stop()
    if job.state != "succeeded":
        raise RuntimeError(f"suggestion batch {job.state}: {job.error}")
    n = len(window.project.image_ids())
    return {"seconds": seconds, "images": n, "stall": stall, "switches": switches}


def _switching_alone(app, window, xray_rows: list[int], probe: StallProbe, seconds: float) -> dict:  # type: ignore[no-untyped-def]
    probe.start()
    deadline = time.perf_counter() + seconds
    switches = _switch_until(app, window, xray_rows, lambda: time.perf_counter() > deadline)
    return {"stall": probe.stop(), "switches": switches}


def _in_thread_detector(project, device):  # type: ignore[no-untyped-def]
    """The previous design's detector factory: torch imported in this process's job thread."""
    from app.jobs.heavy_imports import import_quietly
    from ml import offline

    import_quietly(("torch", offline.configure, "ultralytics", "ml.suggest"))
    from ml.suggest import cached_detector

    return cached_detector(project, device=device)


def _interactive(project_dir: Path, steps: int, model: Path | None = None) -> dict:
    from PySide6.QtWidgets import QApplication

    from app.canvas import Frame, to_bgra
    from app.controllers.suggestion_backends import InThreadBackend
    from app.docks.image_list_model import ThumbnailRole
    from app.launch import create_application, settle_heap
    from app.main_window import MainWindow

    app = create_application()
    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    settle_heap()  # as app.launch.start_gui does
    probe = StallProbe()
    res: dict = {"switch_cold": [], "switch_prefetched": [], "slider": [], "stall": {}}
    # Opening: first image on the canvas, then the list's thumbnails (made in the idle lane
    # once the viewer is done; none cached yet).
    rows_model = window.images.model
    probe.start()
    t0 = time.perf_counter()
    window.open_project(project_dir)
    _wait(app, lambda: window.display.raw is not None)
    res["open_first_image"] = time.perf_counter() - t0
    _wait(
        app,
        lambda: all(rows_model.index(r).data(ThumbnailRole) for r in range(rows_model.rowCount())),
    )
    res["open_thumbnails"] = time.perf_counter() - t0
    res["stall"]["opening the project (first image, then list thumbnails)"] = probe.stop()
    xray_rows = [
        r
        for r in range(window.images.model.rowCount())
        if window.images.model.record(r).width == 3000
    ]

    # Image switches, every image decoded for the first time (cache emptied), then A/D style
    # with the next image prefetched while the user looks at the current one.
    probe.start()
    for prefetched in (False, True):
        for row in xray_rows[1:] + xray_rows[:1]:
            if not prefetched:
                window.display.forget()
            else:
                _wait(app, lambda: len(window.display._cache) >= 2, 20)
            shown: list[int] = []
            window.display.image_loaded.connect(lambda loaded, s=shown: s.append(1))
            t0 = time.perf_counter()
            window.images.select_row(row)
            _wait(app, lambda s=shown: bool(s))
            elapsed = time.perf_counter() - t0
            res["switch_prefetched" if prefetched else "switch_cold"].append(elapsed)
            window.display.image_loaded.disconnect()
            window.display.image_loaded.connect(window._on_image_loaded)
            _wait(app, lambda: "full" in window.canvas.image_item.frames)
    res["stall"]["switching images"] = probe.stop()

    # Slider steps: what the user sees per step while dragging (preview render + display),
    # once plain and once with CLAHE on (the heaviest filter).
    slider = window.filters.brightness.slider
    for key, clahe in (("slider", False), ("slider_clahe", True)):
        if clahe:
            window.filters.clahe.setChecked(True)
            _wait(app, lambda: "full" in window.canvas.image_item.frames)
        res.setdefault(key, [])
        slider.setSliderDown(True)
        probe.start()
        for i in range(steps):
            got: list[str] = []
            window.display.frame_shown.connect(lambda kind, g=got: g.append(kind))
            t0 = time.perf_counter()
            slider.setValue(300 + (i * 37) % 400)
            _wait(app, lambda g=got: "preview" in g)
            res[key].append(time.perf_counter() - t0)
            window.display.frame_shown.disconnect()
        slider.setSliderDown(False)
        _wait(app, lambda: "full" in window.canvas.image_item.frames)
        res["stall"]["dragging a filter slider" + (" (CLAHE on)" if clahe else "")] = probe.stop()

    # Baseline: the naive synchronous path on the GUI thread.
    from PySide6.QtGui import QPixmap

    from core.filters import default_settings, render
    from core.imaging import read

    paths = [window.project.image_path(window.images.model.record(r)) for r in xray_rows]
    base_switch, base_slider = [], []
    probe.start()
    for path in paths:
        t0 = time.perf_counter()
        raw = read(path)
        frame = Frame(to_bgra(render(raw, default_settings(raw))))
        QPixmap.fromImage(frame.image)
        base_switch.append(time.perf_counter() - t0)
        app.processEvents()
    base_clahe = []
    settings = default_settings(raw)
    for series, clahe in ((base_slider, False), (base_clahe, True)):
        for i in range(min(steps, 10)):
            t0 = time.perf_counter()
            changed = settings.replace(brightness=(i % 5) / 10 + 0.01 * i, clahe=clahe)
            frame = Frame(to_bgra(render(raw, changed)))
            QPixmap.fromImage(frame.image)
            series.append(time.perf_counter() - t0)
            app.processEvents()
    res["baseline_slider_clahe"] = base_clahe
    res["stall"]["baseline (synchronous)"] = probe.stop()
    res["baseline_switch"] = base_switch
    res["baseline_slider"] = base_slider
    if model is not None:
        from ml import registry

        registry.import_model(window.project.folder, model, "detector", "bench", inspect=False)
        stall = res["stall"]
        first = _batch(app, window, xray_rows, probe, switching=False)
        stall["first suggestion batch of the session, user idle (starts the detector process)"] = (
            first["stall"]
        )
        res["batch_idle"] = _batch(app, window, xray_rows, probe, switching=False)
        stall["later suggestion batch, user idle"] = res["batch_idle"]["stall"]
        res["batch"] = _batch(app, window, xray_rows, probe, switching=True)
        stall["suggestion batch, user switching images non-stop"] = res["batch"]["stall"]
        alone = _switching_alone(app, window, xray_rows, probe, res["batch"]["seconds"])
        stall["baseline: switching images non-stop as long, no batch"] = alone["stall"]
        res["torch_in_gui"] = "torch" in sys.modules
        # Baseline, same run: the previous design, the detector in a job thread of this
        # process (torch imported there, with the ctypes preload and paused collector).
        window.suggestions.set_backend(InThreadBackend(_in_thread_detector))
        old_first = _batch(app, window, xray_rows, probe, switching=False)
        stall["baseline: first batch, user idle, detector in a GUI-process thread"] = old_first[
            "stall"
        ]
        res["old_batch"] = _batch(app, window, xray_rows, probe, switching=False)
        stall["baseline: later batch, user idle, detector in a GUI-process thread"] = res[
            "old_batch"
        ]["stall"]
    window.close()
    QApplication.processEvents()
    return res


def _fmt_ms(v: float) -> str:
    return f"{v * 1000:.0f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--images", type=int, default=4, help="3000x3000 16-bit phantoms to switch between"
    )
    ap.add_argument("--steps", type=int, default=20, help="slider steps")
    ap.add_argument("--starts", type=int, default=3, help="cold starts (median)")
    ap.add_argument("--out", type=Path, default=None, help="write the Markdown table here")
    ap.add_argument(
        "--no-model",
        action="store_true",
        help="skip the suggestion batch (it trains a tiny YOLO from tests/ml/conftest.py first)",
    )
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        project = _make_project(tmp_path / "bench-project", args.images)
        data = tmp_path / "data"
        data.mkdir()
        starts = [_cold_start(project, data) for _ in range(args.starts)]
        starts_noargs = [_cold_start(None, data) for _ in range(args.starts)]
        bare = [_bare_start() for _ in range(args.starts)]
        os.environ["CLINLENS_DATA_DIR"] = str(data)
        model = None
        if not args.no_model:
            # Trained in a child process, so this one has not imported torch yet and the
            # first batch measures the cost of loading it in the worker thread.
            code = (
                "import sys; from pathlib import Path; from tests.ml.conftest import train_tiny_yolo;"
                "print(train_tiny_yolo(Path(sys.argv[1])))"
            )
            out = subprocess.run(
                [sys.executable, "-c", code, str(tmp_path / "tiny-yolo")],
                cwd=ROOT,
                env=dict(os.environ, PYTHONPATH=str(ROOT)),
                capture_output=True,
                text=True,
                check=True,
            )
            model = Path(out.stdout.strip().splitlines()[-1])
        inter = _interactive(project, args.steps, model)
        png_rows = _png_reads(tmp_path)

    med = statistics.median
    rows = [
        (
            "cold start to usable window, `python main.py` (last project)",
            med(s["seconds"] for s in starts_noargs),
            med(bare),
            TARGETS["start"],
        ),
        (
            "cold start to usable window, `python main.py PROJECT_DIR`",
            med(s["seconds"] for s in starts),
            med(bare),
            TARGETS["start"],
        ),
        (
            "switch to a 3000x3000 16-bit image, first decode (median)",
            med(inter["switch_cold"]),
            med(inter["baseline_switch"]),
            TARGETS["switch"],
        ),
        (
            "switch to a 3000x3000 16-bit image, first decode (worst)",
            max(inter["switch_cold"]),
            max(inter["baseline_switch"]),
            TARGETS["switch"],
        ),
        (
            "switch with the next image prefetched (A/D), median",
            med(inter["switch_prefetched"]),
            med(inter["baseline_switch"]),
            TARGETS["switch"],
        ),
        (
            "filter slider step on it (median)",
            med(inter["slider"]),
            med(inter["baseline_slider"]),
            TARGETS["slider"],
        ),
        (
            "filter slider step on it (worst)",
            max(inter["slider"]),
            max(inter["baseline_slider"]),
            TARGETS["slider"],
        ),
        (
            "filter slider step, CLAHE on (median)",
            med(inter["slider_clahe"]),
            med(inter["baseline_slider_clahe"]),
            TARGETS["slider"],
        ),
        (
            "filter slider step, CLAHE on (worst)",
            max(inter["slider_clahe"]),
            max(inter["baseline_slider_clahe"]),
            TARGETS["slider"],
        ),
    ]
    batch = inter.get("batch")
    if batch:
        rows.append(
            (
                "switch to a 3000x3000 image while a suggestion batch runs (median)",
                med(batch["switches"]),
                med(inter["baseline_switch"]),
                TARGETS["switch"],
            )
        )
    heavy = sorted({m for s in starts + starts_noargs for m in s["heavy"]})
    lines = [
        "# GUI benchmark",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"Qt platform `{os.environ.get('QT_QPA_PLATFORM')}`. Command: `.venv/bin/python benchmarks/gui.py "
        f"--images {args.images} --steps {args.steps} --starts {args.starts}`.",
        "",
        "Baselines, same run: a bare PySide6 window (start); the naive synchronous path "
        "(read + full-resolution render + QPixmap on the GUI thread) for switches and slider steps.",
        "",
        "| measure | ClinLens ms | baseline ms | target ms | met |",
        "|---|---:|---:|---:|:-:|",
    ]
    for name, value, base, target in rows:
        lines.append(
            f"| {name} | {_fmt_ms(value)} | {_fmt_ms(base)} | {_fmt_ms(target)} | {'yes' if value <= target else 'NO'} |"
        )
    lines += [
        "",
        "Longest GUI-thread stall (5 ms timer probe):",
        "",
        "| flow | max stall ms | target ms | met |",
        "|---|---:|---:|:-:|",
    ]
    for flow, gap in inter["stall"].items():
        target = "" if flow.startswith("baseline") else _fmt_ms(TARGETS["stall"])
        met = "" if flow.startswith("baseline") else ("yes" if gap <= TARGETS["stall"] else "NO")
        lines.append(f"| {flow} | {_fmt_ms(gap)} | {target} | {met} |")
    lines += [
        "",
        f"Opening the project: first image on the canvas after "
        f"{inter['open_first_image'] * 1000:.0f} ms; the list's thumbnails of all "
        f"{args.images} images (none cached yet) after {inter['open_thumbnails'] * 1000:.0f} ms.",
        "",
        "PNG reading (3000x3000, median of 7), beside the previous reader in the same run:",
        "",
        "| measure | ClinLens ms | previous reader ms |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {_fmt_ms(v)} | {_fmt_ms(b)} |" for name, v, b in png_rows]
    if batch:
        idle, old = inter["batch_idle"], inter["old_batch"]
        lines += [
            "",
            f"Suggestion batches (tiny YOLO from tests/ml/conftest.py, CPU, {idle['images']} images "
            f"of 3000x3000): user idle, {idle['images'] / idle['seconds']:.2f} images/s in the "
            f"detector process ({old['images'] / old['seconds']:.2f} images/s in a GUI-process "
            f"thread, same run); {batch['seconds']:.1f} s while the user switched images "
            f"{len(batch['switches'])} times. torch imported in the GUI process by the detector "
            f"process's batches: {'yes' if inter['torch_in_gui'] else 'no'}.",
        ]
    lines += [
        "",
        f"Heavy modules loaded at start: {', '.join(heavy) if heavy else 'none (torch/ultralytics not imported)'}.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
