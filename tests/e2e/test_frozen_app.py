"""End to end against the built app: the frozen ClinLens opens a project, suggests, quits.

    CLINLENS_FROZEN_APP=dist/ClinLens/ClinLens pytest tests/e2e/test_frozen_app.py -p no:xdist

The other end-to-end tests drive the GUI from inside its own process; a frozen executable
runs no test code, so this one drives it from outside, as a user would, on a private Xvfb
with the xcb plugin: it starts ``ClinLens PROJECT`` on a generated project (a path with
spaces and non-ASCII characters, one 16-bit TIFF, a tiny detector whose class scores are
set high so that a box passes the panel's 0.25 threshold), waits for the window to be
mapped, presses Ctrl+M (suggest for this image) and Ctrl+Q (quit) with XTest key events,
and checks what the app left behind: model suggestions in the project database, the
detector child started from the executable, exit status 0, no child left running.

Skipped only when CLINLENS_FROZEN_APP is unset (``packaging/ci_frozen.sh`` sets it after
building the bundle). Needs Xvfb, ``xwininfo`` (x11-utils) and libXtst.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

FROZEN = os.environ.get("CLINLENS_FROZEN_APP", "")

pytestmark = [
    pytest.mark.xvfb,
    pytest.mark.skipif(
        not FROZEN, reason="CLINLENS_FROZEN_APP is not set (point it at a built ClinLens)"
    ),
]

WINDOW_TIMEOUT_S = 180.0  # a cold start of a 5-GiB bundle on a loaded 2-core machine
SUGGEST_TIMEOUT_S = 240.0  # the child imports torch and loads the model first


class XInput:
    """Key presses through the XTEST extension (libXtst via ctypes: nothing to install)."""

    def __init__(self, display: str) -> None:
        c = ctypes
        self.x11 = c.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
        self.xtst = c.CDLL(ctypes.util.find_library("Xtst") or "libXtst.so.6")
        x, t = self.x11, self.xtst
        x.XOpenDisplay.restype, x.XOpenDisplay.argtypes = c.c_void_p, [c.c_char_p]
        x.XStringToKeysym.restype, x.XStringToKeysym.argtypes = c.c_ulong, [c.c_char_p]
        x.XKeysymToKeycode.restype = c.c_ubyte
        x.XKeysymToKeycode.argtypes = [c.c_void_p, c.c_ulong]
        x.XSetInputFocus.argtypes = [c.c_void_p, c.c_ulong, c.c_int, c.c_ulong]
        x.XRaiseWindow.argtypes = [c.c_void_p, c.c_ulong]
        x.XSync.argtypes = [c.c_void_p, c.c_int]
        x.XCloseDisplay.argtypes = [c.c_void_p]
        t.XTestFakeKeyEvent.argtypes = [c.c_void_p, c.c_uint, c.c_int, c.c_ulong]
        t.XTestFakeMotionEvent.argtypes = [c.c_void_p, c.c_int, c.c_int, c.c_int, c.c_ulong]
        self.dpy = x.XOpenDisplay(display.encode())
        if not self.dpy:
            raise RuntimeError(f"cannot open X display {display}")

    def focus(self, window: int, x: int, y: int) -> None:
        """No window manager runs on the Xvfb: give the window the keyboard ourselves."""
        self.xtst.XTestFakeMotionEvent(self.dpy, -1, x, y, 0)
        self.x11.XRaiseWindow(self.dpy, window)
        self.x11.XSetInputFocus(self.dpy, window, 2, 0)  # RevertToParent, CurrentTime
        self.x11.XSync(self.dpy, 0)

    def chord(self, *keysyms: str) -> None:
        codes = [self.x11.XKeysymToKeycode(self.dpy, self.x11.XStringToKeysym(k.encode()))
                 for k in keysyms]  # fmt: skip
        for code in codes:
            self.xtst.XTestFakeKeyEvent(self.dpy, code, 1, 0)
            self.x11.XSync(self.dpy, 0)
        for code in reversed(codes):
            self.xtst.XTestFakeKeyEvent(self.dpy, code, 0, 10)
            self.x11.XSync(self.dpy, 0)

    def close(self) -> None:
        self.x11.XCloseDisplay(self.dpy)


def find_window(display: str, title: str) -> tuple[int, int, int, int, int] | None:
    """(id, x, y, width, height) of a viewable top-level window whose name has ``title``."""
    env = dict(os.environ, DISPLAY=display)
    tree = subprocess.run(["xwininfo", "-root", "-children"], capture_output=True, text=True,
                          env=env, timeout=30).stdout  # fmt: skip
    for line in tree.splitlines():
        m = re.match(r'\s*(0x[0-9a-f]+) "(.*)":', line)
        if not m or title not in m.group(2):
            continue
        info = subprocess.run(["xwininfo", "-id", m.group(1)], capture_output=True, text=True,
                              env=env, timeout=30).stdout  # fmt: skip
        if "IsViewable" not in info:
            continue
        nums = {
            k: int(v)
            for k, v in re.findall(r"(Absolute upper-left [XY]|Width|Height):\s+(-?\d+)", info)
        }
        return (int(m.group(1), 16), nums["Absolute upper-left X"],
                nums["Absolute upper-left Y"], nums["Width"], nums["Height"])  # fmt: skip
    return None


def detector_children(project: Path) -> dict[int, str]:
    """pid -> argv[0] of the processes running ``detector-worker`` on this project."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"detector-worker" in argv and os.fsencode(project) in argv:
            found[int(proc.name)] = os.fsdecode(argv[0])
    return found


def model_suggestions(project: Path) -> int:
    try:
        with sqlite3.connect(project / "project.clinlens", timeout=5) as db:
            row = db.execute(
                "SELECT COUNT(*) FROM boxes WHERE source = 'model' AND status = 'suggested'"
            ).fetchone()
    except sqlite3.OperationalError:  # busy while the app writes: ask again
        return 0
    return int(row[0])


def confident_checkpoint(folder: Path) -> Path:
    """The self-test's tiny detector with its class biases at +4 (score ~0.98 everywhere):
    random weights alone score far below the panel's 0.25, and the test must see a box."""
    import torch

    from ml import offline
    from ml.selftest.tiny_model import CLASSES, write_config

    offline.configure()
    from ultralytics import YOLO

    model = YOLO(str(write_config(folder)))
    model.model.names = dict(enumerate(CLASSES))  # type: ignore[union-attr]
    head = model.model.model[-1]  # type: ignore[union-attr,index]
    with torch.no_grad():
        for branch in head.cv3:
            convs = [m for m in branch.modules() if isinstance(m, torch.nn.Conv2d)]
            convs[-1].bias.fill_(4.0)
    model.ckpt = {"train_args": {"imgsz": 256, "task": "detect"}}
    path = folder / "tiny-confident.pt"
    model.save(str(path))
    return path


@pytest.fixture
def model_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from ml import registry
    from ml.selftest.steps_ml import DETECTOR_IMAGE, _xray_project

    monkeypatch.setenv("CLINLENS_DATA_DIR", str(tmp_path / "builder data"))
    project = tmp_path / "Klinik Projekt ü"
    _xray_project(project, [DETECTOR_IMAGE], reviewed=False)
    (tmp_path / "model").mkdir()
    registry.import_model(project, confident_checkpoint(tmp_path / "model"), "detector", "e2e")
    return project


def _wait(condition, timeout: float, what: str, proc: subprocess.Popen[bytes]):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc.poll() is not None:
            raise AssertionError(f"the app exited ({proc.returncode}) while waiting for {what}")
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def test_frozen_app_opens_a_project_suggests_and_quits_cleanly(
    xvfb_display: str, model_project: Path, tmp_path: Path
) -> None:
    exe = Path(FROZEN).resolve()
    assert exe.is_file(), f"CLINLENS_FROZEN_APP={FROZEN} is not a file"
    env = dict(os.environ, DISPLAY=xvfb_display, QT_QPA_PLATFORM="xcb", QT_SCALE_FACTOR="1",
               CLINLENS_DATA_DIR=str(tmp_path / "app data ü"), CLINLENS_DEVICE="cpu")  # fmt: skip
    for var in ("WAYLAND_DISPLAY", "PYTHONPATH", "PYTHONHOME"):
        env.pop(var, None)
    log = tmp_path / "app.log"
    with log.open("wb") as out:
        t0 = time.monotonic()
        proc = subprocess.Popen([str(exe), str(model_project)], env=env, cwd=tmp_path,
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        keys = None
        try:
            title = f"ClinLens — {model_project.name}"
            win = _wait(lambda: find_window(xvfb_display, title), WINDOW_TIMEOUT_S,
                        f"a window titled {title!r}", proc)  # fmt: skip
            t_window = time.monotonic() - t0
            keys = XInput(xvfb_display)
            wid, x, y, w, h = win

            def ask_for_suggestions() -> bool:
                keys.focus(wid, x + w // 2, y + h // 2)
                keys.chord("Control_L", "m")
                # The request went through once the detector child runs; until the image
                # is open the shortcut does nothing, so ask again.
                end = time.monotonic() + 5
                while time.monotonic() < end:
                    if detector_children(model_project) or model_suggestions(model_project):
                        return True
                    time.sleep(0.25)
                return False

            _wait(ask_for_suggestions, 90, "the detector child after Ctrl+M", proc)
            children = detector_children(model_project)
            n = _wait(lambda: model_suggestions(model_project), SUGGEST_TIMEOUT_S,
                      "model suggestions in the project database", proc)  # fmt: skip
            t_suggest = time.monotonic() - t0
            keys.focus(wid, x + w // 2, y + h // 2)
            keys.chord("Control_L", "q")
            rc = proc.wait(60)
        finally:
            if keys is not None:
                keys.close()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    text = log.read_text(encoding="utf-8", errors="replace")
    print(f"\nfrozen e2e: window {t_window:.1f} s, {n} suggestion(s) stored {t_suggest:.1f} s "
          f"after launch, exit {rc}")  # fmt: skip
    assert rc == 0, f"exit status {rc}; the app's output ends:\n{text[-3000:]}"
    assert "Traceback" not in text, text[-3000:]
    assert n > 0
    assert children, "the suggestions came from a detector child process"
    end = time.monotonic() + 10
    while detector_children(model_project) and time.monotonic() < end:
        time.sleep(0.25)
    assert not detector_children(model_project), "the detector child outlived the window"
    # The child was started from the frozen executable itself (core.workers.clinlens_argv).
    assert {Path(a).resolve() for a in children.values()} == {exe}, children
