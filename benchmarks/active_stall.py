"""The GUI's longest event-loop stall while Review next's scores are computed (#12, <= 50 ms).

    .venv/bin/python benchmarks/active_stall.py [--images 300] [--reviewed 19700] [--out FILE]

The real window (``MainWindow``, offscreen) on a project of ``--images`` unreviewed
256 x 256 16-bit phantoms plus ``--reviewed`` reviewed image rows that already carry a
stored score (so the list and the score table have the size of a large project), a tiny
YOLO trained in a child process and imported as the active detector. Each run is watched
by the same 5 ms QTimer probe (``gui.StallProbe``: the longest gap between its ticks is
the longest GUI-thread stall):

* **idle baseline**: the window open, nothing running, for as long as a scoring takes;
* **scoring**: what a promotion starts (``ActiveLearningUI._on_models_changed``): the
  unscored images found, scored in the detector process (torch never in this process) in
  requests of 4, stored by the job's thread, then the list given the new scores; the
  probe runs until the job has finished and one more second;
* **scoring + Review next**: the same while the user presses N every 400 ms;
* **before**: the scoring run with the previous end of job (every score re-read on the
  GUI thread when the job finished), to show what the change removed.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("CLINLENS_DEVICE", "cpu")

TARGET_S = 0.050


def make_project(folder: Path, n: int, reviewed: int) -> Path:
    import numpy as np
    import tifffile

    from core.annotations import builtin_label_set
    from core.store import NewImage, Project
    from tests.ml.conftest import make_phantom, random_boxes

    images = folder / "images"
    images.mkdir(parents=True)
    rng = np.random.default_rng(0)
    items = []
    for i in range(n):
        px = make_phantom(rng, 256, 256, random_boxes(rng, 256, 256, int(rng.integers(0, 3))))
        path = images / f"u{i:04d}.tif"
        tifffile.imwrite(path, px)
        items.append(NewImage(str(path), 256, 256, bit_depth=16))
    with Project.create(folder, label_set=builtin_label_set("xray"), scales=[]) as p:
        p.add_images(items)
        # Reviewed rows need no pixels: they are never scored again, only listed.
        done = p.add_images(
            [
                NewImage(str(images / f"r{i:05d}.tif"), 256, 256, bit_depth=16)
                for i in range(reviewed)
            ]
        )
        with p.batch():
            for i in done:
                p.set_review_status(i, "done")
    return folder


class Watchdog:
    """``--watchdog``: a thread that samples the GUI thread's stack whenever the probe's
    heartbeat is older than ``after`` seconds: where a stall was spent (the probe only says
    how long)."""

    def __init__(self, probe: Any, after: float = 0.06) -> None:
        import threading

        self.probe, self.after = probe, after
        self.main = threading.main_thread().ident
        self.samples: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import traceback

        while not self._stop.wait(0.01):
            last = self.probe.last
            if last and time.perf_counter() - last > self.after:
                frame = sys._current_frames().get(self.main)
                if frame is not None:
                    stack = traceback.extract_stack(frame)[-6:]
                    key = " <- ".join(
                        f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(stack)
                    )
                    self.samples[key] = self.samples.get(key, 0) + 1

    def report(self, top: int = 8) -> str:
        rows = sorted(self.samples.items(), key=lambda kv: -kv[1])[:top]
        return "\n".join(f"{n * 10:>5} ms  {k}" for k, n in rows)

    def stop(self) -> None:
        self._stop.set()


def _run_until(done: Any, timeout: float) -> None:
    """Run the event loop (no processEvents polling) until ``done()`` or the timeout."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    check = QTimer()
    check.setInterval(20)
    check.timeout.connect(lambda: loop.quit() if done() else None)
    QTimer.singleShot(int(timeout * 1000), loop.quit)
    check.start()
    loop.exec()
    check.stop()
    if not done():
        raise TimeoutError("benchmark step timed out")


def _sleep(seconds: float) -> None:
    end = time.perf_counter() + seconds
    _run_until(lambda: time.perf_counter() >= end, seconds + 5)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=300, help="unreviewed images to score")
    ap.add_argument("--reviewed", type=int, default=19_700, help="reviewed rows with scores")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--watchdog", action="store_true", help="print where stalls were spent")
    ap.add_argument("--no-before", action="store_true", help="skip the 'before' run")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.environ["CLINLENS_DATA_DIR"] = str(tmp / "appdata")
        t = time.perf_counter()
        folder = make_project(tmp / "proj", args.images, args.reviewed)
        code = (
            "import sys; from pathlib import Path; from tests.ml.conftest import train_tiny_yolo;"
            "print(train_tiny_yolo(Path(sys.argv[1]), imgsz=256))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code, str(tmp / "tiny-yolo")],
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            capture_output=True,
            text=True,
            check=True,
        )
        weights = Path(out.stdout.strip().splitlines()[-1])
        print(f"set-up {time.perf_counter() - t:.0f} s", file=sys.stderr)

        from gui import StallProbe
        from PySide6.QtWidgets import QApplication

        from app.launch import create_application
        from app.main_window import MainWindow
        from core.store.scores import StoredScore
        from ml import registry

        _app = create_application()  # kept: the QApplication must outlive the window
        window = MainWindow()
        window.resize(1400, 900)
        window.show()
        window.open_project(folder)
        _run_until(lambda: window.display.raw is not None, 60)
        project = window.project
        ui = window.active_learning
        queue = ui.queue
        info = registry.import_model(folder, weights, "detector", "bench", inspect=False)
        model = info.ref
        unreviewed = set(project.image_ids_where(status=["new"]))
        roles = project.heldout.roles()

        def reset_scores() -> None:
            project.scores.forget_others("detector", None)
            project.scores.put(
                "detector",
                model,
                [
                    StoredScore(i, (i % 997) / 997, ("2 uncertain boxes",))
                    for i in project.image_ids()
                    if i not in unreviewed and roles[i] == "train"
                ],
            )
            queue.invalidate()

        def score(press_n: bool) -> tuple[float, float, int]:
            reset_scores()
            _sleep(1.0)
            from PySide6.QtCore import QTimer

            presses = QTimer()
            presses.setInterval(400)
            presses.timeout.connect(lambda: queue.review_next(None))
            probe.start()
            t0 = time.perf_counter()
            ui._on_models_changed()  # what a promotion does
            job = queue.job
            assert job is not None, "nothing to score"
            if press_n:
                presses.start()
            finished: list[bool] = []
            job.finished.connect(lambda *a: finished.append(True))
            _run_until(lambda: bool(finished), 1800)
            seconds = time.perf_counter() - t0
            _sleep(1.0)
            presses.stop()
            stall = probe.stop()
            probe.last = 0.0  # the watchdog samples only while the probe runs
            n = len(project.scores.scores("detector", model))
            return stall, seconds, n

        probe = StallProbe()
        dog = Watchdog(probe) if args.watchdog else None
        rows: list[tuple[str, float, float]] = []
        # Warm the detector process (its start and torch import are the suggestion
        # benchmark's; here the steady state).
        stall, seconds, n = score(False)
        print(f"warm-up scoring: {seconds:.0f} s, {n} scores, stall {stall * 1000:.0f} ms",
              file=sys.stderr)  # fmt: skip
        if dog is not None:
            dog.samples.clear()  # the detector process's start is the suggestion benchmark's
        stall, seconds, n = score(False)
        rows.append(("scoring (user idle)", stall, seconds))
        stall, seconds, _ = score(True)
        rows.append(("scoring, user pressing N every 400 ms", stall, seconds))
        probe.start()
        t0 = time.perf_counter()
        _sleep(rows[0][2])
        rows.append(("idle baseline, nothing running", probe.stop(), time.perf_counter() - t0))
        probe.last = 0.0
        if dog is not None:
            print("GUI thread stack during stalls over 60 ms (sampled every 10 ms):\n"
                  + dog.report(), file=sys.stderr)  # fmt: skip
            dog.stop()
        # Before: the end of the job re-read every score on the GUI thread.
        old = queue._on_scored
        queue._on_scored = lambda done: (done.pop("scores", None), old(done))  # type: ignore[method-assign]
        if not args.no_before:
            try:
                stall, seconds, _ = score(False)
            finally:
                queue._on_scored = old  # type: ignore[method-assign]
            rows.append(
                ("before: every score re-read on the GUI thread at the end", stall, seconds)
            )
        assert "torch" not in sys.modules, "torch was imported in the GUI process"
        window.close()
        QApplication.processEvents()

    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; {args.images} unreviewed 256 x 256 phantoms scored, "
        f"{args.reviewed} reviewed rows with scores, tiny YOLO (imgsz 256), detector process.",
        "",
        "| run | longest GUI stall (ms) | seconds | within 50 ms |",
        "| --- | ---: | ---: | --- |",
    ]
    for name, stall, seconds in rows:
        ok = "yes" if stall <= TARGET_S else "no"
        lines.append(f"| {name} | {stall * 1000:.0f} | {seconds:.1f} | {ok} |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
