"""Ultralytics runs with no network at all and writes nothing into the user's home folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import socket, sys
    from pathlib import Path

    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(repr(args[:2]))
        sys.stderr.write(f"NETWORK ATTEMPT {args[:2]!r}\\n")
        raise OSError("network is disabled in this test")

    # No way out: connects, DNS lookups and the high-level helpers all fail.
    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse

    from ml import offline

    offline.configure()  # before any ultralytics import, as ClinLens does

    import numpy as np
    from ultralytics.data import utils as data_utils
    from ultralytics.engine import trainer

    from ml.detector import Detector
    from tests.ml.conftest import phantom_to_uint8, make_phantom, train_tiny_yolo

    import subprocess

    real_popen = subprocess.Popen

    class NoPip(real_popen):  # requirement auto-install runs "pip install" in a subprocess
        def __init__(self, args, *a, **k):
            if "pip" in repr(args):
                attempts.append(repr(args))
                raise OSError("pip is disabled in this test")
            super().__init__(args, *a, **k)

    subprocess.Popen = NoPip

    out = Path(sys.argv[1])
    weights = train_tiny_yolo(out / "train", epochs=1, imgsz=64, n_images=4)
    det = Detector.from_file(weights, device="cpu", conf=0.0001)
    img = phantom_to_uint8(make_phantom(np.random.default_rng(0), 150, 100))
    pred = det.predict_rgb8(img)
    # Ultralytics' own entry point on a local checkpoint (what benchmarks and users call).
    from ultralytics import YOLO

    yolo = YOLO(str(weights), task="detect")
    yolo_boxes = yolo.predict(np.dstack([img] * 3), device="cpu", imgsz=64, verbose=False)
    print("RESULT", {
        "tiles": pred.tiles,
        "yolo_results": len(yolo_boxes),
        "font": str(data_utils.check_font("Arial.ttf")),
        "amp_patched": trainer.check_amp is offline.offline_check_amp,
        "attempts": attempts,
    })
    """
)


@pytest.mark.slow
def test_training_and_prediction_work_offline_without_touching_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    data = tmp_path / "clinlens-data"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("YOLO_", "XDG_", "MPLCONFIGDIR", "HF_"))
    }
    env.update(HOME=str(home), CLINLENS_DATA_DIR=str(data), PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "work")],
        cwd=tmp_path,  # not the repo: a stray runs/ folder would show up here
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "NETWORK ATTEMPT" not in proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    result = eval(line[len("RESULT ") :], {})  # a dict literal printed by the child
    assert result["attempts"] == []
    assert result["tiles"] >= 1
    assert result["yolo_results"] == 1
    assert result["amp_patched"] is True
    assert result["font"].startswith(str(data))  # a local font, not a download

    # Nothing in the home folder: no ~/.config/Ultralytics, no matplotlib cache.
    assert not (home / ".config" / "Ultralytics").exists()
    assert [p for p in home.rglob("*")] == []
    settings = json.loads((data / "ultralytics" / "Ultralytics" / "settings.json").read_text())
    assert settings["sync"] is False
    assert settings["runs_dir"].startswith(str(data))
    assert not (tmp_path / "runs").exists()


def test_configure_undoes_ultralytics_import_side_effects_in_this_process() -> None:
    import cv2
    from PIL import Image

    from ml import offline

    offline.configure()
    import ultralytics  # noqa: F401  (already imported: nothing changes)

    # A corrupt image must still raise Pillow's own error, not try to install pi-heif.
    assert getattr(Image.open, "__module__", "") != "ultralytics.utils.patches"
    assert cv2.getNumThreads() > 0 or os.cpu_count() == 1


LATE_CHILD = textwrap.dedent(
    """
    import ultralytics  # someone imported it before ClinLens could configure it

    from ml import offline

    offline.configure()
    from ultralytics.utils import SETTINGS, checks

    print("RESULT", {"sync": SETTINGS["sync"], "font": str(checks.check_font("Arial.ttf"))})
    """
)


@pytest.mark.slow
def test_configuring_after_ultralytics_was_imported_writes_nothing_more_into_home(
    tmp_path: Path,
) -> None:
    # Ultralytics writes its settings file into ~/.config when it is imported without
    # YOLO_CONFIG_DIR; that cannot be undone, but ClinLens must not add its fonts there
    # nor rewrite the user's own ultralytics settings (runs_dir pointing into ClinLens).
    home = tmp_path / "home"
    data = tmp_path / "clinlens-data"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YOLO_", "XDG_", "HF_"))}
    env.update(HOME=str(home), CLINLENS_DATA_DIR=str(data), PYTHONPATH=str(ROOT))
    env["MPLCONFIGDIR"] = str(tmp_path / "mpl")
    settings_file = home / ".config" / "Ultralytics" / "settings.json"
    proc = subprocess.run(
        [sys.executable, "-c", "import ultralytics"], env=env, capture_output=True, timeout=120
    )
    assert proc.returncode == 0 and settings_file.is_file()
    before = settings_file.read_bytes()
    proc = subprocess.run(
        [sys.executable, "-c", LATE_CHILD], cwd=tmp_path, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    result = eval(line[len("RESULT ") :], {})
    assert result["sync"] is False  # still off for this process
    assert result["font"].startswith(str(data))
    assert sorted(p.name for p in settings_file.parent.iterdir()) == ["settings.json"]
    assert settings_file.read_bytes() == before
