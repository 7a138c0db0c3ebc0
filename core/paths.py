"""Where ClinLens keeps its own data (settings, demo project, ultralytics settings, logs).

``CLINLENS_DATA_DIR`` overrides the platform default; tests point it at a temporary folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def app_data_dir() -> Path:
    override = os.environ.get("CLINLENS_DATA_DIR")
    if override:
        base = Path(override)
    elif sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "ClinLens"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support" / "ClinLens"
    else:
        xdg = os.environ.get("XDG_DATA_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".local" / "share") / "clinlens"
    base.mkdir(parents=True, exist_ok=True)
    return base


def log_dir() -> Path:
    d = app_data_dir() / "logs"
    d.mkdir(parents=True, exist_ok=True)
    return d
