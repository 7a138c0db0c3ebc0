"""Where the annotator's detector runs. Both backends are called from job-runner threads.

- :class:`ProcessBackend` (the default): a detector process per project, kept for the
  session (``main.py detector-worker DIR``). torch is imported there, never in the
  window's process, whose event loop it used to stall for up to 90 ms on a first
  suggestion; a crash there cannot take the window down. The process only reads the
  project: the boxes it reports are stored here, by the job's thread.
- :class:`InThreadBackend`: a detector made by a factory and run in the job's thread; for
  torch-free test detectors.

Either way an image's pending suggestions from the same model are replaced in one
transaction (``ml.suggest.store_suggestions``), and with ``keep_late=False`` (one image,
latest request wins) nothing is stored once the job is cancelled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from core.jobs import CancelToken, check_cancel
from core.workers import WorkerProcess, clinlens_argv

if TYPE_CHECKING:
    # ml.suggest pulls the detector code and the model registry (~18 % of the window's
    # start-up imports): loaded with the first suggestion, not with the window.
    from ml.suggest import SuggestSummary

DetectorFactory = Callable[[Any, str], Any]


class SuggestionBackend(Protocol):
    def warm_up(self, project: Any, device: str, cancel: CancelToken) -> str: ...

    def suggest(
        self,
        project: Any,
        image_ids: list[int],
        *,
        device: str,
        conf: float,
        progress: Callable[..., None],
        cancel: CancelToken,
        keep_late: bool,
    ) -> SuggestSummary: ...

    def import_model(self, project: Any, path: str, cancel: CancelToken) -> Any: ...

    def close(self) -> None: ...


class ProcessBackend:
    def __init__(self, folder: str | Path, worker: WorkerProcess | None = None) -> None:
        from ml.detector_worker import COMMAND

        self.worker = worker or WorkerProcess(clinlens_argv(COMMAND, str(folder)), name="detector")

    def warm_up(self, project: Any, device: str, cancel: CancelToken) -> str:
        done = self.worker.request("warmup", device=device, cancel=cancel)
        return str(done.get("device", ""))

    def suggest(
        self,
        project: Any,
        image_ids: list[int],
        *,
        device: str,
        conf: float,
        progress: Callable[..., None],
        cancel: CancelToken,
        keep_late: bool,
    ) -> SuggestSummary:
        from ml.detector_worker import box_from_json
        from ml.suggest import SuggestSummary, store_suggestions

        start = time.perf_counter()
        summary = SuggestSummary()

        def on_event(event: dict[str, Any]) -> None:
            kind = event.get("event")
            if kind == "image":
                if not keep_late:
                    check_cancel(cancel)  # the user has left this image: store nothing
                boxes = [box_from_json(b) for b in event.get("boxes") or []]
                stored, _ = store_suggestions(
                    project, int(event["image_id"]), boxes, str(event.get("model") or "")
                )
                summary.images += 1
                summary.suggestions += len(stored)
            elif kind == "skipped":
                summary.skipped.append({k: event.get(k) for k in ("image_id", "path", "error")})
            elif kind == "note":
                summary.notes.append(str(event.get("text", "")))

        done = self.worker.request(
            "suggest",
            images=list(image_ids),
            device=device,
            conf=conf,
            progress=progress,
            cancel=cancel,
            on_event=on_event,
        )
        summary.device = str(done.get("device", ""))
        summary.model = str(done.get("model", ""))
        summary.notes = [str(n) for n in done.get("notes") or summary.notes]
        summary.seconds = time.perf_counter() - start
        return summary

    def score(
        self,
        project: Any,
        image_ids: list[int],
        *,
        kind: str,
        device: str,
        progress: Callable[..., None],
        cancel: CancelToken,
    ) -> dict[str, Any]:
        """Informativeness scores from the detector process, stored here (the writer) with
        the model version that computed them, in batches; returns the ``done`` event."""
        import numpy as np

        from core.store.scores import StoredScore

        pending: list[tuple[str, StoredScore]] = []

        def flush() -> None:
            by_model: dict[str, list[StoredScore]] = {}
            for model, row in pending:
                by_model.setdefault(model, []).append(row)
            for model, rows in by_model.items():
                project.scores.put(kind, model, rows)
            pending.clear()

        def on_event(event: dict[str, Any]) -> None:
            if event.get("event") != "scored":
                return
            feats = event.get("features")
            pending.append(
                (
                    str(event["model"]),
                    StoredScore(
                        int(event["image_id"]),
                        float(event["score"]),
                        tuple(str(r) for r in event.get("reasons") or ()),
                        None if feats is None else np.asarray(feats, dtype=np.float32),
                    ),
                )
            )
            if len(pending) >= 25:
                flush()

        try:
            return self.worker.request(
                "score",
                images=list(image_ids),
                kind=kind,
                device=device,
                progress=progress,
                cancel=cancel,
                on_event=on_event,
            )
        finally:
            flush()  # what was scored before a cancel or a failure is kept

    def import_model(self, project: Any, path: str, cancel: CancelToken) -> Any:
        from ml import registry

        done = self.worker.request("import_model", file=path, kind="detector", cancel=cancel)
        info = registry.ModelInfo.from_dict(done["model"])
        if not done.get("confirmed"):
            # The detector process opens the project read-only, so it cannot record the
            # file's hash; this process holds the writer. The check is static (the pickle
            # scanner), so no code from the file runs here, and torch is not imported.
            info = registry.confirm_import(project.folder, info)
        return info

    def close(self) -> None:
        self.worker.close()


class InThreadBackend:
    """Runs ``factory(project, device)``'s detector in the calling (job) thread."""

    def __init__(self, factory: DetectorFactory) -> None:
        self.factory = factory

    def warm_up(self, project: Any, device: str, cancel: CancelToken) -> str:
        return str(self.factory(project, device).device.label)

    def suggest(
        self,
        project: Any,
        image_ids: list[int],
        *,
        device: str,
        conf: float,
        progress: Callable[..., None],
        cancel: CancelToken,
        keep_late: bool,
    ) -> SuggestSummary:
        from ml.suggest import suggest_images

        progress(0, len(image_ids), "loading the model")
        detector = self.factory(project, device)
        return suggest_images(
            project, image_ids, detector, conf=conf, progress=progress, cancel=cancel
        )

    def import_model(self, project: Any, path: str, cancel: CancelToken) -> Any:
        from ml import registry

        return registry.import_model(project.folder, path, "detector")

    def close(self) -> None:
        pass
