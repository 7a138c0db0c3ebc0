"""The ultralytics training of one recipe, with progress and cancel through callbacks.

Nothing here hands ultralytics a model *file*: a start from the active (or a named)
version passes the module ``ml.model_safety`` loaded, whose weights ultralytics copies
into a model it builds from that module's own config; a start from scratch builds from a
config (``yolov8n.yaml`` or a YAML file). The trainer is a subclass of ultralytics'
``DetectionTrainer`` that writes no checkpoint and runs no final evaluation (both would
unpickle ``best.pt`` with ``weights_only=False``): the best epoch on validation is kept
in memory (a copy of the EMA model), and ClinLens saves it itself.

Validation every ``val_every`` epochs: the trainer's ``val`` flag is switched per epoch
(ultralytics still validates the last epoch and whenever early stopping might trigger);
an epoch without validation has no fitness, so it is neither "best" nor counted by early
stopping. Cancel: the callback after each batch sets ``trainer.stop`` when the token is
set; the epoch then ends at once (no validation) with JobCancelled.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from core.errors import ClinLensError, JobCancelled
from core.jobs import CancelToken

log = logging.getLogger(__name__)

EventFn = Callable[..., None]  # event(kind, **fields)


@dataclass
class TrainResult:
    weights: Path
    epochs: int  # epochs run
    best_epoch: int | None
    seconds: float
    device: str
    curves: list[dict[str, Any]] = field(default_factory=list)  # one row per epoch
    best_metrics: dict[str, Any] = field(default_factory=dict)


def _device_arg(device: str) -> tuple[str, str, bool]:
    """(ultralytics device argument, label, amp) for ``auto|cpu|cuda|cuda:N|mps``."""
    from ml.device import select_device

    choice = select_device(device)
    if choice.kind == "cuda":
        index = choice.torch_device.partition(":")[2] or "0"
        return index, choice.label, True
    return choice.kind, choice.label, False


def scratch_config(arch: str, run_dir: Path) -> str:
    """The model config to build from: a YAML file given by path, else an ultralytics name."""
    path = Path(arch)
    if path.suffix.lower() in (".yaml", ".yml") and path.is_file():
        target = run_dir / path.name
        target.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
        return str(target)
    if arch.endswith((".yaml", ".yml")) and "/" not in arch and "\\" not in arch:
        return arch  # ultralytics' bundled configs (yolov8n.yaml ...)
    raise ClinLensError(f"model config '{arch}' is not a YAML file")


def ultralytics_args(
    recipe: Any, model_cfg: str, data_yaml: Path, run_dir: Path, *, device: str, amp: bool
) -> dict[str, Any]:
    """The arguments ClinLens hands ultralytics' trainer for ``recipe`` (also what the
    training benchmark gives plain ``YOLO(cfg).train``, so the two cannot drift apart)."""
    args: dict[str, Any] = {
        "model": model_cfg,
        "data": str(data_yaml),
        "epochs": int(recipe.epochs),
        "imgsz": int(recipe.imgsz),
        "batch": int(recipe.batch),
        "device": device,
        "workers": int(recipe.workers),
        "optimizer": recipe.optimizer,
        "lr0": float(recipe.lr0),
        "patience": int(recipe.patience),
        "seed": int(recipe.seed),
        "deterministic": True,
        "amp": amp,
        "pretrained": False,
        "plots": False,
        "val": True,
        "project": str(run_dir),
        "name": "run",
        "exist_ok": True,
        "verbose": False,
        "fliplr": float(recipe.fliplr),
        "mosaic": float(recipe.mosaic),
        "close_mosaic": 0,
        "warmup_epochs": 0 if recipe.epochs < 5 else 3,
    }
    if getattr(recipe, "hours", 0):
        # ultralytics re-plans its epochs (and the LR schedule) after each epoch so that the
        # run ends within this many hours; --epochs is then only the first plan.
        args["time"] = float(recipe.hours)
    if recipe.preset == "xray":
        args.update(
            hsv_h=0.0, hsv_s=0.0, hsv_v=0.0, translate=0.0, scale=0.0, erasing=0.0, mixup=0.0
        )
    args.update(recipe.extra_args or {})
    return args


def train(
    data_yaml: Path,
    recipe: Any,
    run_dir: Path,
    *,
    start_module: Any = None,
    event: EventFn | None = None,
    cancel: CancelToken | None = None,
) -> TrainResult:
    """Train; returns where the best weights were saved (a file in ``run_dir``)."""
    from ml import offline

    offline.configure()
    import torch
    from ultralytics import __version__ as ul_version
    from ultralytics.models.yolo.detect import DetectionTrainer

    device, label, amp = _device_arg(recipe.device)
    if start_module is not None:
        cfg_path = run_dir / "start.yaml"
        cfg = dict(getattr(start_module, "yaml", {}) or {})
        if not cfg:
            raise ClinLensError("the start model does not carry its config; train from scratch")
        import yaml

        cfg.pop("yaml_file", None)
        cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
        model_cfg = str(cfg_path)
    else:
        model_cfg = scratch_config(recipe.arch, run_dir)
    curves: list[dict[str, Any]] = []
    state: dict[str, Any] = {"batch": 0, "best": None, "best_epoch": None, "validated": -1}
    emit = event or (lambda kind, **kw: None)
    start_time = time.monotonic()
    init = start_module.float() if start_module is not None else None

    class Trainer(DetectionTrainer):  # type: ignore[misc, valid-type]
        def get_model(self, cfg: Any = None, weights: Any = None, verbose: bool = True) -> Any:
            return super().get_model(cfg=cfg, weights=init, verbose=False)

        def validate(self) -> Any:
            state["validated"] = self.epoch
            return super().validate()

        def save_model(self) -> bool:
            if state["validated"] == self.epoch and self.best_fitness == self.fitness:
                best = copy.deepcopy(self.ema.ema).float()  # type: ignore[attr-defined]
                if hasattr(best, "criterion"):
                    best.criterion = None
                state["best"] = best
                state["best_epoch"] = self.epoch + 1
                state["best_metrics"] = dict(self.metrics or {})
            state["last"] = self.ema.ema  # type: ignore[attr-defined]
            return False  # nothing written; no on_model_save

        def final_eval(self) -> None:
            return None

    args = ultralytics_args(recipe, model_cfg, data_yaml, run_dir, device=device, amp=amp)

    def on_epoch_start(trainer: Any) -> None:
        state["batch"] = 0
        emit("epoch_start", epoch=trainer.epoch + 1, epochs=trainer.epochs)

    def on_batch_end(trainer: Any) -> None:
        state["batch"] += 1
        losses = _losses(trainer)
        emit(
            "batch",
            epoch=trainer.epoch + 1,
            epochs=trainer.epochs,
            batch=state["batch"],
            batches=len(trainer.train_loader),
            losses=losses,
        )
        if cancel is not None and cancel.is_set():
            trainer.stop = True

    def on_epoch_end(trainer: Any) -> None:
        if cancel is not None and cancel.is_set():
            raise JobCancelled("training cancelled")
        next_epoch = trainer.epoch + 1
        trainer.args.val = next_epoch % max(1, int(recipe.val_every)) == 0
        if not trainer.args.val:
            trainer.fitness = None

    def on_fit_epoch_end(trainer: Any) -> None:
        validated = state["validated"] == trainer.epoch
        row = {
            "epoch": trainer.epoch + 1,
            "losses": _losses(trainer),
            "validated": validated,
            "metrics": _plain(trainer.metrics) if validated else None,
            "lr": _plain(getattr(trainer, "lr", {})),
        }
        curves.append(row)
        emit("epoch", epochs=trainer.epochs, **row)

    trainer = Trainer(overrides=args)
    trainer.add_callback("on_train_epoch_start", on_epoch_start)
    trainer.add_callback("on_train_batch_end", on_batch_end)
    trainer.add_callback("on_train_epoch_end", on_epoch_end)
    trainer.add_callback("on_fit_epoch_end", on_fit_epoch_end)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            trainer.train()
    except JobCancelled:
        raise
    except Exception as exc:
        from ml.device import is_out_of_memory

        if recipe.device == "cpu" or not is_out_of_memory(exc):
            raise
        # A GPU too small for this batch: the same recipe on the CPU, from the start (a
        # half-trained model would be measured as if it were complete), said once.
        note = f"the GPU ran out of memory ({label}); training again on the CPU"
        log.warning(note)
        emit("note", text=note)
        _release_gpu()
        from dataclasses import replace

        return train(
            data_yaml,
            replace(recipe, device="cpu"),
            run_dir,
            start_module=start_module,
            event=event,
            cancel=cancel,
        )
    if cancel is not None and cancel.is_set():
        raise JobCancelled("training cancelled")
    best = state["best"] if state["best"] is not None else state.get("last")
    if best is None:
        raise ClinLensError("the training ended without a model")
    best = copy.deepcopy(best).half().to(memory_format=torch.contiguous_format)
    if hasattr(best, "criterion"):
        best.criterion = None
    weights = run_dir / "best.pt"
    train_args = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(trainer.args).items()}
    save_checkpoint(
        {
            "model": None,
            "ema": best,
            "train_args": train_args,
            "date": datetime.now().astimezone().isoformat(),
            "version": ul_version,
        },
        weights,
    )
    return TrainResult(
        weights=weights,
        epochs=len(curves),
        best_epoch=state["best_epoch"],
        seconds=time.monotonic() - start_time,
        device=label,
        curves=curves,
        best_metrics=_plain(state.get("best_metrics") or {}),
    )


def save_checkpoint(payload: dict[str, Any], path: Path) -> None:
    """Write the new model's checkpoint, or refuse in one line (the disk is full, the
    folder is read-only): nothing is registered, the active model stays as it was."""
    import torch

    from core.project_io.destination import describe_os_error

    partial = path.with_name(path.name + ".partial")
    try:
        torch.save(payload, partial)
        partial.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise ClinLensError(
            f"cannot save the new model: {describe_os_error(exc)}; free some space and "
            "train again (the active model is untouched)"
        ) from exc


def _release_gpu() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _losses(trainer: Any) -> dict[str, float]:
    tloss = getattr(trainer, "tloss", None)
    if tloss is None:
        return {}
    try:
        items = trainer.label_loss_items(tloss, prefix="train")
    except Exception:  # a progress report never fails the training
        return {}
    return _plain(items)


def _plain(d: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in dict(d or {}).items():
        try:
            out[str(k)] = round(float(v), 6)
        except (TypeError, ValueError):
            continue
    return out
