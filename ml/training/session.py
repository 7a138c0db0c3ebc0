"""The parent side of a training (CLI now, GUI later): lock, worker child, registration, gate.

``run_training`` takes the project's training lock, runs the ``train`` request in the
training worker (``main.py train-worker DIR``, a ``core.workers.WorkerProcess``), and
hands the result to :func:`register_result`, which registers the weights as a candidate
and promotes them when they beat the active version on the held-out set. The worker only
reads the project: a cancelled, failed or killed run registers nothing. No torch here.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.errors import JobCancelled
from core.jobs import CancelToken

DEFAULT_NAME = "detector"
EventFn = Callable[[dict[str, Any]], None]


def run_training(
    folder: str | Path,
    recipe: Any,
    *,
    open_writer: Callable[[], Any],
    name: str | None = None,
    on_event: EventFn | None = None,
    progress: Callable[..., None] | None = None,
    cancel: CancelToken | None = None,
) -> dict[str, Any]:
    """Train in the worker and register the result; returns the CLI's JSON document.

    ``open_writer()`` gives the project open for writing (a context manager) once the
    training is done; the GUI passes its own open project.
    """
    from core.workers import WorkerProcess, clinlens_argv
    from ml.training.lock import training_lock

    with training_lock(folder):
        worker = WorkerProcess(
            clinlens_argv("train-worker", str(folder)), name="training", cancel_grace_s=20.0
        )
        try:
            done = worker.request(
                "train",
                recipe=recipe.to_dict(),
                progress=progress,
                cancel=cancel,
                on_event=on_event,
            )
        finally:
            worker.close()
        run_dir = Path(str(done["run_dir"]))
        try:
            if cancel is not None and cancel.is_set():
                raise JobCancelled("cancelled")
            with open_writer() as project:
                return register_result(project, done, name=name or DEFAULT_NAME)
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)


def register_result(project: Any, done: dict[str, Any], *, name: str) -> dict[str, Any]:
    """Register the worker's weights as a candidate; promote them if they pass the gate."""
    from ml.registry.versions import active_model, promote_version, register_trained
    from ml.training.gate import HeldoutScore, beats

    def score(d: dict[str, Any] | None) -> HeldoutScore | None:
        if d is None:
            return None
        return HeldoutScore(
            images=int(d["images"]),
            precision=d.get("precision"),
            recall=d.get("recall"),
            f1=d.get("f1"),
            ap50=d.get("ap50"),
            threshold=d.get("threshold"),
            report={},
        )

    candidate, previous = score(done["candidate"]), score(done.get("active"))
    assert candidate is not None
    active_now = active_model(project.folder, "detector")
    if (active_now.ref if active_now else None) != done.get("active_ref"):
        # The active version changed while training: the comparison is void.
        previous = None if active_now is None else previous
        promote = active_now is None
    else:
        promote = beats(candidate, previous)
    metadata = dict(done["metadata"])
    gate_record = {
        "compared_with": done.get("active_ref"),
        "candidate": done["candidate"],
        "active": done.get("active"),
        "passed": promote,
    }
    metadata["metrics"] = {**dict(metadata.get("metrics") or {}), "gate": gate_record}
    info = register_trained(project, done["weights"], name, metadata)
    if promote:
        info = promote_version(project, info, reason="passed the held-out gate")
    keys = ("images", "precision", "recall", "f1", "ap50")
    prev = done.get("active")
    return {
        "model": info.ref,
        "status": info.status,
        "heldout": {k: done["candidate"].get(k) for k in keys},
        "threshold": done["candidate"].get("threshold"),
        "previous": (
            {**{k: prev.get(k) for k in keys}, "model": done.get("active_ref")}
            if prev is not None
            else None
        ),
        "epochs": done.get("epochs"),
        "best_epoch": done.get("best_epoch"),
        "seconds": done.get("seconds"),
        "device": done.get("device"),
    }
