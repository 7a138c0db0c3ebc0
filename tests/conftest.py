"""Test setup: offscreen Qt, isolated app data dir and QSettings, no network."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Offscreen unless a test asks for a real X server (the xvfb-marked end-to-end tests).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_app_data(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test gets its own ClinLens data dir (settings, logs, demo project)."""
    data = tmp_path_factory.mktemp("clinlens-data")
    monkeypatch.setenv("CLINLENS_DATA_DIR", str(data))
    return data
