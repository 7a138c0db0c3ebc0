"""Make ultralytics work without a network and keep its files inside ClinLens' data folder.

Call :func:`configure` before the first ``import ultralytics`` (``ml.detector`` and the
training worker do). Ultralytics reads its settings directory, offline flag and auto-install
switch from the environment *at import time*, so setting them later has no effect; for that
case :func:`configure` also patches the already imported module constants.

What it prevents, and why:

- settings file in ``~/.config/Ultralytics`` -> ``YOLO_CONFIG_DIR`` = ``<app data>/ultralytics``
  (a clinic workstation may forbid writing into the home folder; tests must not touch it).
  If ultralytics was imported first, its file is already in the home folder: ClinLens then
  changes the settings in memory only and keeps its fonts in its own folder;
- online checks, analytics and Sentry -> ``YOLO_OFFLINE=1`` and ``settings.sync = False``;
- ``pip install`` of missing requirements -> ``YOLO_AUTOINSTALL=0``;
- the Arial font download that dataset checks and plots trigger -> a local font is placed
  where ultralytics looks first, and ``check_font`` is replaced by a local-only version;
- the AMP check, which downloads a YOLO checkpoint on CUDA -> a local check without weights.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import threading
from pathlib import Path
from typing import Any

from core.paths import app_data_dir

log = logging.getLogger(__name__)

# Integrations that would phone home or need accounts; never wanted in a clinic.
_SETTINGS_OFF = ("sync", "clearml", "comet", "dvc", "mlflow", "raytune", "tensorboard", "wandb")
_SETTINGS_MSG_OFF = ("vscode_msg", "openvino_msg")
# GPUs on which ultralytics itself disables AMP (NaN losses); same list as its check_amp.
_BAD_AMP_GPU = re.compile(
    r"(nvidia|geforce|quadro|tesla).*?(1660|1650|1630|t400|t550|t600|t1000|t1200|t2000|k40m)",
    re.IGNORECASE,
)
_FONT_NAMES = ("Arial.ttf", "Arial.Unicode.ttf")

_configured_dir: Path | None = None
_lock = threading.Lock()  # GUI jobs may load models from two threads at once


def ultralytics_dir() -> Path:
    """The folder ultralytics uses for its settings, fonts, runs and datasets defaults."""
    return app_data_dir() / "ultralytics"


def configure(*, training: bool = False) -> Path:
    """Set up offline ultralytics; safe to call many times. Returns the settings folder.

    ``training=True`` (the training worker process) keeps ultralytics' single-threaded
    OpenCV/OpenMP defaults, which its forked data-loader workers rely on; otherwise (GUI,
    CLI prediction) they are undone so display filters and inference use every core.
    """
    global _configured_dir
    base = ultralytics_dir()
    with _lock:
        if _configured_dir == base and "ultralytics" in sys.modules:
            return base
        base.mkdir(parents=True, exist_ok=True)
        _set_environment(base)
        if "ultralytics" in sys.modules and _configured_dir is None:
            log.warning("ultralytics was imported before ml.offline.configure(); patching it late")
        _patch_ultralytics(base, training)
        _configured_dir = base
    return base


def _set_environment(base: Path) -> None:
    os.environ["YOLO_CONFIG_DIR"] = str(base)
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "0"
    os.environ.setdefault("YOLO_VERBOSE", "0")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # Matplotlib (used by ultralytics' plots) would otherwise create ~/.config/matplotlib.
    mpl = base / "matplotlib"
    mpl.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("MPLCONFIGDIR", str(mpl))


def _install_local_fonts(settings_dir: Path) -> None:
    """Put a font where ultralytics' check_font looks first, so it never downloads Arial.

    Matplotlib (an ultralytics dependency) ships DejaVuSans; labels on training plots look
    the same to a clinician, and nothing is fetched.
    """
    settings_dir.mkdir(parents=True, exist_ok=True)
    if all((settings_dir / name).is_file() for name in _FONT_NAMES):
        return
    source = _local_font()
    if source is None:
        return
    for name in _FONT_NAMES:
        target = settings_dir / name
        if not target.is_file():
            try:
                shutil.copyfile(source, target)
            except OSError as exc:  # read-only data dir: the check_font patch still holds
                log.warning("cannot copy a local font for ultralytics: %s", exc)


def _local_font() -> Path | None:
    try:
        import matplotlib

        candidate = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    except Exception:  # matplotlib missing or broken: plots are off anyway
        return None
    return candidate if candidate.is_file() else None


def _import_ultralytics_politely(training: bool) -> None:
    """Import ultralytics, undoing the process-wide changes it makes on import.

    It sets ``OMP_NUM_THREADS=1`` and ``cv2.setNumThreads(0)`` (right for its training data
    loaders, wrong for a GUI whose display filters use OpenCV threads), and replaces
    ``PIL.Image.open`` with a version that, on a file Pillow cannot identify, tries to
    install ``pi-heif`` and then fails with ModuleNotFoundError instead of Pillow's error,
    which would turn a corrupt image into an unexpected crash in ``core.imaging``.
    """
    if "ultralytics" in sys.modules:
        return
    import cv2
    from PIL import Image

    omp = os.environ.get("OMP_NUM_THREADS")
    cv2_threads = cv2.getNumThreads()
    pil_open = Image.open
    import ultralytics  # noqa: F401

    Image.open = pil_open
    if training:
        return
    if omp is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    cv2.setNumThreads(cv2_threads)


def _patch_ultralytics(base: Path, training: bool) -> None:
    already_imported = "ultralytics" in sys.modules
    _import_ultralytics_politely(training)
    import ultralytics.utils as uutils
    from ultralytics.utils import checks

    # Imported before us by someone else: still take back PIL.Image.open (see above).
    patches = _import_optional("ultralytics.utils.patches")
    original_open = getattr(patches, "_image_open", None)
    if original_open is not None:
        from PIL import Image

        if getattr(Image.open, "__module__", "") == "ultralytics.utils.patches":
            Image.open = original_open
    if already_imported and not training:
        import cv2

        if cv2.getNumThreads() == 0:  # ultralytics' import-time setting: back to the default
            cv2.setNumThreads(-1)

    # Constants read at import: correct them in case ultralytics was imported first.
    uutils.ONLINE = False
    checks.ONLINE = False
    checks.AUTOINSTALL = False
    uutils.AUTOINSTALL = False
    try:
        from ultralytics.utils import events

        events.ONLINE = False
    except ImportError:
        pass
    # Once imported, ultralytics keeps the folder it chose then. When that is ours, fonts
    # and settings go there; when it was imported first and chose the home folder, nothing
    # more is written there: fonts go to our folder, settings change in memory only.
    settings_dir = Path(uutils.USER_CONFIG_DIR)
    ours = _is_within(settings_dir, base)
    _update_settings(uutils, base, persist=ours)
    font_dir = settings_dir if ours else base
    _install_local_fonts(font_dir)

    local_check_font = _make_local_check_font(font_dir)
    checks.check_font = local_check_font
    for module_name in ("ultralytics.data.utils", "ultralytics.utils.plotting"):
        module = _import_optional(module_name)
        if module is not None and hasattr(module, "check_font"):
            module.check_font = local_check_font
    trainer = _import_optional("ultralytics.engine.trainer")
    checks.check_amp = offline_check_amp
    if trainer is not None:
        trainer.check_amp = offline_check_amp  # imported by name there


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _update_settings(uutils: Any, base: Path, *, persist: bool) -> None:
    settings = uutils.SETTINGS
    wanted: dict[str, Any] = {k: False for k in (*_SETTINGS_OFF, *_SETTINGS_MSG_OFF)}
    # Default runs/weights/datasets dirs are next to the git checkout or the cwd; keep any
    # stray run output in our folder instead of the user's working directory.
    wanted["runs_dir"] = str(base / "runs")
    wanted["weights_dir"] = str(base / "weights")
    wanted["datasets_dir"] = str(base / "datasets")
    changes = {k: v for k, v in wanted.items() if k in settings.defaults and settings.get(k) != v}
    if changes and persist:
        settings.update(**changes)
    elif changes:  # the user's own ultralytics settings file: leave it as it is
        dict.update(settings, changes)
    uutils.RUNS_DIR = Path(settings["runs_dir"])
    uutils.WEIGHTS_DIR = Path(settings["weights_dir"])
    uutils.DATASETS_DIR = Path(settings["datasets_dir"])


def _import_optional(name: str) -> Any:
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _make_local_check_font(settings_dir: Path) -> Any:
    def check_font(font: str = "Arial.ttf") -> Path | None:
        """Local-only replacement for ultralytics.utils.checks.check_font (never downloads)."""
        name = Path(font).name
        for candidate in (Path(font), settings_dir / name):
            if candidate.is_file():
                return candidate
        return _local_font()

    return check_font


def offline_check_amp(model: Any) -> bool:
    """AMP decision without ultralytics' check, which downloads a checkpoint to compare.

    AMP is used only on CUDA, and not on the GPU models ultralytics knows to misbehave.
    """
    import torch

    try:
        device = next(model.parameters()).device
    except (StopIteration, AttributeError):
        return False
    if device.type != "cuda":
        return False
    return not _BAD_AMP_GPU.search(torch.cuda.get_device_name(device))
