"""Training failures a clinic's machine can hit: the disk fills while the new model is
saved, the GPU runs out of memory mid-training. Each says what happened in one line and
leaves nothing half-written."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest

from core.errors import ClinLensError
from tests.ml.conftest import TINY_CLASSES, TINY_YAML, write_yolo_dataset


def test_a_full_disk_while_saving_the_model_is_one_line_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    from ml.training import runner

    def full(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
        Path(f).write_bytes(b"half a checkpoint")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full)
    target = tmp_path / "best.pt"
    with pytest.raises(ClinLensError, match="the disk is full") as caught:
        runner.save_checkpoint({"ema": None}, target)
    assert "\n" not in str(caught.value) and "active model is untouched" in str(caught.value)
    assert list(tmp_path.iterdir()) == []  # neither the checkpoint nor its partial copy


def test_cuda_out_of_memory_trains_again_on_the_cpu_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    from ml import offline

    offline.configure()
    from ultralytics.models.yolo.detect import DetectionTrainer

    from ml.training import runner
    from ml.training.recipe import preset

    # A "GPU" that is really the CPU (this machine may have none), whose first training
    # runs out of memory, as a too-large batch on a small card does.
    devices: list[str] = []

    def device_arg(device: str) -> tuple[str, str, bool]:
        devices.append(device)
        return ("cpu", "test GPU" if device == "cuda" else "CPU", False)

    real_train = DetectionTrainer.train
    calls: list[int] = []

    def train_once_out_of_memory(self: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_train(self)

    monkeypatch.setattr(runner, "_device_arg", device_arg)
    monkeypatch.setattr(DetectionTrainer, "train", train_once_out_of_memory)
    data = write_yolo_dataset(tmp_path / "data", n_images=4, size=64)
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY_YAML.format(nc=len(TINY_CLASSES)), encoding="utf-8")
    recipe = preset("xray", epochs=1, imgsz=64, tile_size=64, batch=4, device="cuda", arch=str(cfg))
    events: list[tuple[str, dict[str, Any]]] = []
    (tmp_path / "run").mkdir()
    result = runner.train(
        data, recipe, tmp_path / "run", event=lambda kind, **kw: events.append((kind, kw))
    )
    notes = [kw["text"] for kind, kw in events if kind == "note"]
    assert notes == ["the GPU ran out of memory (test GPU); training again on the CPU"]
    assert devices == ["cuda", "cpu"] and result.device == "CPU"
    assert result.weights.is_file() and result.epochs == 1


def test_other_training_errors_are_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ml import offline

    offline.configure()
    from ultralytics.models.yolo.detect import DetectionTrainer

    from ml.training import runner
    from ml.training.recipe import preset

    monkeypatch.setattr(runner, "_device_arg", lambda device: ("cpu", "test GPU", False))

    def broken(self: Any) -> Any:
        raise ValueError("a corrupt label file")

    monkeypatch.setattr(DetectionTrainer, "train", broken)
    data = write_yolo_dataset(tmp_path / "data", n_images=2, size=64)
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY_YAML.format(nc=len(TINY_CLASSES)), encoding="utf-8")
    recipe = preset("xray", epochs=1, imgsz=64, tile_size=64, batch=2, device="cuda", arch=str(cfg))
    (tmp_path / "run").mkdir()
    with pytest.raises(ValueError, match="corrupt label"):
        runner.train(data, recipe, tmp_path / "run")
