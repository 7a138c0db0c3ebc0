"""Check a built bundle: ``python packaging/frozen_check.py dist/ClinLens/ClinLens``.

0. the files that no import brings in and that hooks have missed before are in the bundle
   (torchvision's operator library, loaded with ``torch.ops.load_library``);
1. ``ClinLens self-test --json`` (every heavy path, the worker children re-launched from the
   executable); prints one line per step;
2. the GUI starts to a painted window (``CLINLENS_STARTUP_PROBE``) with Qt's xcb plugin
   under Xvfb on Linux (the platform's default plugin elsewhere), and torch is not loaded in
   the window's process.

Exit status 0 only when both pass. Needs no ClinLens import: it runs with any Python 3.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def log(text: str) -> None:
    print(f"frozen: {text}", flush=True)


# Files PyInstaller's analysis cannot see (loaded by path at run time), which a build has
# shipped without: name them here, before the self-test fails on them deep in a child.
REQUIRED_FILES = (
    ("torchvision/_C_stable.so", "torchvision's operators (nms): torch.ops.load_library"),
)


def bundle_files(exe: Path) -> bool:
    internal = exe.parent / "_internal"
    if not sys.platform.startswith("linux") or not (internal / "torchvision").is_dir():
        return True  # other platforms name the library differently; the self-test checks
    missing = [f"{name} ({why})" for name, why in REQUIRED_FILES if not (internal / name).is_file()]
    for item in missing:
        log(f"missing from the bundle: {item}")
    return not missing


def self_test(exe: Path, data: Path, timeout: float) -> tuple[bool, float]:
    start = time.perf_counter()
    env = dict(os.environ, CLINLENS_DATA_DIR=str(data))
    done = subprocess.run(
        [str(exe), "self-test", "--json"],
        capture_output=True, text=True, env=env, timeout=timeout, cwd=data,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    try:
        doc = json.loads(done.stdout)
    except ValueError:
        log(f"self-test printed no JSON (exit {done.returncode}); its stderr ends:")
        print(done.stderr[-3000:], flush=True)
        return False, seconds
    for step in doc["steps"]:
        state = "ok" if step["ok"] else "FAILED"
        log(f"  {step['name']:<22} {state:<6} {step['seconds']:7.2f} s  {step['message']}")
    log(
        f"self-test {'passed' if doc['passed'] else 'FAILED'} in {seconds:.1f} s on {doc['device']}"
    )
    if done.returncode != (0 if doc["passed"] else 1):
        log(f"unexpected exit status {done.returncode}")
        return False, seconds
    return bool(doc["passed"]), seconds


def _xvfb(display: str) -> subprocess.Popen[bytes] | None:
    if not sys.platform.startswith("linux"):
        return None
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise SystemExit("frozen: Xvfb is not installed (apt install xvfb)")
    proc = subprocess.Popen([xvfb, display, "-screen", "0", "1600x1000x24", "-nolisten", "tcp"])
    time.sleep(1.5)
    return proc


def gui_start(exe: Path, data: Path, display: str, timeout: float) -> tuple[bool, float]:
    """Seconds from launch to a painted window (the app's startup probe), xcb on Linux."""
    probe = data / "startup.json"
    env = dict(os.environ, CLINLENS_DATA_DIR=str(data), CLINLENS_STARTUP_PROBE=str(probe))
    if sys.platform.startswith("linux"):
        env.update(QT_QPA_PLATFORM="xcb", DISPLAY=display)
    xvfb = _xvfb(display) if sys.platform.startswith("linux") else None
    try:
        start = time.time()
        done = subprocess.run(
            [str(exe)], capture_output=True, text=True, env=env, timeout=timeout, cwd=data
        )
        if not probe.is_file():
            log(f"the window did not open (exit {done.returncode}): {done.stderr[-2000:]}")
            return False, 0.0
        info = json.loads(probe.read_text(encoding="utf-8"))
        seconds = float(info["wall_time"]) - start
        heavy = info.get("heavy_modules") or []
        log(f"window painted in {seconds:.2f} s on the '{info['platform']}' platform plugin")
        if heavy:
            log(f"the window's process loaded {', '.join(heavy)}")
            return False, seconds
        want = "xcb" if sys.platform.startswith("linux") else info["platform"]
        return info["platform"] == want, seconds
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(5)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("exe", type=Path)
    p.add_argument("--display", default=":93", help="Xvfb display for the GUI check (Linux)")
    p.add_argument("--timeout", type=float, default=900)
    p.add_argument("--json", type=Path, help="write the timings here")
    args = p.parse_args(argv)
    args.exe = args.exe.resolve()  # the checks run from a scratch folder
    if not args.exe.is_file():
        log(f"{args.exe} does not exist: build it with packaging/build.py")
        return 2
    ok_files = bundle_files(args.exe)
    with tempfile.TemporaryDirectory(prefix="clinlens frozen ü ") as tmp:
        data = Path(tmp)
        ok_test, test_s = self_test(args.exe, data, args.timeout)
        ok_gui, gui_s = gui_start(args.exe, data, args.display, 120)
    if args.json:
        args.json.write_text(json.dumps({"self_test_s": test_s, "gui_start_s": gui_s}))
    ok = ok_files and ok_test and ok_gui
    log("bundle check " + ("passed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
