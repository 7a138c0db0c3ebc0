"""End to end: the real app on a real X server (Xvfb, xcb plugin), driven with mouse and keys.

The test starts its own Xvfb on a free display and runs the app in a child process (the
test process already has an offscreen QApplication). The child starts the GUI exactly as
``python main.py`` does on a first start (the demo project is built and opened), then acts
like a user with real input events on the real window: changes a filter, draws two boxes
with labels, grades, marks done, moves to the next image, undoes, exports VOC. The test then
checks the exported files. Set CLINLENS_SCREENSHOTS_DIR to keep the screenshots taken on the
way (docs/screenshots/ holds the ones shown in the README).

Skipped only where Xvfb is not installed (CI installs it, see the README).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.xvfb,
    pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed"),
]


def _child_env(display: str, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DISPLAY=display,
        QT_QPA_PLATFORM="xcb",
        CLINLENS_DATA_DIR=str(data_dir),
        PYTHONPATH=str(ROOT),
        QT_SCALE_FACTOR="1",
    )
    env.pop("WAYLAND_DISPLAY", None)
    return env


def test_user_session_on_xcb_annotates_and_exports_voc(xvfb_display, tmp_path):
    out = tmp_path / "result.json"
    export_dir = tmp_path / "voc_export"
    shots = Path(os.environ.get("CLINLENS_SCREENSHOTS_DIR", tmp_path / "shots"))
    cmd = [
        sys.executable,
        "-c",
        "import sys; from tests.e2e.test_gui_session import main; sys.exit(main(sys.argv[1:]))",
        str(out),
        str(export_dir),
        str(shots),
    ]
    proc = subprocess.run(
        cmd,
        cwd=ROOT,
        env=_child_env(xvfb_display, tmp_path / "data"),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, f"driver failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    result = json.loads(out.read_text())
    assert result["platform"] == "xcb"
    assert result["heavy_modules"] == [], "torch/ultralytics must not load in the GUI"
    steps = result["steps"]
    assert steps["thumbnails"] == steps["visible_rows"] > 0, "every row on screen has its thumbnail"
    assert steps["filter_changed"], "the gamma slider changed the display settings"
    assert steps["boxes_drawn"] == ["watch", "surgical implant"]
    assert steps["graded"] == {"quality": 3.0}
    assert steps["status_after_space"] == "done"
    assert steps["moved_to_next"]
    assert steps["status_after_undo"] != "done"
    assert steps["back_on_first_after_undo"]

    # The exported VOC files: one XML per image, the drawn boxes in the first image's file.
    # Outside the project the files are named by the images' ids, not their file names.
    xmls = sorted(export_dir.rglob("*.xml"))
    assert len(xmls) == result["image_count"]
    assert steps["pseudonymised_by_default"]
    assert steps["default_statuses"] == ["done"]
    assert not any(p.stem == Path(result["first_image"]).stem for p in xmls)
    first = next(p for p in xmls if p.stem == result["first_image_id"])
    text = first.read_text(encoding="utf-8")
    assert text.count("<name>watch</name>") >= 1
    assert "<name>surgical implant</name>" in text
    for tag in ("<xmin>", "<ymin>", "<xmax>", "<ymax>"):
        assert tag in text
    assert (export_dir / "ImageSets" / "Main").is_dir()
    for name in ("01_demo_project.png", "02_boxes_drawn.png", "03_export.png"):
        assert (shots / name).stat().st_size > 10_000


def test_python_main_py_starts_the_window_on_xcb(xvfb_display, tmp_path):
    """The real entry point, as in the README: a window on xcb, no torch on the way."""
    probe = tmp_path / "probe.json"
    env = _child_env(xvfb_display, tmp_path / "data")
    env["CLINLENS_STARTUP_PROBE"] = str(probe)
    proc = subprocess.run(
        [sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(probe.read_text())
    assert result["platform"] == "xcb"
    assert result["heavy_modules"] == []


# --- the child process: the app plus a "user" driving it ------------------------------------
def _wait_until(app, condition, timeout: float = 30.0, what: str = "") -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtTest import QTest

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what or condition}")
        QTest.qWait(20)


def drive(result_path: str, export_dir: str, shots_dir: str) -> int:
    """Run the scenario; write what happened to ``result_path`` (JSON). Exit code 0 = ok."""
    import traceback

    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QDialogButtonBox

    from app.launch import start_gui

    shots = Path(shots_dir)
    shots.mkdir(parents=True, exist_ok=True)
    steps: dict[str, object] = {}
    app, window = start_gui([])  # exactly what `python main.py` does on a first start
    try:
        window.resize(1500, 950)
        window.raise_()
        window.activateWindow()
        QTest.qWaitForWindowActive(window, 5000)

        def shot(name: str) -> None:
            QTest.qWait(150)
            window.grab().save(str(shots / f"{name}.png"))

        def key(k, mods=Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
            QTest.keyClick(window.canvas, k, mods)
            QTest.qWait(30)

        _wait_until(
            app,
            lambda: window.project is not None and window.display.raw is not None,
            90,
            "the demo project to open",
        )
        _wait_until(
            app,
            lambda: (
                "full" in window.canvas.image_item.frames
                or window.display.raw.width <= window.canvas.preview_size()
            ),
            20,
            "full render",
        )
        from app.docks.image_list_model import ThumbnailRole

        rows = window.images.model
        # Thumbnails are made for the rows on screen (the demo's 19 rows do not all fit).
        on_screen = [
            r
            for r in range(rows.rowCount())
            if rows.record(r) is not None and rows.record(r).id in window.images.visible_image_ids()
        ]
        _wait_until(
            app,
            lambda: (
                bool(on_screen)
                and all(rows.index(r).data(ThumbnailRole) is not None for r in on_screen)
            ),
            60,
            "the list's thumbnails",
        )
        steps["thumbnails"] = len(on_screen)
        steps["visible_rows"] = len(on_screen)
        project = window.project
        first_id = window.annotations.image_id
        first_path = project.image(first_id).path
        shot("01_demo_project")

        # 1. a filter: click the right end of the gamma slider (one page step up)
        before = window.display.settings
        slider = window.filters.gamma.slider
        QTest.mouseClick(
            slider, Qt.MouseButton.LeftButton, pos=QPoint(slider.width() - 4, slider.height() // 2)
        )
        _wait_until(app, lambda: window.display.settings != before, 10, "new display settings")
        steps["filter_changed"] = window.display.settings.gamma != before.gamma

        # 2. two boxes with labels: W, drag on the image, then the label's digit
        w, h = window.display.raw.width, window.display.raw.height
        vp = window.canvas.viewport()

        def draw(label_key, x1, y1, x2, y2) -> None:  # type: ignore[no-untyped-def]
            window.canvas.setFocus()
            key(Qt.Key.Key_W)
            a = window.canvas.map_image_to_view(x1 * w, y1 * h)
            b = window.canvas.map_image_to_view(x2 * w, y2 * h)
            QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
            for i in range(1, 6):
                QTest.mouseMove(vp, a + (b - a) * (i / 5))
            QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)
            QTest.qWait(50)
            key(label_key)  # the new box is selected: the digit names it

        n_before = len(project.boxes(first_id))
        draw(Qt.Key.Key_2, 0.08, 0.06, 0.22, 0.16)  # 2 = watch
        draw(Qt.Key.Key_4, 0.70, 0.60, 0.85, 0.74)  # 4 = surgical implant
        new_boxes = sorted(project.boxes(first_id), key=lambda b: b.id)[n_before:]
        steps["boxes_drawn"] = [b.label for b in new_boxes]
        shot("02_boxes_drawn")

        # 3. grade (Alt+3: quality 3 on the marked scale) and mark done (Space)
        window.docks["grades"].raise_()
        key(Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)
        steps["graded"] = {
            g.scale: g.value for g in project.grades(first_id) if g.source == "human"
        }
        key(Qt.Key.Key_Space)
        steps["status_after_space"] = project.image(first_id).review_status
        shot("04_graded_done")

        # 4. next image (D), then undo (Ctrl+Z) takes back the last edit: "done"
        key(Qt.Key.Key_D)
        _wait_until(app, lambda: window.annotations.image_id != first_id, 10, "the next image")
        _wait_until(
            app,
            lambda: (
                window.display.image_id == window.annotations.image_id
                and window.display.raw is not None
            ),
            20,
            "next image shown",
        )
        steps["moved_to_next"] = True
        key(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        _wait_until(app, lambda: window.annotations.image_id == first_id, 10, "undo to go back")
        steps["status_after_undo"] = project.image(first_id).review_status
        steps["back_on_first_after_undo"] = window.annotations.image_id == first_id

        # 5. export VOC through the dialog (Ctrl+E), as a user fills it in
        def fill_dialog() -> None:
            dialog = QApplication.activeModalWidget()
            if dialog is None:
                from PySide6.QtCore import QTimer

                QTimer.singleShot(100, fill_dialog)
                return
            dialog.out.selectAll()
            QTest.keyClicks(dialog.out, export_dir)
            # A folder outside the project: the dialog ticks "Pseudonymise" by itself.
            steps["pseudonymised_by_default"] = dialog.pseudonymise.isChecked()
            # Only reviewed images by default; this user exports the work in progress too.
            steps["default_statuses"] = [k for k, b in dialog.statuses.items() if b.isChecked()]
            for box in dialog.statuses.values():
                if not box.isChecked():
                    QTest.mouseClick(
                        box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2)
                    )
            QTest.mouseClick(
                dialog.no_images,
                Qt.MouseButton.LeftButton,
                pos=QPoint(8, dialog.no_images.height() // 2),
            )
            ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
            QTest.mouseClick(ok, Qt.MouseButton.LeftButton)

        from PySide6.QtCore import QTimer

        QTimer.singleShot(200, fill_dialog)
        key(Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
        _wait_until(
            app,
            lambda: any(j.title.startswith("Export") and j.done for j in window.runner.history),
            60,
            "the export job",
        )
        job = next(j for j in window.runner.history if j.title.startswith("Export"))
        steps["export_state"] = job.state
        if job.state != "succeeded":
            raise RuntimeError(f"export {job.state}: {job.error}")
        shot("03_export")
        window.prefs.theme = "light"
        from app.theme import apply_theme

        apply_theme(app, "light")
        shot("05_light_theme")
        apply_theme(app, "dark")
        heavy = sorted(m for m in ("torch", "ultralytics") if m in sys.modules)
        from core.formats.naming import pseudonym_ids

        result = {
            "platform": app.platformName(),
            "steps": steps,
            "first_image": first_path,
            "first_image_id": pseudonym_ids([(r.id, r.sha256) for r in project.images()])[first_id],
            "image_count": len(project.image_ids()),
            "heavy_modules": heavy,
        }
        code = 0
    except Exception:
        result = {"error": traceback.format_exc(), "steps": steps}
        print(result["error"], file=sys.stderr)
        window.grab().save(str(shots / "failure.png"))
        code = 1
    Path(result_path).write_text(json.dumps(result, default=str), encoding="utf-8")
    window.close()
    return code


def main(argv: list[str]) -> int:
    return drive(*argv)
