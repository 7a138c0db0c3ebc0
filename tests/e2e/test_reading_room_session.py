"""End to end: a radiologist's and a dermatologist's session with the reading-room tools,
on the real window (Xvfb, xcb plugin), driven with real mouse and key events.

Radiologist (the demo's first DICOM radiograph): right-drag window/level with the value on
screen, a right double-click back to the file's window, a preset, the Boxes panel (select
a box from the list, type a corner, hide all), the ruler in mm, the DICOM tags viewer (no
patient tag). Dermatologist (the demo's face photo): the hyperpigmentation view and its
threshold, an acne grade by hand. One child process runs both, on a demo of one
radiograph and the face photo (one start, well under 30 s on an idle 2-core machine).
Set CLINLENS_SCREENSHOTS_DIR to keep the screenshots (docs/screenshots/ holds them).
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

from tests.e2e.test_gui_session import _child_env, _wait_until

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.xvfb,
    pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed"),
]

SHOTS = (
    "09_mouse_window_level.png",
    "10_boxes_panel.png",
    "11_ruler_mm.png",
    "12_dicom_tags.png",
    "13_hyperpigmentation.png",
)


def test_radiologist_and_dermatologist_sessions_on_xcb(xvfb_display, tmp_path):
    out = tmp_path / "result.json"
    shots = Path(os.environ.get("CLINLENS_SCREENSHOTS_DIR", tmp_path / "shots"))
    cmd = [
        sys.executable,
        "-c",
        "import sys; from tests.e2e.test_reading_room_session import drive; "
        "sys.exit(drive(*sys.argv[1:]))",
        str(out),
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
    r = json.loads(out.read_text())
    s = r["steps"]
    assert r["heavy_modules"] == [], "torch/ultralytics must not load in the GUI"
    # mouse window / level
    assert s["wl_width_after"] > s["wl_width_before"], "dragging right widens the window"
    assert s["wl_level_after"] > s["wl_level_before"], "dragging down raises the level"
    assert s["wl_overlay_text"].startswith("W "), "the value shows while dragging"
    assert s["wl_saved_center"] == pytest.approx(s["wl_level_after"])
    assert s["wl_reset"] == pytest.approx([s["wl_level_before"], s["wl_width_before"]])
    assert s["preset"] and s["preset_window"] != s["wl_reset"]
    # boxes panel
    assert s["panel_rows"] == s["stored_boxes"] > 0
    assert s["panel_selects_canvas"]
    assert s["typed_x2"] == pytest.approx(s["typed_value"])
    assert s["label_kept"], "digits typed in a corner field must not relabel the box"
    assert s["undo_restores_x2"]
    assert s["hide_all_hides"] and s["sizes_in_mm"]
    # ruler
    assert s["ruler_unit"] == "mm"
    assert s["ruler_mm"] == pytest.approx(s["ruler_expected_mm"], rel=0.03)
    # tags
    assert s["tags_shown"] > 20 and s["tags_have_modality"]
    assert s["tags_patient_leaks"] == []
    # dermatologist
    assert s["photo_is_colour"]
    assert 0 < s["pigment_coverage"] < 1
    assert s["pigment_coverage_higher_threshold"] < s["pigment_coverage"]
    assert s["pixels_unchanged"]
    assert s["acne_grade"] == 1.0
    for name in SHOTS:
        assert (shots / name).stat().st_size > 10_000, name


# --- the child process --------------------------------------------------------------------
def drive(result_path: str, shots_dir: str) -> int:
    import traceback

    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    from app.launch import start_gui

    shots = Path(shots_dir)
    shots.mkdir(parents=True, exist_ok=True)
    steps: dict[str, object] = {}
    marks: dict[str, float] = {}
    t0 = time.monotonic()
    # One radiograph and the face photo are all the sessions need: a demo of that size
    # builds in a fraction of the full one's time (CLINLENS_E2E_FULL_DEMO=1 for the README
    # screenshots, which look better with the whole list).
    args: list[str] = []
    if not os.environ.get("CLINLENS_E2E_FULL_DEMO"):
        from app.demo_project import build_demo_project, demo_project_dir

        args = [str(build_demo_project(demo_project_dir(), n_xrays=1))]
    app, window = start_gui(args)

    def mark(name: str) -> None:
        marks[name] = round(time.monotonic() - t0, 2)

    try:
        window.resize(1500, 950)
        window.raise_()
        window.activateWindow()
        QTest.qWaitForWindowActive(window, 5000)
        canvas, vp = window.canvas, window.canvas.viewport()

        def shot(name: str, widget=None) -> None:  # type: ignore[no-untyped-def]
            QTest.qWait(120)
            (widget or window).grab().save(str(shots / name))

        def key(k, mods=Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
            QTest.keyClick(canvas, k, mods)
            QTest.qWait(30)

        def shown() -> bool:
            d = window.display
            return d.raw is not None and d.image_id == window.annotations.image_id

        _wait_until(app, lambda: window.project is not None and shown(), 90, "the demo")
        mark("demo_open")
        if args == []:  # the README's screenshots: the list with its thumbnails
            from app.docks.image_list_model import ThumbnailRole

            rows = window.images.model
            _wait_until(
                app,
                lambda: all(
                    rows.index(r).data(ThumbnailRole) is not None for r in range(rows.rowCount())
                ),
                60,
                "the list's thumbnails",
            )
        project = window.project
        # The radiologist's image: the first DICOM radiograph with boxes.
        records = [project.image(i) for i in project.image_ids()]
        xray = next(r for r in records if str(r.path).endswith(".dcm") and project.boxes(r.id))
        photo = next(r for r in records if r.modality is None and r.bit_depth == 8)
        row = [window.images.model.record(i).id for i in range(window.images.model.rowCount())]
        if window.annotations.image_id != xray.id:
            window.images.select_row(row.index(xray.id))
            _wait_until(app, lambda: window.annotations.image_id == xray.id and shown(), 20)
        from core.filters import resolve_window

        # 1. mouse window/level: right-drag right then down; the value shows meanwhile
        c0, w0 = resolve_window(window.display.raw, window.display.settings)
        steps["wl_level_before"], steps["wl_width_before"] = c0, w0
        centre = vp.rect().center()
        right = Qt.MouseButton.RightButton
        QTest.mousePress(vp, right, Qt.KeyboardModifier.NoModifier, centre)
        for i in range(1, 9):
            QTest.mouseMove(vp, centre + QPoint(15 * i, 8 * i))
        steps["wl_overlay_text"] = window.reading_room.wl.overlay.text()
        _wait_until(app, lambda: window.display.settings.window_width != w0, 5, "W/L")
        shot("09_mouse_window_level.png")
        QTest.mouseRelease(vp, right, Qt.KeyboardModifier.NoModifier, centre + QPoint(120, 64))
        c1, w1 = resolve_window(window.display.raw, window.display.settings)
        steps["wl_level_after"], steps["wl_width_after"] = c1, w1
        window.save_all()
        steps["wl_saved_center"] = project.filter_settings(xray.id)["window_center"]
        QTest.mouseDClick(vp, right, Qt.KeyboardModifier.NoModifier, centre)
        steps["wl_reset"] = list(resolve_window(window.display.raw, window.display.settings))
        # a preset from the Display panel
        combo = window.filters.preset
        combo.setCurrentIndex(combo.findData("bone") if combo.findData("bone") > 0 else 1)
        steps["preset"] = window.display.settings.preset
        steps["preset_window"] = list(
            resolve_window(window.display.raw, window.display.settings) or ()
        )

        mark("wl")
        # 2. the Boxes panel: click a row, type a corner, undo, hide all
        window.docks["boxes"].show()
        window.docks["boxes"].raise_()
        panel = window.boxes_panel
        table = panel.table
        QTest.qWait(50)
        steps["stored_boxes"] = len(project.boxes(xray.id))
        steps["panel_rows"] = table.rowCount()
        cell = table.visualItemRect(table.item(1, 1)).center()
        QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=cell)
        box_id = panel._ids[1]
        steps["panel_selects_canvas"] = canvas.selected_id == box_id
        before = project.box(box_id)
        value = round(min(before.x2 + 25, xray.width), 1)
        spin = panel.corners["x2"]
        QTest.mouseClick(spin, Qt.MouseButton.LeftButton, pos=QPoint(10, spin.height() // 2))
        spin.selectAll()
        QTest.keyClicks(spin, f"{value}")
        QTest.keyClick(spin, Qt.Key.Key_Return)
        QTest.qWait(50)
        steps["typed_value"] = value
        steps["typed_x2"] = project.box(box_id).x2
        steps["label_kept"] = project.box(box_id).label == before.label
        steps["sizes_in_mm"] = table.item(1, 5).text().endswith("mm")
        shot("10_boxes_panel.png")
        key(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        steps["undo_restores_x2"] = project.box(box_id).x2 == pytest.approx(before.x2)
        QTest.mouseClick(panel.hide_all, Qt.MouseButton.LeftButton, pos=QPoint(8, 8))
        steps["hide_all_hides"] = not any(i.isVisible() for i in canvas.items_by_id.values())
        QTest.mouseClick(panel.hide_all, Qt.MouseButton.LeftButton, pos=QPoint(8, 8))

        mark("boxes")
        # 3. the ruler (M): a horizontal line across a third of the image
        canvas.setFocus()
        key(Qt.Key.Key_M)
        w, h = xray.width, xray.height
        a = canvas.map_image_to_view(0.3 * w, 0.5 * h)
        b = canvas.map_image_to_view(0.7 * w, 0.5 * h)
        QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
        for i in range(1, 6):
            QTest.mouseMove(vp, a + (b - a) * (i / 5))
        QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)
        length = window.reading_room.ruler.length
        line = window.reading_room.ruler.line.line()
        spacing = window.display.raw.pixel_spacing
        steps["ruler_unit"] = length.unit
        steps["ruler_mm"] = length.value
        steps["ruler_expected_mm"] = abs(line.dx()) * spacing[1]
        shot("11_ruler_mm.png")
        key(Qt.Key.Key_Escape)

        mark("ruler")
        # 4. the DICOM tags viewer (Ctrl+Shift+I)
        key(Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        _wait_until(
            app,
            lambda: (
                window.reading_room.tags_dialog is not None
                and window.reading_room.tags_dialog.isVisible()
            ),
            10,
            "tags dialog",
        )
        dialog = window.reading_room.tags_dialog
        text = dialog.shown_text()
        steps["tags_shown"] = dialog.table.rowCount()
        steps["tags_have_modality"] = "Modality" in text
        secrets = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "DEMO^PHANTOM")
        steps["tags_patient_leaks"] = [s for s in secrets if s in text]
        steps["tags_patient_leaks"] += [
            f"DEMO-{v}" for v in range(100) if f"DEMO-{v}\n" in text + "\n"
        ]
        shot("12_dicom_tags.png", dialog)
        dialog.close()

        mark("tags")
        # 5. the dermatologist: the face photo, hyperpigmentation view (H), threshold, grade
        window.images.select_row(row.index(photo.id))
        _wait_until(app, lambda: window.annotations.image_id == photo.id and shown(), 20)
        raw = window.display.raw
        steps["photo_is_colour"] = bool(raw.is_color)
        pixels = raw.pixels.copy()
        canvas.setFocus()
        key(Qt.Key.Key_H)
        rr = window.reading_room
        steps["pigment_coverage"] = rr.last_pigment.coverage if rr.last_pigment else None
        shot("13_hyperpigmentation.png")
        spin = window.pigment_panel.threshold
        spin.setValue(0.25)
        steps["pigment_coverage_higher_threshold"] = rr.last_pigment.coverage
        steps["pixels_unchanged"] = bool((window.display.raw.pixels == pixels).all())
        # grade acne by hand: mark the acne scale (Alt+G until it is marked), Alt+1
        window.docks["grades"].show()
        window.docks["grades"].raise_()
        canvas.setFocus()
        for _ in range(len(window.grades.rows) + 1):
            if list(window.grades.rows)[window.grades.active] == "acne4":
                break
            key(Qt.Key.Key_G, Qt.KeyboardModifier.AltModifier)
        key(Qt.Key.Key_1, Qt.KeyboardModifier.AltModifier)
        steps["acne_grade"] = next(
            (g.value for g in project.grades(photo.id) if g.scale == "acne4"), None
        )
        mark("photo")
        steps["marks"] = marks
        heavy = sorted(m for m in ("torch", "ultralytics") if m in sys.modules)
        result = {"steps": steps, "heavy_modules": heavy}
        code = 0
    except Exception:
        result = {"error": traceback.format_exc(), "steps": steps}
        print(result["error"], file=sys.stderr)
        window.grab().save(str(shots / "failure.png"))
        code = 1
    Path(result_path).write_text(json.dumps(result, default=str), encoding="utf-8")
    window.close()
    return code
