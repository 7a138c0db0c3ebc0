"""Build the one-folder ClinLens bundle: ``python packaging/build.py [--out DIR]``.

Steps, each printed with its time:

1. a clean build environment (``build/freeze-venv``) from the project's own pins in
   ``pyproject.toml`` plus ``packaging/requirements-build.txt`` (PyInstaller);
2. ``opencv-python`` swapped for ``opencv-python-headless`` of the same version: the former
   carries Qt 5 plugins that clash with PySide6's xcb plugin (ultralytics pulls it back in,
   so the swap is done after the install);
3. the third-party notices, collected from that environment's distributions;
4. PyInstaller with ``packaging/clinlens.spec``, leaving ``DIR/ClinLens/ClinLens``;
5. with ``--tarball OUT`` (Linux), the release tarball and its ``.sha256`` in ``OUT``
   (``packaging/linux/make_tarball.py``, run by the build environment's Python).

``--reuse-env`` keeps an environment made earlier from the same pins (its pins are recorded
in it), which a developer's second build wants; CI and release builds leave it off.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "clinlens.spec"
BUILD_REQS = PACKAGING / "requirements-build.txt"


def log(message: str) -> None:
    print(f"build: {message}", flush=True)


def project_pins() -> list[str]:
    """The runtime dependencies exactly as pyproject.toml states them."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(data["project"]["dependencies"])


def env_python(venv: Path) -> Path:
    if sys.platform == "win32":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def run(cmd: list[str], **kwargs: object) -> None:
    log("$ " + " ".join(str(c) for c in cmd))
    subprocess.run([str(c) for c in cmd], check=True, **kwargs)  # type: ignore[call-overload]


def pins_digest(pins: list[str]) -> str:
    text = "\n".join([*pins, BUILD_REQS.read_text(encoding="utf-8"), sys.version])
    return hashlib.sha256(text.encode()).hexdigest()


def make_env(venv: Path, *, reuse: bool) -> Path:
    pins = project_pins()
    digest = pins_digest(pins)
    stamp = venv / "clinlens-pins.sha256"
    python = env_python(venv)
    if reuse and python.exists() and stamp.is_file() and stamp.read_text().strip() == digest:
        log(f"reusing {venv} (same pins)")
        return python
    if venv.exists():
        shutil.rmtree(venv)
    base = getattr(sys, "_base_executable", sys.executable)
    run([base, "-m", "venv", venv])
    pip = [python, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    run([*pip, "--upgrade", "pip", "wheel"])
    run([*pip, *pins, "-r", BUILD_REQS])
    swap_opencv_for_headless(python)
    stamp.write_text(digest + "\n")
    return python


def swap_opencv_for_headless(python: Path) -> None:
    """Replace opencv-python by the headless wheel of the same version (no Qt 5 plugins)."""
    out = subprocess.run(
        [python, "-c", "import importlib.metadata as m; print(m.version('opencv-python'))"],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        log("opencv-python is not installed; nothing to swap")
        return
    version = out.stdout.strip()
    run([python, "-m", "pip", "uninstall", "-y", "-q", "opencv-python"])
    # Both wheels own the cv2 folder: reinstall so no file is left half-removed.
    run(
        [
            python,
            "-m",
            "pip",
            "install",
            "-q",
            "--force-reinstall",
            "--no-deps",
            f"opencv-python-headless=={version}",
        ]
    )


def write_notices(python: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    code = (
        "import sys; sys.path.insert(0, sys.argv[2]);"
        "from core.notices import collect_notices;"
        "open(sys.argv[1], 'w', encoding='utf-8').write(collect_notices())"
    )
    run([python, "-c", code, target, ROOT])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="default: dist/")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller")
    parser.add_argument("--env", type=Path, default=ROOT / "build" / "freeze-venv")
    parser.add_argument(
        "--reuse-env", action="store_true", help="keep an environment built from the same pins"
    )
    parser.add_argument(
        "--tarball", type=Path, help="Linux: also write the release tarball into this folder"
    )
    args = parser.parse_args(argv)
    times: dict[str, float] = {}

    t0 = time.perf_counter()
    python = make_env(args.env.resolve(), reuse=args.reuse_env)
    times["environment_s"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    notices = args.work.resolve() / "THIRD_PARTY_NOTICES.txt"
    write_notices(python, notices)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    (notices.parent / "CLINLENS_VERSION").write_text(version["version"] + "\n")
    icons = args.work.resolve() / "icons"
    run([python, PACKAGING / "make_icons.py", icons])
    env = dict(
        os.environ, CLINLENS_NOTICES=str(notices), CLINLENS_ICONS=str(icons), PYTHONNOUSERSITE="1"
    )
    env.pop("PYTHONPATH", None)  # the spec imports ClinLens from this checkout, not elsewhere
    run(
        [
            python,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--clean",
            "--log-level",
            "WARN",
            "--distpath",
            args.out.resolve(),
            "--workpath",
            args.work.resolve(),
            SPEC,
        ],
        env=env,
        cwd=ROOT,
    )
    times["pyinstaller_s"] = time.perf_counter() - t1
    exe = (
        args.out.resolve()
        / "ClinLens"
        / ("ClinLens.exe" if sys.platform == "win32" else "ClinLens")
    )
    if not exe.is_file():
        log(f"PyInstaller finished but {exe} is missing")
        return 1
    if args.tarball:
        t2 = time.perf_counter()
        tarball = [python, PACKAGING / "linux" / "make_tarball.py", "--dist", args.out.resolve()]
        run([*tarball, "--out", args.tarball.resolve()])
        times["tarball_s"] = time.perf_counter() - t2
    times["total_s"] = time.perf_counter() - t0
    (args.work.resolve() / "build-times.json").write_text(json.dumps(times, indent=1))
    log(f"done: {exe}  ({', '.join(f'{k} {v:.0f}' for k, v in times.items())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
