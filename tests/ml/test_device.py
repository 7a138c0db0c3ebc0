"""Device choice and the GPU fallbacks, with torch's CUDA/MPS queries mocked."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from core.errors import ClinLensError, ModelError
from ml import device as dev_mod
from ml.device import DeviceChoice, is_out_of_memory, select_device
from tests.ml.conftest import make_blob_detector


@pytest.fixture()
def fake_gpus(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Pretend torch sees ``count`` CUDA GPUs (0: none) and, optionally, Apple's MPS."""
    import torch

    def install(count: int, mps: bool = False) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=0: f"Fake GPU {i}")
        monkeypatch.setattr(dev_mod, "_mps_available", lambda: mps)

    monkeypatch.delenv("CLINLENS_DEVICE", raising=False)
    return install


def test_auto_takes_the_first_cuda_gpu_in_half_precision(fake_gpus: Any) -> None:
    fake_gpus(2, mps=True)
    d = select_device("auto")
    assert (d.kind, d.torch_device, d.half, d.note) == ("cuda", "cuda:0", True, None)
    assert d.label == "CUDA: Fake GPU 0 (fp16)"
    assert select_device("auto", half=False).label == "CUDA: Fake GPU 0 (fp32)"


def test_auto_without_cuda_takes_mps_in_full_precision(fake_gpus: Any) -> None:
    fake_gpus(0, mps=True)
    d = select_device("auto")
    assert (d.kind, d.half) == ("mps", False)


def test_half_precision_is_only_ever_used_on_cuda(fake_gpus: Any) -> None:
    fake_gpus(0, mps=True)
    assert select_device("mps", half=True).half is False
    assert select_device("cpu", half=True).half is False
    # A hand-made choice cannot ask for it either.
    assert DeviceChoice("cpu", "cpu", True, "CPU").half is False


def test_a_gpu_index_that_does_not_exist_falls_back_to_the_cpu_and_says_so(
    fake_gpus: Any,
) -> None:
    fake_gpus(1)
    assert select_device("cuda:0").torch_device == "cuda:0"
    d = select_device("cuda:3")
    assert d.kind == "cpu" and d.note and "does not exist" in d.note
    with pytest.raises(ClinLensError, match="cuda:N"):
        select_device("cuda:x")


def test_mps_requested_where_there_is_none_falls_back_to_the_cpu(fake_gpus: Any) -> None:
    fake_gpus(0, mps=False)
    d = select_device("mps")
    assert d.kind == "cpu" and d.note and "mps" in d.note


def test_environment_variable_overrides_auto(
    fake_gpus: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_gpus(1)
    monkeypatch.setenv("CLINLENS_DEVICE", "cpu")
    assert select_device("auto").kind == "cpu"
    assert select_device("cuda").kind == "cuda"  # an explicit request still wins


@pytest.mark.parametrize(
    ("message", "oom"),
    [
        ("CUDA out of memory. Tried to allocate 2.00 GiB", True),
        ("MPS backend out of memory (MPS allocated: 1 GB)", True),
        ("shape '[1, 3]' is invalid for input of size 4", False),
    ],
)
def test_out_of_memory_is_recognised_by_its_message(message: str, oom: bool) -> None:
    assert is_out_of_memory(RuntimeError(message)) is oom
    assert is_out_of_memory(ValueError(message)) is False


def test_out_of_memory_while_moving_the_model_to_the_gpu_falls_back_to_the_cpu() -> None:
    import torch

    placed: list[str] = []

    class _Model:
        def to(self, *args: Any, **kwargs: Any) -> _Model:
            target = args[0] if args else kwargs.get("device")
            if isinstance(target, torch.device):
                if target.type == "cuda":
                    raise torch.cuda.OutOfMemoryError("CUDA out of memory")
                placed.append(target.type)
            return self

        def half(self) -> _Model:
            return self

        def float(self) -> _Model:
            return self

    from ml.detector.checkpoint import LoadedDetector
    from ml.detector.predict import Detector

    loaded = LoadedDetector(model=_Model(), names={0: "key"}, imgsz=128, stride=32, end2end=False)
    gpu = DeviceChoice("cuda", "cuda:0", True, "CUDA: Fake GPU (fp16)")
    det = Detector(loaded, device=gpu)
    assert det.device.kind == "cpu" and placed == ["cpu"]
    assert any("out of memory" in n for n in det.notes)


def test_a_failure_after_falling_back_to_the_cpu_is_a_model_error() -> None:
    import torch

    gpu = DeviceChoice("cuda", "cuda:0", True, "CUDA: Fake GPU (fp16)")
    det = make_blob_detector(device=gpu)

    def run(_chunk: np.ndarray) -> list[np.ndarray]:
        if det.device.kind == "cuda":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        raise RuntimeError("illegal instruction in a CPU kernel")

    det._run_model = run  # type: ignore[method-assign]
    with pytest.raises(ModelError, match="detector failed"):
        det.predict_rgb8(np.zeros((50, 50), dtype=np.uint8))
    assert det.device.kind == "cpu"


@pytest.mark.parametrize(
    ("device", "gpu", "amp"),
    [
        ("cpu", "", False),
        ("cuda", "NVIDIA H100 80GB HBM3", True),
        ("cuda", "NVIDIA GeForce GTX 1660 SUPER", False),  # ultralytics' NaN-loss list
        ("cuda", "Tesla T4", True),
    ],
)
def test_offline_amp_check_decides_without_downloading_a_model(
    monkeypatch: pytest.MonkeyPatch, device: str, gpu: str, amp: bool
) -> None:
    import torch

    from ml.offline import offline_check_amp

    class _Param:
        def __init__(self) -> None:
            self.device = torch.device(device, 0) if device == "cuda" else torch.device("cpu")

    class _Model:
        def parameters(self) -> Any:
            return iter([_Param()])

    monkeypatch.setattr(torch.cuda, "get_device_name", lambda _d=None: gpu)
    assert offline_check_amp(_Model()) is amp
    assert offline_check_amp(object()) is False  # no parameters: no AMP
