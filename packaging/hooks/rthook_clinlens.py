"""PyInstaller runtime hook: runs before main.py in the frozen ClinLens.

The install folder may be read-only (Program Files, /opt): everything a library would write
next to itself or into the home folder goes to the user's ClinLens data folder instead,
before those libraries are imported (they read these variables at import time).
"""

import os
import sys


def _data_dir():
    override = os.environ.get("CLINLENS_DATA_DIR")
    if override:
        return override
    if sys.platform == "win32":
        base = os.environ.get("APPDATA") or os.path.join(
            os.path.expanduser("~"), "AppData", "Roaming"
        )
        return os.path.join(base, "ClinLens")
    if sys.platform == "darwin":
        return os.path.join(os.path.expanduser("~"), "Library", "Application Support", "ClinLens")
    xdg = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return os.path.join(xdg, "clinlens")


def _setup():
    data = _data_dir()
    for var, sub in (
        ("YOLO_CONFIG_DIR", "ultralytics"),
        ("MPLCONFIGDIR", os.path.join("ultralytics", "matplotlib")),
        ("TORCH_HOME", "torch"),
        ("TORCHINDUCTOR_CACHE_DIR", os.path.join("torch", "inductor")),
    ):
        os.environ.setdefault(var, os.path.join(data, sub))
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "0")
    # No .pyc writing beside the bundle's modules.
    sys.dont_write_bytecode = True


_setup()
