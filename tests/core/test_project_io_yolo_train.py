"""An exported YOLO dataset trains in ultralytics without a single corrupt-label warning."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.annotations import Box
from core.project_io import ExportOptions, export_project, import_images
from tests.core.conftest import new_project, write_grey16, write_rgb

TRAIN_SCRIPT = """
import sys
from ultralytics import YOLO

model = YOLO("yolov8n.yaml")  # architecture only: no weights are downloaded
model.train(
    data=sys.argv[1], epochs=1, imgsz=64, batch=4, device="cpu", workers=0, plots=False,
    amp=False, project=sys.argv[2], name="run", exist_ok=True, verbose=True, seed=0,
)
print("TRAINING-FINISHED")
"""


def _dataset(tmp: Path) -> Path:
    src = tmp / "src"
    for i in range(6):
        write_rgb(src / f"p{i}.png", 96, 80, seed=i)
    write_grey16(src / "xr.png", 96, 80, seed=7)
    write_rgb(src / "negative.png", 96, 80, seed=8)  # no boxes: an empty label file
    project = new_project(tmp / "proj")
    import_images(project, [src])
    for k, rec in enumerate(project.images()):
        # Reviewed, so the negative is a true one (an unreviewed image without boxes is
        # left out of a YOLO export).
        project.set_grade(rec.id, "acne4", 0.0)
        project.set_review_status(rec.id, "done")
        if rec.path.endswith("negative.png"):
            continue
        project.add_boxes(
            rec.id,
            [
                Box(5.0 + k, 6.0, 40.0 + k, 50.0, "zipper"),
                Box(50.0, 10.0, 96.0, 80.0, "belt buckle", truncated=True),  # touches the border
                Box(50.0, 10.0, 96.0, 80.0, "belt buckle"),  # an exact duplicate
            ],
        )
    out = tmp / "yolo"
    export_project(project, ExportOptions("yolo", out, split=(0.5, 0.5, 0.0), seed=1))
    return out / "data.yaml"


@pytest.mark.slow
def test_ultralytics_trains_one_epoch_on_an_export_without_corrupt_labels(tmp_path: Path) -> None:
    # find_spec, not importorskip: importing ultralytics here would patch PIL.Image.open,
    # OMP_NUM_THREADS and OpenCV's threads for every test that runs after this one.
    if importlib.util.find_spec("ultralytics") is None:
        pytest.skip("ultralytics is not installed")
    data = _dataset(tmp_path)
    config = tmp_path / "ultralytics-config"
    config.mkdir()
    # ultralytics' dataset check wants Arial.ttf and would download it; give it a local font.
    import matplotlib

    font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    shutil.copyfile(font, config / "Arial.ttf")
    env = {
        **os.environ,
        "YOLO_OFFLINE": "1",
        "YOLO_AUTOINSTALL": "0",
        "YOLO_CONFIG_DIR": str(config),
        "HF_HUB_OFFLINE": "1",
        "CUDA_VISIBLE_DEVICES": "",
        "OMP_NUM_THREADS": "2",
    }
    script = tmp_path / "train.py"
    script.write_text(TRAIN_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), str(data), str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=280,
        check=False,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0 and "TRAINING-FINISHED" in log, log[-4000:]
    clean = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", log).replace("\r", "\n")
    assert "ignoring corrupt" not in clean, [ln for ln in clean.splitlines() if "corrupt" in ln]
    assert "duplicate labels removed" not in clean
    # ultralytics records its label scan in labels/<split>.cache: (found, missing, empty,
    # corrupt, total) and the warning messages. The progress lines that also print these are
    # throttled in non-interactive consoles, so the cache is the reliable witness.
    import numpy as np

    caches = sorted(data.parent.glob("labels/*.cache"))
    assert [c.stem for c in caches] == ["train", "val"]
    for cache_file in caches:
        cache = np.load(cache_file, allow_pickle=True).item()
        found, _missing, _empty, corrupt, total = cache["results"]
        assert corrupt == 0 and cache["msgs"] == [], (cache_file.name, cache["msgs"])
        assert (found, total) == (4, 4)  # 8 images split 4/4; the negative one is found too
