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


# --- gpu-marked tests run only where CUDA is ------------------------------------------------
_cuda: list[bool] = []


def _cuda_available() -> bool:
    """``torch.cuda.is_available()``, asked once, in a child interpreter.

    Not in this process: importing torch here would map its libraries into every test run
    (some tests check what a process imports). A Linux machine without an NVIDIA device
    node has no CUDA, which is known without starting torch at all.
    """
    if _cuda:
        return _cuda[0]
    import glob
    import importlib.util
    import subprocess

    if "torch" in sys.modules:
        found = bool(sys.modules["torch"].cuda.is_available())
    elif importlib.util.find_spec("torch") is None or (
        sys.platform.startswith("linux") and not glob.glob("/dev/nvidia[0-9]*")
    ):
        found = False
    else:
        probe = "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"
        try:
            found = (
                subprocess.run(
                    [sys.executable, "-c", probe], capture_output=True, timeout=300
                ).returncode
                == 0
            )
        except (OSError, subprocess.TimeoutExpired):
            found = False
    _cuda.append(found)
    return found


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gpu_items = [item for item in items if item.get_closest_marker("gpu") is not None]
    if not gpu_items or _cuda_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU: torch.cuda.is_available() is False")
    for item in gpu_items:
        item.add_marker(skip)
