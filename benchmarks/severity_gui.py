"""The GUI's longest stall while a batch of face photos is graded (target <= 50 ms).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/severity_gui.py [--faces 12]

A synthetic graded project (the astronaut with painted lesions, lesion boxes), a grader
trained through the annotator (EfficientNet-Lite0 features, in the severity process),
then every photo graded one after the other with "Suggest a grade" while a 5 ms timer
probes the event loop. Baseline in the same run: the same photos graded the old way, the
grader called in a job thread of the window's process (torch loads there).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--faces", type=int, default=12)
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from benchmarks.gui import StallProbe, _wait
    from ml.severity.synthetic import make_project

    app = QApplication.instance() or QApplication(sys.argv)
    from app.main_window import MainWindow

    grades = [float(i % 4) for i in range(args.faces)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "faces"
        make_project(folder, grades, seed=3, lesion_boxes=True)
        w = MainWindow()
        w.resize(1200, 800)
        w.show()
        shown: list[int] = []
        w.image_shown.connect(lambda *a: shown.append(1))
        w.open_project(folder)
        _wait(app, lambda: shown, 60)
        start = time.perf_counter()
        job = w.severity.train("acne4")
        _wait(app, lambda: job.state in ("succeeded", "failed", "cancelled"), 1200)
        if job.state != "succeeded":
            raise SystemExit(f"training failed: {job.error}")
        train_s = time.perf_counter() - start

        def grade_all(old_way: bool) -> tuple[float, float]:
            probe = StallProbe()
            probe.start()
            t = time.perf_counter()
            for row in range(args.faces):
                before = len(shown)
                w.images.select_row(row)
                with contextlib.suppress(TimeoutError):  # the photo on screen emits nothing
                    _wait(app, lambda before=before: len(shown) > before, 5)
                if old_way:
                    image_id = w.annotations.image_id

                    def run(progress, cancel, image_id=image_id):  # type: ignore[no-untyped-def]
                        from ml.severity.grader import SeverityGrader

                        grader = SeverityGrader.for_project(folder, "acne4")
                        return grader.grade_image(w.project, image_id)

                    g = w.runner.submit(run, title="old way", channel="bench")
                else:
                    g = w.severity.grade_current()
                _wait(app, lambda g=g: g.state in ("succeeded", "failed", "cancelled"), 600)
                if g.state != "succeeded":
                    raise SystemExit(f"grading failed: {g.error}")
            return probe.stop(), (time.perf_counter() - t) / args.faces

        worker_stall, worker_s = grade_all(old_way=False)
        torch_in_gui = "torch" in sys.modules  # before the baseline, which imports it
        old_stall, old_s = grade_all(old_way=True)
        w.close()
    print(f"training through the severity process: {train_s:.1f} s ({args.faces} faces)")
    print(
        f"{'grading a batch of ' + str(args.faces) + ' faces':<52}{'longest stall':>14}{'s/face':>8}"
    )
    print(f"{'severity process (ClinLens)':<52}{worker_stall * 1000:>11.0f} ms{worker_s:>8.2f}")
    print(
        f"{'baseline: grader in a GUI-process job thread':<52}{old_stall * 1000:>11.0f} ms{old_s:>8.2f}"
    )
    print(
        f"ratio (baseline / ClinLens): {old_stall / max(worker_stall, 1e-9):.1f}x; target <= 50 ms"
    )
    print(f"torch in the window's process after the ClinLens pass: {torch_in_gui}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
