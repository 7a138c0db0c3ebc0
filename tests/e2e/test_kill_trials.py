"""Edits survive a killed window: the real app under Xvfb, SIGKILLed at random moments.

How it works (issue #13 item 9):

- The parent makes a small project, starts Xvfb, and per trial starts the app in a child
  process (``start_gui([project])``, exactly what ``python main.py PROJECT`` does) with a
  "user" driver inside it, like ``test_gui_session.py``. The app writes nothing extra.
- The driver makes random edits on one image through real widgets and keys: draw (W +
  drag), move (drag), nudge (arrow keys, in runs), relabel (digit), grade (Alt+digit), mark
  done / back (Space), undo (Ctrl+Z). Before each it appends to a journal (written with
  fsync) the state it expects afterwards (``intent``); once the window shows the edit (the
  canvas boxes, the grade panel, the review status: all redrawn from the store after a
  save) it appends the state the window shows (``done``).
- The parent kills the child with SIGKILL after a seeded random delay, reopens the project
  read-only with ``core.store``, runs ``PRAGMA integrity_check`` and compares the stored
  state of the image with the last ``done`` state. The one edit in flight (an ``intent``
  without its ``done``) may or may not have landed: the store may equal either state, but
  nothing in between (one edit, one transaction) and nothing else.
- ``CLINLENS_KILL_TRIAL_LOSSY=1`` (read by this driver only, never by the app) journals
  each edit as done *before* doing it and holds it a moment: the checker must then report
  losses, proving it can see one.

``benchmarks/kill_trials.py`` runs 20+ trials and prints the table; the tests below run a
few so the suite stays fast.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOSSY_ENV = "CLINLENS_KILL_TRIAL_LOSSY"
LOSSY_HOLD_MS = 400  # lossy mode: journaled as done this long before it is done
TOL = 1e-3  # image pixels: stored floats vs the canvas's QRectF arithmetic
IMAGE_SIZE = (400, 300)
DRIVE_LIMIT_S = 90.0  # the driver stops by itself after this (the parent kills it long before)

pytestmark = [
    pytest.mark.xvfb,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed"),
]

# {"boxes": {"<id>" or "new": [x1, y1, x2, y2, label]}, "grades": {scale: value},
#  "status": review status} of one image.
State = dict[str, Any]


# --- the tests ------------------------------------------------------------------------------
def test_killed_window_keeps_every_edit_it_showed_as_saved(xvfb_display, tmp_path):
    report = run_trials(tmp_path, trials=2, seed=1, display=xvfb_display)  # 20 in the benchmark
    assert report.driver_errors == [], report.driver_errors
    assert report.edits >= 10, f"too few edits to mean anything: {report.table()}"
    assert report.integrity_failures == 0, report.table()
    assert report.lost == 0, report.table()


def test_the_checker_reports_a_loss_when_the_driver_journals_too_early(xvfb_display, tmp_path):
    """Self-check: an edit journaled before it is saved and killed in between is caught."""
    report = run_trials(
        tmp_path, trials=3, seed=2, display=xvfb_display, lossy=True, max_delay_s=2.5
    )
    assert report.driver_errors == [], report.driver_errors
    assert report.lost >= 1, f"the checker saw no loss in lossy mode: {report.table()}"
    assert report.integrity_failures == 0


def test_state_comparison_allows_only_the_edit_in_flight():
    """The checker's rule without a window: last done state, or the in-flight one, only."""
    done: State = {"boxes": {"1": [0, 0, 10, 10, "key"]}, "grades": {}, "status": "in_progress"}
    moved = {**done, "boxes": {"1": [1, 0, 11, 10, "key"]}}
    drawn = {**done, "boxes": {**done["boxes"], "new": [5, 5, 9, 9, "bra"]}}
    store_drawn = {**done, "boxes": {**done["boxes"], "7": [5, 5, 9, 9 + 1e-6, "bra"]}}
    assert differences(done, done) == []
    assert differences(store_drawn, drawn) == []
    assert differences(store_drawn, done) == ["box 7 should not exist"]
    assert judge(done, done, moved) == ("ok", 0)
    assert judge(moved, done, moved) == ("in flight landed", 0)
    assert judge({**done, "boxes": {}}, done, moved) == ("lost", 1)
    assert judge({**done, "status": "new"}, done, None) == ("lost", 1)


# --- Xvfb and the child ---------------------------------------------------------------------
def child_env(display: str, data_dir: Path, lossy: bool = False) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DISPLAY=display,
        QT_QPA_PLATFORM="xcb",
        CLINLENS_DATA_DIR=str(data_dir),
        PYTHONPATH=str(ROOT),
        QT_SCALE_FACTOR="1",
    )
    env.pop("WAYLAND_DISPLAY", None)
    env.pop(LOSSY_ENV, None)
    if lossy:
        env[LOSSY_ENV] = "1"
    return env


def child_command(*args: str) -> list[str]:
    return [
        sys.executable,
        "-c",
        "import sys; from tests.e2e.test_kill_trials import main; sys.exit(main(sys.argv[1:]))",
        *args,
    ]


def make_trial_project(folder: Path, n_images: int = 3) -> list[int]:
    """Small 16-bit images, xray labels, acne4 required (so "done" needs a grade)."""
    from tests.app.conftest import make_project

    project = make_project(folder, n_images=n_images, size=IMAGE_SIZE)
    try:
        return project.image_ids()
    finally:
        project.close()


# --- the parent: trials and the check -------------------------------------------------------
@dataclass
class Trial:
    index: int
    image_id: int
    delay_s: float
    edits: int = 0
    outcome: str = ""  # ok / in flight landed / lost / no edits
    lost: int = 0
    integrity: str = ""
    last_kind: str = ""  # the edit in flight (or last done) when the kill came
    details: list[str] = field(default_factory=list)


@dataclass
class Report:
    trials: list[Trial] = field(default_factory=list)
    driver_errors: list[str] = field(default_factory=list)
    lossy: bool = False

    @property
    def edits(self) -> int:
        return sum(t.edits for t in self.trials)

    @property
    def lost(self) -> int:
        return sum(t.lost for t in self.trials)

    @property
    def integrity_failures(self) -> int:
        return sum(t.integrity != "ok" for t in self.trials)

    def table(self) -> str:
        landed = sum(t.outcome == "in flight landed" for t in self.trials)
        lines = [
            "| trials | edits made (shown as saved) | edits lost | integrity failures "
            "| kills with the in-flight edit stored |",
            "|---:|---:|---:|---:|---:|",
            f"| {len(self.trials)} | {self.edits} | {self.lost} | {self.integrity_failures} "
            f"| {landed} |",
        ]
        return "\n".join(lines)

    def trial_table(self) -> str:
        lines = [
            "| # | image | kill after ready (s) | edits | killed during | outcome | integrity |",
            "|---:|---:|---:|---:|---|---|---|",
        ]
        for t in self.trials:
            outcome = t.outcome + (f" ({t.lost}: {'; '.join(t.details)})" if t.lost else "")
            lines.append(
                f"| {t.index} | {t.image_id} | {t.delay_s:.2f} | {t.edits} | {t.last_kind} "
                f"| {outcome} | {t.integrity} |"
            )
        return "\n".join(lines)


def run_trials(
    work: Path,
    *,
    trials: int,
    seed: int,
    display: str,
    lossy: bool = False,
    max_delay_s: float = 4.0,
    n_images: int = 3,
    log: Callable[[str], None] | None = None,
) -> Report:
    """Kill the app ``trials`` times at seeded random moments; check the store after each.

    The project carries over from trial to trial (each trial reopens what the last one
    left), one image per trial in turn.
    """
    folder = work / "proj"
    image_ids = make_trial_project(folder, n_images)
    rng = random.Random(seed)
    report = Report(lossy=lossy)
    env = child_env(display, work / "data", lossy)
    for index in range(trials):
        trial = Trial(index, image_ids[index % len(image_ids)], rng.uniform(0.0, max_delay_s))
        journal = work / f"journal-{index:03d}.jsonl"
        child_log = work / f"child-{index:03d}.log"
        child_seed = rng.randrange(2**31)
        with open(child_log, "wb") as out:
            proc = subprocess.Popen(
                child_command(
                    "drive", str(folder), str(journal), str(trial.image_id), str(child_seed)
                ),
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            try:
                ready = _wait_for_ready(journal, proc, 120.0)
                if ready:
                    time.sleep(trial.delay_s)
                alive = proc.poll() is None
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
        if not ready or not alive:
            tail = child_log.read_text(errors="replace")[-3000:]
            errors = [r["error"] for r in _records(journal) if "error" in r]
            report.driver_errors.append(
                f"trial {index}: the driver {'never got ready' if not ready else 'ended'}: "
                f"{errors[-1] if errors else tail}"
            )
        check_trial(folder, journal, trial)
        report.trials.append(trial)
        if log is not None:
            log(
                f"trial {index}: {trial.edits} edits, killed after {trial.delay_s:.2f} s during "
                f"'{trial.last_kind}': {trial.outcome}, integrity {trial.integrity}"
            )
    return report


def _wait_for_ready(journal: Path, proc: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any("ready" in r for r in _records(journal)):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def _records(journal: Path) -> list[dict[str, Any]]:
    """The journal's complete lines (a line cut by the kill is not a record)."""
    if not journal.exists():
        return []
    out = []
    for line in journal.read_bytes().split(b"\n"):
        with contextlib.suppress(ValueError):
            out.append(json.loads(line))
    return out


def check_trial(folder: Path, journal: Path, trial: Trial) -> None:
    """Reopen read-only, check integrity and that the image holds what the window showed."""
    from core.store import Project

    records = _records(journal)
    ready = next((r for r in records if "ready" in r), None)
    done = [r for r in records if "done" in r]
    trial.edits = len(done)
    expected = done[-1]["state"] if done else (ready["state"] if ready else None)
    last_done = done[-1]["done"] if done else 0
    in_flight = next((r for r in records if "intent" in r and r["intent"] == last_done + 1), None)
    trial.last_kind = (in_flight or (done[-1] if done else {})).get("kind", "")
    project = Project.open(folder, read_only=True)
    try:
        trial.integrity = str(project._connection().execute("PRAGMA integrity_check").fetchone()[0])
        if expected is None:
            trial.outcome = "no edits"
            return
        stored = store_state(project, trial.image_id)
    finally:
        project.close()
    trial.outcome, trial.lost = judge(stored, expected, in_flight["expect"] if in_flight else None)
    if trial.lost:
        trial.details = differences(stored, expected)


def judge(stored: State, done: State, in_flight: State | None) -> tuple[str, int]:
    """("ok" | "in flight landed" | "lost", items lost). Items lost: the fewest differences
    from either allowed state (each is an edit the window showed and the store lacks)."""
    missing = differences(stored, done)
    if not missing:
        return "ok", 0
    if in_flight is not None:
        other = differences(stored, in_flight)
        if not other:
            return "in flight landed", 0
        return "lost", min(len(missing), len(other))
    return "lost", len(missing)


def store_state(project: Any, image_id: int) -> State:
    return {
        "boxes": {str(b.id): [b.x1, b.y1, b.x2, b.y2, b.label] for b in project.boxes(image_id)},
        "grades": {
            g.scale: g.value for g in project.grading.grades(image_id) if g.source == "human"
        },
        "status": project.image(image_id).review_status,
    }


def _same_box(a: list[Any], b: list[Any]) -> bool:
    return a[4] == b[4] and all(
        abs(float(p) - float(q)) <= TOL for p, q in zip(a[:4], b[:4], strict=True)
    )


def differences(actual: State, expected: State) -> list[str]:
    """What ``actual`` lacks or has beyond ``expected`` ("new": one box of unknown id)."""
    out: list[str] = []
    want = dict(expected["boxes"])
    new = want.pop("new", None)
    extra = [k for k in actual["boxes"] if k not in want]
    for key, box in want.items():
        got = actual["boxes"].get(key)
        if got is None:
            out.append(f"box {key} missing")
        elif not _same_box(got, box):
            out.append(f"box {key} is {got}, expected {box}")
    if new is not None:
        match = next((k for k in extra if _same_box(actual["boxes"][k], new)), None)
        if match is None:
            out.append(f"new box {new} missing")
        else:
            extra.remove(match)
    out += [f"box {k} should not exist" for k in extra]
    for scale in sorted(set(actual["grades"]) | set(expected["grades"])):
        if actual["grades"].get(scale) != expected["grades"].get(scale):
            out.append(
                f"grade {scale} is {actual['grades'].get(scale)}, "
                f"expected {expected['grades'].get(scale)}"
            )
    if actual["status"] != expected["status"]:
        out.append(f"status is {actual['status']}, expected {expected['status']}")
    return out


# --- the child: the app plus a user driving it ----------------------------------------------
def _wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    from PySide6.QtTest import QTest

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        QTest.qWait(10)


def open_window(project_dir: str, image_id: int) -> tuple[Any, Any]:
    """Start the GUI on the project as ``python main.py PROJECT`` does; show ``image_id``."""
    from PySide6.QtTest import QTest

    from app.launch import start_gui

    app, window = start_gui([project_dir])
    window.resize(1400, 900)
    window.raise_()
    window.activateWindow()
    QTest.qWaitForWindowActive(window, 5000)
    _wait_until(lambda: window.annotations.image_id is not None, 60, "the project to open")
    if window.annotations.image_id != image_id:
        window.images.select_image(image_id)  # a click on its row in the list
    _wait_until(
        lambda: (
            window.annotations.image_id == image_id
            and window.display.image_id == image_id
            and window.display.raw is not None
            and window.canvas.image_item is not None
            and len(window.canvas.items_by_id) == len(window.annotations.boxes)
        ),
        30,
        f"image {image_id} on screen",
    )
    window.canvas.setFocus()
    return app, window


class Driver:
    """Random edits through keys and the mouse; each journaled once the window shows it."""

    def __init__(self, window: Any, journal_fd: int, seed: int, lossy: bool) -> None:
        self.w = window
        self.canvas = window.canvas
        self.fd = journal_fd
        self.rng = random.Random(seed)
        self.lossy = lossy
        self.n = 0
        self.state = self.shown()
        # The undo steps as this driver expects them: (kind, state before the step).
        self.steps: list[tuple[str, State]] = []

    # --- journal and window state -----------------------------------------------------------
    def journal(self, record: dict[str, Any]) -> None:
        os.write(self.fd, (json.dumps(record) + "\n").encode())
        os.fsync(self.fd)

    def shown(self) -> State:
        """What the window shows: the canvas's boxes, the grade panel, the review status."""
        boxes = {}
        for box_id, item in self.canvas.items_by_id.items():
            r = item.rect()
            boxes[str(box_id)] = [r.left(), r.top(), r.right(), r.bottom(), item.view.label]
        grades = {n: row.value for n, row in self.w.grades.rows.items() if row.value is not None}
        return {
            "boxes": boxes,
            "grades": grades,
            "status": self.w.annotations.record.review_status,
        }

    # --- input ------------------------------------------------------------------------------
    def key(self, key: Any, mods: Any = None) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        self.canvas.setFocus()
        QTest.keyClick(
            self.canvas, key, mods if mods is not None else Qt.KeyboardModifier.NoModifier
        )

    def view_point(self, x: float, y: float) -> Any:
        return self.canvas.map_image_to_view(x, y)

    def scene(self, view_point: Any) -> Any:
        return self.canvas.mapToScene(view_point)

    def select(self, box_id: str) -> str | None:
        """Escape, then click the box's centre; the id of the box that got selected."""
        from PySide6.QtCore import Qt

        from tests.app.conftest import click

        x1, y1, x2, y2, _ = self.state["boxes"][box_id]
        a = self.view_point((x1 + x2) / 2, (y1 + y2) / 2)
        self.key(Qt.Key.Key_Escape)
        click(self.canvas.viewport(), a)
        return None if self.canvas.selected_id is None else str(self.canvas.selected_id)

    # --- one edit ---------------------------------------------------------------------------
    def edit(self, kind: str, expect: State, perform: Callable[[], None]) -> None:
        self.n += 1
        before_steps = self.w.annotations.history.undo_count
        pre = self.state
        if self.lossy:
            # Deliberately wrong order: "shown as saved" before it is even done.
            self.journal({"done": self.n, "kind": kind, "state": expect, "lossy": True})
            from PySide6.QtTest import QTest

            QTest.qWait(LOSSY_HOLD_MS)
            perform()
        else:
            self.journal({"intent": self.n, "kind": kind, "expect": expect})
            perform()
        miss: list[str] = []
        try:
            _wait_until(lambda: not differences(self.shown(), expect), 1.5, f"{kind} shown")
        except TimeoutError:
            miss = differences(self.shown(), expect)
        self.state = self.shown()
        if not self.lossy:
            self.journal({"done": self.n, "kind": kind, "state": self.state, "miss": miss})
        after_steps = self.w.annotations.history.undo_count
        if kind == "undo":
            if after_steps < before_steps and self.steps:
                self.steps.pop()
        elif after_steps > before_steps:
            self.steps.append((kind, pre))
        elif after_steps < before_steps and self.steps:
            self.steps.pop()  # a nudge run back where it began: its step is gone

    def started(self, state: State) -> str:
        # Any edit saved on a "new" image moves it to "in progress".
        return "in_progress" if state["status"] == "new" else state["status"]

    def with_box(self, box_id: str, box: list[Any]) -> State:
        boxes = dict(self.state["boxes"])
        boxes[box_id] = box
        return {**self.state, "boxes": boxes, "status": self.started(self.state)}

    # --- the edits --------------------------------------------------------------------------
    def draw(self) -> None:
        from PySide6.QtCore import QRectF, Qt

        from app.canvas.geometry import clamp_point
        from tests.app.conftest import drag

        w, h = IMAGE_SIZE
        x1, y1 = self.rng.uniform(1, w - 40), self.rng.uniform(1, h - 40)
        x2 = x1 + self.rng.uniform(12, min(90.0, w - 1 - x1))
        y2 = y1 + self.rng.uniform(12, min(90.0, h - 1 - y1))
        a, b = self.view_point(x1, y1), self.view_point(x2, y2)
        image = self.canvas.image_rect
        # What the canvas will compute from these exact pointer positions.
        r = QRectF(clamp_point(self.scene(a), image), clamp_point(self.scene(b), image))
        r = r.normalized()
        label = self.w.labels.current()
        expect = self.with_box("new", [r.left(), r.top(), r.right(), r.bottom(), label])

        def perform() -> None:
            self.key(Qt.Key.Key_W)
            drag(self.canvas.viewport(), a, b)

        self.edit("draw", expect, perform)

    def move(self) -> None:
        from app.canvas.geometry import moved_rect
        from tests.app.conftest import drag

        box_id = self.rng.choice(sorted(self.state["boxes"]))
        x1, y1, x2, y2, _ = self.state["boxes"][box_id]
        a = self.view_point((x1 + x2) / 2, (y1 + y2) / 2)
        dx, dy = self.rng.uniform(-40, 40), self.rng.uniform(-40, 40)
        b = self.view_point((x1 + x2) / 2 + dx, (y1 + y2) / 2 + dy)
        from PySide6.QtCore import Qt

        self.key(Qt.Key.Key_Escape)  # nothing selected: no handle under the pointer
        grabbed = self.canvas.box_at(self.scene(a))  # the smallest box under the pointer
        if grabbed is None:
            return
        item = self.canvas.items_by_id[grabbed]
        new = moved_rect(item.rect(), self.scene(b) - self.scene(a), self.canvas.image_rect)
        if new == item.rect():
            return
        expect = self.with_box(
            str(grabbed), [new.left(), new.top(), new.right(), new.bottom(), item.view.label]
        )
        self.edit("move", expect, lambda: drag(self.canvas.viewport(), a, b))

    def nudge_run(self) -> None:
        """1-6 arrow presses close together (one run, one undo step), each its own edit."""
        from PySide6.QtCore import QPointF, Qt
        from PySide6.QtTest import QTest

        from app.canvas.geometry import moved_rect

        selected = self.select(self.rng.choice(sorted(self.state["boxes"])))
        if selected is None:
            return
        arrows = {
            Qt.Key.Key_Left: (-1, 0),
            Qt.Key.Key_Right: (1, 0),
            Qt.Key.Key_Up: (0, -1),
            Qt.Key.Key_Down: (0, 1),
        }
        for _ in range(self.rng.randint(1, 6)):
            key = self.rng.choice(list(arrows))
            shift = self.rng.random() < 0.3
            step = 10.0 if shift else 1.0
            dx, dy = arrows[key]
            item = self.canvas.items_by_id[int(selected)]
            new = moved_rect(item.rect(), QPointF(dx * step, dy * step), self.canvas.image_rect)
            if new == item.rect():
                continue
            expect = self.with_box(
                selected, [new.left(), new.top(), new.right(), new.bottom(), item.view.label]
            )
            mods = Qt.KeyboardModifier.ShiftModifier if shift else None
            self.edit("nudge", expect, lambda key=key, mods=mods: self.key(key, mods))
            QTest.qWait(self.rng.randint(0, 60))  # auto-repeat speed or a little slower

    def relabel(self) -> None:
        from PySide6.QtCore import Qt

        selected = self.select(self.rng.choice(sorted(self.state["boxes"])))
        if selected is None:
            return
        names = self.w.labels.names()[:9]
        box = self.state["boxes"][selected]
        choices = [i for i, n in enumerate(names) if n != box[4]]
        i = self.rng.choice(choices)
        expect = self.with_box(selected, [*box[:4], names[i]])
        self.edit("relabel", expect, lambda: self.key(Qt.Key(int(Qt.Key.Key_1) + i)))

    def grade(self) -> None:
        from PySide6.QtCore import Qt

        panel = self.w.grades
        row = list(panel.rows.values())[panel.active]
        values = [float(v.value) for v in row.scale.values]
        d = self.rng.randrange(min(len(values), 10))
        # GradePanel.digit: the value d when the scale has it, else its d-th value.
        target = next((v for v in values if abs(v - d) < 1e-9), values[d])
        grades = {**self.state["grades"], row.scale.name: target}
        expect = {**self.state, "grades": grades, "status": self.started(self.state)}
        self.edit(
            "grade",
            expect,
            lambda: self.key(Qt.Key(int(Qt.Key.Key_0) + d), Qt.KeyboardModifier.AltModifier),
        )

    def toggle_done(self) -> None:
        from PySide6.QtCore import Qt

        status = self.state["status"]
        if status != "done" and self.w.grades.missing_required():
            return  # refused until graded: not an edit
        target = "in_progress" if status == "done" else "done"
        self.edit("done", {**self.state, "status": target}, lambda: self.key(Qt.Key.Key_Space))

    def undo(self) -> None:
        from PySide6.QtCore import Qt

        if self.steps:
            kind, pre = self.steps[-1]
            # Undo restores the step's state; a status only when the step set it (a first
            # box on a "new" image, done / back): other edits' "in progress" stays.
            status = pre["status"] if kind in ("draw", "done") else self.state["status"]
            expect = {**pre, "status": status}
        else:
            expect = self.state  # nothing to undo
        self.edit(
            "undo", expect, lambda: self.key(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        )

    def run(self, limit_s: float) -> None:
        end = time.monotonic() + limit_s
        from PySide6.QtTest import QTest

        while time.monotonic() < end:
            has_boxes = bool(self.state["boxes"])
            actions: list[tuple[Callable[[], None], float]] = [
                (self.draw, 3.0 if len(self.state["boxes"]) < 12 else 0.3),
                (self.move, 2.0 if has_boxes else 0.0),
                (self.nudge_run, 3.0 if has_boxes else 0.0),
                (self.relabel, 1.5 if has_boxes else 0.0),
                (self.grade, 1.2),
                (self.toggle_done, 1.0),
                (self.undo, 1.5),
            ]
            fns, weights = zip(*actions, strict=True)
            self.rng.choices(fns, weights)[0]()
            QTest.qWait(self.rng.randint(0, 40))


def drive(project_dir: str, journal_path: str, image_id: str, seed: str) -> int:
    fd = os.open(journal_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        _app, window = open_window(project_dir, int(image_id))  # _app: keeps Qt alive
        driver = Driver(window, fd, int(seed), lossy=os.environ.get(LOSSY_ENV) == "1")
        driver.journal({"ready": True, "image": int(image_id), "state": driver.state})
        driver.run(DRIVE_LIMIT_S)
        return 0
    except Exception:
        text = traceback.format_exc()
        print(text, file=sys.stderr)
        os.write(fd, (json.dumps({"error": text}) + "\n").encode())
        os.fsync(fd)
        return 1


# --- the child: cost of a held arrow key --------------------------------------------------
def nudge_bench(project_dir: str, image_id: str, out_path: str, presses: str) -> int:
    """Hold an arrow key at auto-repeat speed (30/s) on a box: each press is saved at once.

    Writes per-press handling times (the key event, its transaction with fsync, the redraw),
    when each press started (a save slower than the interval would push them apart), and
    whether every press landed.
    """
    from PySide6.QtCore import QElapsedTimer, QEvent, Qt, QTimer
    from PySide6.QtGui import QKeyEvent
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from tests.app.conftest import drag

    n = int(presses)
    app, window = open_window(project_dir, int(image_id))
    canvas = window.canvas
    canvas.setFocus()
    QTest.keyClick(canvas, Qt.Key.Key_W)
    drag(canvas.viewport(), canvas.map_image_to_view(20, 20), canvas.map_image_to_view(80, 60))
    box_id = canvas.selected_id
    start = window.project.box(box_id)
    steps_before = window.annotations.history.undo_count
    interval_ms = 1000.0 / 30
    handling: list[float] = []
    starts: list[float] = []
    clock = QElapsedTimer()
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(round(interval_ms))

    def press() -> None:
        i = len(handling)
        starts.append(clock.nsecsElapsed() / 1e6)
        t0 = time.perf_counter()
        if i == 0:
            QTest.keyClick(canvas, Qt.Key.Key_Right)
        else:  # what a held key sends: release + press pairs flagged auto-repeat
            for kind in (QEvent.Type.KeyRelease, QEvent.Type.KeyPress):
                event = QKeyEvent(kind, Qt.Key.Key_Right, Qt.KeyboardModifier.NoModifier, "", True)
                QApplication.sendEvent(canvas, event)
        handling.append((time.perf_counter() - t0) * 1000)
        if len(handling) >= n:
            timer.stop()

    timer.timeout.connect(press)
    clock.start()
    timer.start()
    _wait_until(lambda: len(handling) >= n, n * 0.2 + 10, "the held key's presses")
    end = window.project.box(box_id)
    result = {
        "presses": n,
        "handling_ms": handling,
        "starts_ms": starts,
        "interval_ms": timer.interval(),
        "wall_s": clock.nsecsElapsed() / 1e9,
        "moved_px": end.x1 - start.x1,
        "undo_steps_added": window.annotations.history.undo_count - steps_before,
        "platform": app.platformName(),
    }
    Path(out_path).write_text(json.dumps(result), encoding="utf-8")
    window.close()
    return 0


def main(argv: list[str]) -> int:
    mode, *args = argv
    if mode == "drive":
        return drive(*args)
    if mode == "nudge-bench":
        return nudge_bench(*args)
    raise SystemExit(f"unknown mode {mode!r}")
