"""Cold start to a visible window: ClinLens against LabelImg 1.8.6 and a bare window.

    DISPLAY=:NN .venv/bin/python benchmarks/startup.py [--runs 7] [--baseline TREE]

Each run spawns a fresh interpreter and measures from the spawn to the first event-loop
turn with the window shown (ClinLens' CLINLENS_STARTUP_PROBE: the project opened and
listed), on the X server of $DISPLAY (xcb; Xvfb in CI). The programs are started in
turn, run after run, so load on a shared machine hits them alike:

  * ``main.py PROJECT_DIR`` of this tree (a 3-image project made once);
  * the same of ``--baseline TREE`` (e.g. ``git archive <commit> | tar -x -C TREE``), to
    show before/after in one run;
  * LabelImg 1.8.6 (``labelImg.labelImg.get_main_app``, PyQt5: the tool the issue
    compares with), to its first event-loop turn with the window shown;
  * a bare PySide6 ``QMainWindow`` (the floor: interpreter + Qt);
  * with ``--first-image``, each ClinLens tree again to its first image on screen
    (``MainWindow.image_shown``): the window may show sooner only if the pixels do not
    come later.
It also lists the modules a start imports that it should not (torch, ultralytics,
pydicom, tifffile, ml.*): the test ``tests/app/test_startup_imports.py`` pins them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_LABELIMG = (
    "import sys, time, json\n"
    "from PyQt5.QtCore import QTimer\n"
    "from labelImg.labelImg import get_main_app\n"
    "app, win = get_main_app([sys.argv[0]])\n"
    "QTimer.singleShot(0, lambda: (print(json.dumps(time.time())), app.quit()))\n"
    "app.exec_()\n"
)
_BARE = (
    "import sys, time, json\n"
    "from PySide6.QtWidgets import QApplication, QMainWindow\n"
    "from PySide6.QtCore import QTimer\n"
    "a = QApplication(sys.argv); w = QMainWindow(); w.show()\n"
    "QTimer.singleShot(0, lambda: (print(json.dumps(time.time())), a.quit())); a.exec()\n"
)


_FIRST_IMAGE = (
    "import sys, time, json\n"
    "from PySide6.QtCore import QTimer\n"
    "from app.launch import start_gui\n"
    "app, win = start_gui(sys.argv[1:])\n"
    "win.image_shown.connect(lambda *_: (print(json.dumps(time.time())), app.quit()))\n"
    "QTimer.singleShot(60000, app.quit)\n"
    "app.exec()\n"
)


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


CPU: dict[str, list[float]] = {}  # CPU seconds of each whole run (start, probe, quit)


def clinlens(tree: Path, project: Path, data: Path) -> tuple[float, list[str]]:
    probe = data / f"probe-{time.monotonic_ns()}.json"
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="xcb",
        CLINLENS_DATA_DIR=str(data),
        CLINLENS_STARTUP_PROBE=str(probe),
        PYTHONPATH=str(tree),
    )
    c0, t0 = _child_cpu(), time.time()
    subprocess.run(
        [sys.executable, "main.py", str(project)], cwd=tree, env=env, check=True,
        capture_output=True, timeout=120,
    )  # fmt: skip
    CPU.setdefault(str(tree), []).append(_child_cpu() - c0)
    result = json.loads(probe.read_text())
    return result["wall_time"] - t0, result["heavy_modules"]


def first_image(tree: Path, project: Path, data: Path) -> float:
    env = dict(os.environ, QT_QPA_PLATFORM="xcb", CLINLENS_DATA_DIR=str(data), PYTHONPATH=str(tree))
    t0 = time.time()
    out = subprocess.run(
        [sys.executable, "-c", _FIRST_IMAGE, str(project)], cwd=tree, env=env,
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    return float(out.stdout.strip().splitlines()[-1]) - t0


def script(code: str, cwd: Path) -> float:
    env = dict(os.environ, QT_QPA_PLATFORM="xcb")
    env.pop("PYTHONPATH", None)
    c0, t0 = _child_cpu(), time.time()
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
        check=True, timeout=120,
    )  # fmt: skip
    CPU.setdefault(code, []).append(_child_cpu() - c0)
    return float(out.stdout.strip().splitlines()[-1]) - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--baseline", type=Path, help="another ClinLens tree to start in turn")
    ap.add_argument("--first-image", action="store_true", help="also time the first image")
    args = ap.parse_args(argv)
    if not os.environ.get("DISPLAY"):
        print("set DISPLAY to an X server (e.g. Xvfb :99 &; DISPLAY=:99)", file=sys.stderr)
        return 2
    # Bytecode first, as an installed copy has it: with PYTHONDONTWRITEBYTECODE set (as on
    # some CI shells) every start would compile ~100 modules from source (~1 s loaded).
    for tree in (ROOT, args.baseline):
        if tree is not None:
            for pkg in ("app", "core", "ml", "main.py"):
                subprocess.run(
                    [sys.executable, "-m", "compileall", "-q", str(tree / pkg)], check=True
                )
    tmp = Path(tempfile.mkdtemp(prefix="clinlens-startup-"))
    # Each tree makes its own project: a newer schema would stop an older tree at a dialog.
    for tree, name in ((ROOT, "proj"), (args.baseline, "proj-base")):
        if tree is not None:
            code = (
                "from pathlib import Path; from tests.app.conftest import make_project; "
                f"make_project(Path({str(tmp / name)!r})).close()"
            )
            env = dict(os.environ, PYTHONPATH=str(tree))
            subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, check=True)
    data = tmp / "data"
    data.mkdir()
    empty = tmp / "cwd"
    empty.mkdir()
    rows: dict[str, list[float]] = {"ClinLens (this tree)": []}
    if args.baseline:
        rows["ClinLens (baseline tree)"] = []
    rows["LabelImg 1.8.6"] = []
    rows["bare PySide6 window"] = []
    if args.first_image:
        rows["ClinLens (this tree), first image on screen"] = []
        if args.baseline:
            rows["ClinLens (baseline tree), first image on screen"] = []
    heavy: set[str] = set()
    load_before = os.getloadavg()[0]
    for _ in range(args.runs):
        secs, mods = clinlens(ROOT, tmp / "proj", data)
        rows["ClinLens (this tree)"].append(secs)
        heavy.update(mods)
        if args.baseline:
            base = clinlens(args.baseline, tmp / "proj-base", data)[0]
            rows["ClinLens (baseline tree)"].append(base)
        rows["LabelImg 1.8.6"].append(script(_LABELIMG, empty))
        rows["bare PySide6 window"].append(script(_BARE, empty))
        if args.first_image:
            secs = first_image(ROOT, tmp / "proj", data)
            rows["ClinLens (this tree), first image on screen"].append(secs)
            if args.baseline:
                secs = first_image(args.baseline, tmp / "proj-base", data)
                rows["ClinLens (baseline tree), first image on screen"].append(secs)
    load_after = os.getloadavg()[0]
    print(
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, DISPLAY {os.environ['DISPLAY']}; "
        f"load {load_before:.2f} -> {load_after:.2f}; {args.runs} runs each, interleaved"
    )
    print(f"Heavy modules at ClinLens' start: {', '.join(sorted(heavy)) or 'none'}")
    print()
    cpu_of = {
        "ClinLens (this tree)": CPU.get(str(ROOT), []),
        "ClinLens (baseline tree)": CPU.get(str(args.baseline), []),
        "LabelImg 1.8.6": CPU.get(_LABELIMG, []),
        "bare PySide6 window": CPU.get(_BARE, []),
    }
    print(
        "| start to a visible window | median ms | min ms | max ms | CPU ms, whole run (median) |"
    )
    print("|---|---:|---:|---:|---:|")
    for name, vals in rows.items():
        ms = [v * 1000 for v in vals]
        cpu = statistics.median(cpu_of[name]) * 1000 if cpu_of.get(name) else float("nan")
        # (no CPU column for the first-image rows: "nan")
        print(
            f"| {name} | {statistics.median(ms):.0f} | {min(ms):.0f} | {max(ms):.0f} | {cpu:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
