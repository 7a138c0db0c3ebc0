"""Screenshots of the suggestion and severity states (the end-to-end test takes the others).

Run under an X server: ``xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python
docs/screenshots/capture_extra.py``. It builds throw-away projects in a temporary folder:

- ``06_suggestions.png``: the demo X-rays with suggested boxes (dashed, with scores). The
  "model" is the tests' stand-in detector that boxes the brightest blobs (metal) through the
  real tiling/merging code, so no weights are needed;
- ``07_severity.png``: synthetic face photos, a severity grader trained on them in the app,
  and its suggestion for one face: patches overlay, lesion-count grade, similar faces;
- ``08_missing_file.png``: a demo image moved away: the list's error badge and the banner
  with "Locate file…" and "Search a folder for missing files…".
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
OUT = Path(__file__).resolve().parent


def _wait(cond, timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtTest import QTest

    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(str(cond))
        QTest.qWait(20)


def _wait_thumbnails(window) -> None:  # type: ignore[no-untyped-def]
    from app.docks.image_list_model import ThumbnailRole

    rows = window.images.model
    _wait(
        lambda: all(
            rows.index(r).data(ThumbnailRole) is not None
            for r in range(rows.rowCount())
            if not rows.record(r).error
        )
    )


def _shot(window, name: str) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtTest import QTest

    QTest.qWait(300)
    window.grab().save(str(OUT / name))
    print("wrote", OUT / name)


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="clinlens-shots-"))
    os.environ["CLINLENS_DATA_DIR"] = str(tmp / "data")
    from app.controllers.suggestion_backends import InThreadBackend
    from app.demo_project import build_demo_project
    from app.launch import build_window, create_application
    from ml import registry
    from ml.severity.synthetic import make_project
    from tests.ml.conftest import make_blob_detector

    app = create_application()
    window = build_window(app)
    window.resize(1500, 950)
    window.show()

    # Suggestions on the demo X-rays.
    demo = build_demo_project(tmp / "demo")
    window.open_project(demo)
    _wait(lambda: window.display.raw is not None)
    stub = tmp / "blob-demo.pt"
    stub.write_bytes(b"stand-in detector for screenshots")
    registry.import_model(demo, stub, "detector", "bright-blobs", inspect=False)
    window.suggestions.refresh_status()
    window.suggestions.set_backend(
        InThreadBackend(
            lambda project, device: make_blob_detector(
                tile=512,
                overlap=64,
                threshold=252,
                names={0: "unknown anomaly"},
                model_ref="bright-blobs:1",
            )
        )
    )
    window.images.select_row(3)  # the legs: new, without ground-truth boxes, metal objects
    _wait(
        lambda: (
            window.display.image_id == window.images.current_image_id()
            and window.display.raw is not None
        )
    )
    job = window.suggestions.suggest_current()
    _wait(lambda: job.done)
    pending = [
        b for b in window.project.boxes(window.annotations.image_id) if b.status == "suggested"
    ]
    if pending:
        window.canvas.select_box(pending[0].id)
    window.docks["model"].raise_()
    _wait_thumbnails(window)
    _shot(window, "06_suggestions.png")

    # Severity on synthetic faces.
    faces = tmp / "faces"
    make_project(faces, [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3], seed=3, lesion_boxes=True)
    window.open_project(faces)
    _wait(lambda: window.display.raw is not None)
    train = window.severity.train("acne4")
    _wait(lambda: train.done, 300)
    window.images.select_row(10)
    _wait(
        lambda: (
            window.display.image_id == window.images.current_image_id()
            and window.display.raw is not None
        )
    )
    job = window.severity.grade_current()
    _wait(lambda: job.done, 120)
    window.docks["severity"].raise_()
    _wait_thumbnails(window)
    _shot(window, "07_severity.png")

    # A moved file: the banner offers Locate file… and Search a folder…
    window.open_project(demo)
    _wait(lambda: window.display.raw is not None)
    chest = next(r for r in window.project.images() if "chest" in r.path)
    moved = tmp / "moved" / Path(chest.path).name
    moved.parent.mkdir()
    window.project.image_path(chest).rename(moved)
    window.images.select_image(chest.id)
    _wait(lambda: window.image_banner.isVisible())
    _wait_thumbnails(window)
    window.docks["labels"].raise_()
    _shot(window, "08_missing_file.png")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
