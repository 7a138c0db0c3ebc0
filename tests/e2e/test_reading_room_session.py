"""End to end: a radiologist's and a dermatologist's session with the reading-room tools,
on the real window (Xvfb, xcb plugin), driven with real mouse and key events.

Radiologist (the demo's first DICOM radiograph): right-drag window/level with the value on
screen, a right double-click back to the file's window, a preset, the Boxes panel (select
a box from the list, type a corner, hide all), the ruler in mm, the DICOM tags viewer (no
patient tag). Dermatologist (the demo's face photo): the hyperpigmentation view and its
threshold, an acne grade by hand, a papule boxed (the lesion-type tags follow the box)
and a nodule ticked by hand, the severity grader trained from the Severity tab and its
suggestion shown against this reader's own grade. Then both sessions' work goes out
through the export dialog as COCO, and the test reads ``annotations.json`` with
pycocotools (every box and label of the store) and ``grades.csv`` (the grades and the
tags); F11 full screen and back. One child process runs it all, on a demo of one
radiograph and the faces (one start, about 40 s on an idle 2-core machine: the grader's
training in its own process is most of it, with the built-in descriptor, no torch).
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
    "14_export_coco.png",
    "15_lesion_type_tags.png",
    "16_severity_vs_human.png",
    "17_full_screen.png",
)


def test_radiologist_and_dermatologist_sessions_on_xcb(xvfb_display, tmp_path):
    out = tmp_path / "result.json"
    export = tmp_path / "coco_export"
    shots = Path(os.environ.get("CLINLENS_SCREENSHOTS_DIR", tmp_path / "shots"))
    cmd = [
        sys.executable,
        "-c",
        "import sys; from tests.e2e.test_reading_room_session import drive; "
        "sys.exit(drive(*sys.argv[1:]))",
        str(out),
        str(shots),
        str(export),
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
    print("seconds since start:", s["marks"])
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
    assert s["pixels_unchanged"] and s["pigment_off"]
    assert s["acne_grade"] == 1.0
    # lesion-type tags: filled from the box, then the grader's click
    assert s["tags_from_box"] == ["papule"] and s["tags_from_box_source"] == "auto"
    assert s["tags_after_click"] == ["papule", "nodule"] and s["tags_source"] == "human"
    assert s["tags_row_text"] == "Your choice: papule, nodule (boxes say: papule)"
    # the grade suggestion against the human grade, in the Severity panel
    assert s["train_state"] == "succeeded" and s["suggest_state"] == "succeeded"
    assert s["suggest_button_enabled_before"] is False and s["suggest_button_enabled"]
    text = s["severity_text"]
    assert text.startswith(f"Your grade: {s['human_grade_label']} (1) — "), text
    verdict = "the model agrees" if s["model_grade"] == 1.0 else f"{s['model_grade'] - 1:+g}"
    assert verdict in text.splitlines()[0] and "\nModel (severity-acne4" in text
    assert s["human_grades_after"] == [1.0], "the suggestion never overwrites the reader's"
    assert s["grades_panel_suggestion"].startswith("Suggested")
    # full screen and back
    assert s["full_screen"] and not s["full_screen_after"]
    # the COCO export, read by pycocotools: every exported box, its label, its rectangle
    assert s["export_format"] == "coco" and s["export_state"] == "succeeded"
    _check_coco(export, s["coco_expected"], s["xray_stem"], s["photo_stem"])
    _check_grades_csv(export, s["photo_stem"], s["tags_cell"], s["model_grade"])
    for name in SHOTS:
        assert (shots / name).stat().st_size > 10_000, name


def _check_coco(export: Path, expected: dict, xray: str, photo: str) -> None:  # type: ignore[type-arg]
    from pycocotools.coco import COCO

    assert not (export / "images").exists(), "annotations only, as ticked"
    coco = COCO(str(export / "annotations.json"))
    names = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    got = {}
    for img in coco.loadImgs(coco.getImgIds()):
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[img["id"]]))
        got[Path(img["file_name"]).stem] = sorted(
            [names[a["category_id"]], *(round(v, 3) for v in _corners(a["bbox"]))] for a in anns
        )
    want = {
        k: sorted([b[0], *(round(v, 3) for v in b[1:])] for b in v) for k, v in expected.items()
    }
    assert got == want
    assert len(got[xray]) >= 3 and [b[0] for b in got[photo]] == ["papule"]


def _corners(bbox: list[float]) -> tuple[float, float, float, float]:
    x, y, w, h = bbox
    return x, y, x + w, y + h


def _check_grades_csv(export: Path, photo: str, tags_cell: str, model_grade: float) -> None:
    import csv

    with (export / "grades.csv").open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if Path(r["image"]).stem == photo]
    assert rows and {r["lesion_types"] for r in rows} == {tags_cell}
    assert tags_cell == "papule;nodule"
    values = {(r["scale"], r["source"]): float(r["value"]) for r in rows}
    assert values[("acne4", "human")] == 1.0 and values[("acne4", "model")] == model_grade


# --- the child process --------------------------------------------------------------------
def drive(result_path: str, shots_dir: str, export_dir: str = "") -> int:
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
        canvas.setFocus()
        key(Qt.Key.Key_H)  # the view off again: it is a help, not the photo
        steps["pigment_off"] = rr.last_pigment is None
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
        # 6. lesion-type tags: a papule boxed (the tags follow), a nodule ticked by hand
        key(Qt.Key.Key_Escape)  # nothing selected: a label click must not relabel a box
        labels = window.labels
        item = labels.list.item(labels.names().index("papule"))
        rect = labels.list.visualItemRect(item)
        QTest.mouseClick(labels.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        canvas.setFocus()
        key(Qt.Key.Key_W)
        a = canvas.map_image_to_view(0.40 * photo.width, 0.25 * photo.height)  # a cheek
        b = canvas.map_image_to_view(0.425 * photo.width, 0.275 * photo.height)
        QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
        for i in range(1, 6):
            QTest.mouseMove(vp, a + (b - a) * (i / 5))
        QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)
        _wait_until(app, lambda: project.boxes(photo.id), 5, "the papule box")
        kind = "lesion_types"
        t = project.tags.get(photo.id, kind)
        steps["tags_from_box"], steps["tags_from_box_source"] = list(t.tags), t.source
        row_widget = window.grades.tag_rows[kind]
        nodule = row_widget.buttons["nodule"]
        QTest.mouseClick(nodule, Qt.MouseButton.LeftButton)
        _wait_until(app, lambda: project.tags.get(photo.id, kind).source == "human", 5, "tags")
        t = project.tags.get(photo.id, kind)
        steps["tags_after_click"], steps["tags_source"] = list(t.tags), t.source
        steps["tags_row_text"] = row_widget.source_label.text()
        from core.annotations.tags import TAG_KINDS

        steps["tags_cell"] = TAG_KINDS[kind].cell(t.tags)
        shot("15_lesion_type_tags.png")

        mark("tags_row")
        # 7. the severity grader: trained from the Severity tab, its suggestion against
        # this reader's grade (the built-in descriptor: no torch, no weights to fetch)
        window.docks["severity"].show()
        window.docks["severity"].raise_()
        sev = window.severity_panel
        steps["suggest_button_enabled_before"] = sev.grade_button.isEnabled()
        window.severity.train_backbone = "builtin"
        _wait_until(app, sev.train_button.isEnabled, 10, "Train enabled")
        QTest.mouseClick(sev.train_button, Qt.MouseButton.LeftButton)

        def job(prefix: str):  # type: ignore[no-untyped-def]
            return next((j for j in window.runner.history if j.title.startswith(prefix)), None)

        _wait_until(app, lambda: job("Train") is not None and job("Train").done, 150, "train")
        steps["train_state"] = job("Train").state
        if job("Train").state != "succeeded":
            raise RuntimeError(f"training {job('Train').state}: {job('Train').error}")
        mark("trained")
        _wait_until(app, sev.grade_button.isEnabled, 10, "Suggest enabled")
        steps["suggest_button_enabled"] = True
        QTest.mouseClick(sev.grade_button, Qt.MouseButton.LeftButton)
        _wait_until(app, lambda: job("Suggest") is not None and job("Suggest").done, 60, "grade")
        steps["suggest_state"] = job("Suggest").state
        _wait_until(app, lambda: "Model (" in sev.result.text(), 10, "the result")
        steps["severity_text"] = sev.result.text()
        grades = project.grades(photo.id)
        steps["model_grade"] = next(
            g.value for g in grades if g.scale == "acne4" and g.source == "model"
        )
        steps["human_grades_after"] = [
            g.value for g in grades if g.scale == "acne4" and g.source == "human"
        ]
        acne = next(sc for sc in project.definitions.scales() if sc.name == "acne4")
        steps["human_grade_label"] = acne.label_of(1.0)
        steps["grades_panel_suggestion"] = window.grades.rows["acne4"].suggestion_label.text()
        shot("16_severity_vs_human.png")

        mark("suggested")
        # 8. F11: full screen, and back
        canvas.setFocus()
        key(Qt.Key.Key_F11)
        _wait_until(app, window.isFullScreen, 5, "full screen")
        steps["full_screen"] = True
        shot("17_full_screen.png")
        key(Qt.Key.Key_F11)
        _wait_until(app, lambda: not window.isFullScreen(), 5, "back from full screen")
        steps["full_screen_after"] = window.isFullScreen()

        # 9. both sessions' work out as COCO through the export dialog (Ctrl+E)
        if export_dir:
            _export_coco(app, window, export_dir, steps, shots)
            from core.formats.naming import pseudonym_ids
            from core.project_io.exporter import EXPORTED_BOX_STATUSES

            stems = pseudonym_ids([(r.id, r.sha256) for r in project.images()])
            steps["coco_expected"] = {
                stems[r.id]: [
                    [bx.label, bx.x1, bx.y1, bx.x2, bx.y2]
                    for bx in project.boxes(r.id)
                    if bx.status in EXPORTED_BOX_STATUSES
                ]
                for r in project.images()
            }
            steps["xray_stem"], steps["photo_stem"] = stems[xray.id], stems[photo.id]
        mark("exported")
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


def _export_coco(app, window, export_dir: str, steps: dict, shots: Path) -> None:  # type: ignore[no-untyped-def,type-arg]
    """Ctrl+E; in the dialog: COCO, the folder typed, every status, annotations only."""
    from PySide6.QtCore import QPoint, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QDialogButtonBox

    def fill() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None or not hasattr(dialog, "fmt"):
            QTimer.singleShot(100, fill)
            return
        combo = dialog.fmt
        combo.setFocus()
        while combo.currentData() != "coco" and combo.currentIndex() < combo.count() - 1:
            QTest.keyClick(combo, Qt.Key.Key_Down)  # as a user steps through the formats
        steps["export_format"] = combo.currentData()
        dialog.out.selectAll()
        QTest.keyClicks(dialog.out, export_dir)
        for box in (*(b for b in dialog.statuses.values() if not b.isChecked()), dialog.no_images):
            QTest.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
        QTest.qWait(120)
        dialog.grab().save(str(shots / "14_export_coco.png"))
        ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
        QTest.mouseClick(ok, Qt.MouseButton.LeftButton)

    QTimer.singleShot(200, fill)
    QTest.keyClick(window.canvas, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)

    def export_job():  # type: ignore[no-untyped-def]
        return next((j for j in window.runner.history if j.title.startswith("Export")), None)

    _wait_until(app, lambda: export_job() is not None and export_job().done, 60, "the export")
    steps["export_state"] = export_job().state
    if export_job().state != "succeeded":
        raise RuntimeError(f"export {export_job().state}: {export_job().error}")
