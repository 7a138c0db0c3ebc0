"""Which processor runs a model: CUDA, then Apple's MPS, then the CPU; overridable.

The choice is returned as a :class:`DeviceChoice` whose ``label`` the GUI and CLI show, so a
user always knows whether suggestions came from the GPU. A request that cannot be honoured
(``cuda`` on a machine without one) falls back to the CPU and says so in ``note``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from core.errors import ClinLensError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class DeviceChoice:
    """A resolved device. ``torch_device`` is what ``torch.device()`` takes."""

    kind: str  # "cuda" | "mps" | "cpu"
    torch_device: str  # "cuda:0" | "mps" | "cpu"
    half: bool  # run the model in float16 (CUDA only)
    label: str  # for people, e.g. "CUDA: NVIDIA RTX A2000 (fp16)" or "CPU (2 threads)"
    note: str | None = None  # why the choice differs from the request, if it does

    def __post_init__(self) -> None:
        # float16 only on CUDA: CPU kernels for it are slow or missing, and MPS results
        # are not reliably the same as in float32.
        if self.half and self.kind != "cuda":
            object.__setattr__(self, "half", False)

    def with_note(self, note: str) -> DeviceChoice:
        joined = f"{self.note}; {note}" if self.note else note
        return replace(self, note=joined)


def cpu_threads() -> int:
    """Threads for CPU inference: ``CLINLENS_TORCH_THREADS``, else the cores we may use."""
    env = os.environ.get("CLINLENS_TORCH_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def _cpu(note: str | None = None) -> DeviceChoice:
    import torch

    # Importing ultralytics sets OMP_NUM_THREADS=1 (for its training data loaders), which
    # would leave inference on one core; use them all unless told otherwise.
    wanted = cpu_threads()
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)

    return DeviceChoice(
        kind="cpu",
        torch_device="cpu",
        half=False,
        label=f"CPU ({torch.get_num_threads()} threads)",
        note=note,
    )


def _cuda(index: int, half: bool) -> DeviceChoice:
    import torch

    name = torch.cuda.get_device_name(index)
    precision = "fp16" if half else "fp32"
    return DeviceChoice(
        kind="cuda",
        torch_device=f"cuda:{index}",
        half=half,
        label=f"CUDA: {name} ({precision})",
    )


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def select_device(preference: str = "auto", *, half: bool | None = None) -> DeviceChoice:
    """Resolve ``auto|cpu|cuda|cuda:N|mps`` to a device that exists on this machine.

    ``half=None`` means float16 on CUDA; ``half`` is ignored elsewhere (MPS and CPU always
    run float32). ``CLINLENS_DEVICE`` overrides ``auto`` (e.g. to force the CPU).
    """
    import torch

    pref = (preference or "auto").strip().lower()
    if pref == "auto":
        pref = os.environ.get("CLINLENS_DEVICE", "auto").strip().lower() or "auto"
    if pref not in DEVICE_CHOICES and not pref.startswith("cuda:"):
        raise ClinLensError(
            f"unknown device '{preference}': choose one of {', '.join(DEVICE_CHOICES)}"
        )
    want_half = half

    if pref == "cpu":
        return _cpu()
    if pref.startswith("cuda"):
        if not torch.cuda.is_available():
            return _cpu(
                note=f"{preference} was requested but no CUDA GPU is available; using the CPU"
            )
        index = _cuda_index(pref)
        if index >= torch.cuda.device_count():
            return _cpu(
                note=f"{preference} was requested but that GPU does not exist; using the CPU"
            )
        return _cuda(index, True if want_half is None else want_half)
    if pref == "mps":
        if _mps_available():
            return DeviceChoice("mps", "mps", half=bool(want_half), label="Apple GPU (MPS)")
        return _cpu(note="mps was requested but Apple's GPU is not available; using the CPU")
    # auto
    if torch.cuda.is_available():
        return _cuda(0, True if want_half is None else want_half)
    if _mps_available():
        return DeviceChoice("mps", "mps", half=bool(want_half), label="Apple GPU (MPS)")
    return _cpu()


def _cuda_index(pref: str) -> int:
    if ":" not in pref:
        return 0
    try:
        return int(pref.split(":", 1)[1])
    except ValueError as exc:
        raise ClinLensError(f"unknown device '{pref}': write cuda or cuda:N") from exc


def cpu_fallback(reason: str) -> DeviceChoice:
    """The CPU choice used after a GPU failure (e.g. out of memory), carrying the reason."""
    return _cpu(note=reason)


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA/MPS out-of-memory errors (their types differ across torch versions)."""
    import torch

    oom_type = getattr(torch.cuda, "OutOfMemoryError", None)
    if oom_type is not None and isinstance(exc, oom_type):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
