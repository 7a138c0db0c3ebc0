"""The real CUDA paths, float16 included, where a GPU is.

Everything else tests device choice with a faked ``torch.cuda`` and runs models on the CPU;
these run the detector itself on the GPU. Marked ``gpu``: the hook in ``conftest.py`` skips
them when ``torch.cuda.is_available()`` is False, so they cost nothing on a CPU machine.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.ml.conftest import (
    PhantomBox,
    make_phantom,
    make_xray_project,
    phantom_to_uint8,
    tiny_yolo,  # noqa: F401  (session fixture)
)

pytestmark = [pytest.mark.gpu, pytest.mark.slow]


def _torch() -> Any:
    import torch

    assert torch.cuda.is_available(), "gpu-marked tests run only where CUDA is"
    return torch


def _phantom8(width: int, height: int, boxes: list[PhantomBox]) -> np.ndarray:
    return phantom_to_uint8(make_phantom(np.random.default_rng(3), width, height, boxes))


def _raw_output(detector: Any, batch: np.ndarray) -> Any:
    """The network's own output for a batch of tiles (before NMS), in float32 on the CPU."""
    torch = _torch()
    with torch.inference_mode():
        out = detector._model(detector.input_tensor(batch))
    out = out[0] if isinstance(out, (list, tuple)) else out
    return out.float().cpu()


def test_automatic_device_choice_takes_the_cuda_gpu_in_float16(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    torch = _torch()
    from ml.device import select_device

    monkeypatch.delenv("CLINLENS_DEVICE", raising=False)
    d = select_device("auto")
    assert (d.kind, d.torch_device, d.half, d.note) == ("cuda", "cuda:0", True, None)
    assert d.label == f"CUDA: {torch.cuda.get_device_name(0)} (fp16)"
    assert torch.device(d.torch_device).type == "cuda"
    assert select_device("cuda", half=False).label.endswith("(fp32)")
    absent = select_device(f"cuda:{torch.cuda.device_count()}")
    assert absent.kind == "cpu" and absent.note and "does not exist" in absent.note


def test_detector_runs_on_cuda_in_float16_and_agrees_with_the_cpu(
    tiny_yolo: Path,  # noqa: F811
) -> None:
    torch = _torch()
    from ml.detector import Detector
    from ml.detector.tiling import cut_tiles, plan_tiles, to_rgb8

    gpu = Detector.from_file(tiny_yolo, device="cuda", conf=1e-4)
    cpu = Detector.from_file(tiny_yolo, device="cpu", conf=1e-4)
    assert gpu.device.kind == "cuda" and gpu.device.half and gpu.notes == []
    params = list(gpu._model.parameters())
    assert params and all(p.is_cuda and p.dtype == torch.float16 for p in params)

    img = _phantom8(400, 300, [PhantomBox(90, 90, 110, 110, 0), PhantomBox(200, 150, 232, 164, 1)])
    plan = plan_tiles(400, 300, gpu.tiling, stride=gpu.loaded.stride)
    batch = cut_tiles(to_rgb8(img), plan)
    x = gpu.input_tensor(batch)
    assert x.is_cuda and x.dtype == torch.float16
    assert x.is_contiguous(memory_format=torch.channels_last)
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0  # scaled to 0..1 like on the CPU

    on_gpu, on_cpu = _raw_output(gpu, batch), _raw_output(cpu, batch)
    assert on_gpu.shape == on_cpu.shape
    assert bool(torch.isfinite(on_gpu).all()), "float16 overflowed"
    diff = (on_gpu - on_cpu).abs()
    # Float16 against float32 on the same tiles (float16 on the CPU: 0.03 / 0.24 px, 1e-5).
    assert float(diff[:, :4].mean()) < 0.5 and float(diff[:, :4].max()) < 4.0  # box pixels
    assert float(diff[:, 4:].max()) < 0.01  # class scores

    calls: list[int] = []
    real = gpu._run_model
    gpu._run_model = lambda chunk: calls.append(len(chunk)) or real(chunk)  # type: ignore[method-assign]
    pred = gpu.predict_rgb8(img)
    assert pred.tiles == 12 and calls == [12]  # all tiles in one batch on the GPU
    assert pred.device == gpu.device.label and pred.device.startswith("CUDA")
    assert "(fp16)" in pred.device and pred.notes == []
    assert pred.detections, "an untrained model still yields low-score boxes at conf 1e-4"
    for d in pred.detections:
        assert 0 <= d.x1 < d.x2 <= 400 and 0 <= d.y1 < d.y2 <= 300
        assert 1e-4 <= d.score <= 1.0 and np.isfinite(d.score)


def test_the_detector_process_suggests_on_the_gpu_when_left_on_auto(
    tmp_path: Path,
    tiny_yolo: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What the annotator does with its default device setting: the child process it starts
    # picks the GPU itself and says so in the summary the model panel shows.
    _torch()
    from app.controllers.suggestion_backends import ProcessBackend
    from core.store import Project
    from ml import registry

    monkeypatch.delenv("CLINLENS_DEVICE", raising=False)
    ids = make_xray_project(tmp_path / "proj", n_images=2, with_corrupt=False)
    with Project.open(tmp_path / "proj") as project:
        registry.import_model(project.folder, tiny_yolo, "detector", "tiny")
        backend = ProcessBackend(project.folder)
        try:
            summary = backend.suggest(
                project,
                ids,
                device="auto",
                conf=0.0001,
                progress=lambda *a: None,
                cancel=threading.Event(),
                keep_late=True,
            )
        finally:
            backend.close()
        assert summary.images == 2 and summary.skipped == []
        assert summary.device.startswith("CUDA") and "(fp16)" in summary.device
        stored = [b for i in ids for b in project.boxes(i)]
        assert len(stored) == summary.suggestions > 0
        assert all(b.source == "model" and b.status == "suggested" for b in stored)
