"""Compute the missing scores of the active model and build the queue (the ``queue`` command).

In-process (the CLI may load torch); the GUI instead asks its detector process
(``score`` request) and stores what it reports the same way (``project.scores.put``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.active.queue import Queue, build_queue
from core.errors import ClinLensError
from core.jobs import CancelToken, ProgressFn
from core.store.scores import StoredScore

REVIEWED = "done"
STORE_EVERY = 25  # scores are written in batches: a long run keeps what it finished


@dataclass
class QueueResult:
    queue: Queue
    kind: str
    skipped: list[dict[str, Any]] = field(default_factory=list)
    computed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.queue.model,
            "kind": self.kind,
            "images": [item.to_dict() for item in self.queue.items],
            "computed": self.computed,
            "skipped": self.skipped,
            "notes": list(self.queue.notes),
        }


def active_ref(project: Any, kind: str) -> str | None:
    """The ``NAME:V`` of the active model of ``kind`` (``detector`` / ``severity:SCALE``)."""
    from ml.active.service import DETECTOR, kind_scale
    from ml.registry.versions import active_model

    base, scale = kind_scale(kind)
    if base == DETECTOR:
        info = active_model(project.folder, "detector")
        return info.ref if info else None
    from ml import registry

    for m in registry.list_models(project.folder, "severity"):
        if m.status == "active" and (m.extra or {}).get("scale") == scale:
            return m.ref
    return None


def candidates(project: Any) -> list[tuple[int, str]]:
    """Unreviewed, readable images in file (id) order."""
    return [
        (r.id, r.path)
        for r in project.images()
        if r.review_status != REVIEWED and r.width > 0 and r.height > 0
    ]


def reviewed_counts(project: Any, roles: dict[int, str]) -> tuple[int, int]:
    done = [r.id for r in project.images(status=REVIEWED)]
    held = sum(1 for i in done if roles.get(i) == "heldout")
    return len(done) - held, held


def review_queue(
    project: Any,
    kind: str,
    n: int,
    *,
    device: str = "auto",
    flip: str = "all",
    compute: bool = True,
    store: bool = True,
    diversity: bool = False,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> QueueResult:
    """The next ``n`` images; scores missing for the active version are computed first."""
    from ml.active.opening import open_scorer
    from ml.active.service import iter_scores

    if n < 1:
        raise ClinLensError(f"--n must be at least 1, not {n}")
    cands = candidates(project)
    roles = project.heldout.roles()
    model = active_ref(project, kind)
    result = QueueResult(Queue([], model), kind)
    scores: dict[int, Any] | None = None
    if model is not None:
        scores = dict(project.scores.scores(kind, model, with_features=diversity))
        todo = [i for i, _ in cands if roles.get(i) != "heldout" and i not in scores]
        if todo and compute:
            scorer = open_scorer(project, kind, device=device, flip=flip)
            pending: list[StoredScore] = []
            try:
                for done, out in enumerate(iter_scores(project, scorer, todo, cancel=cancel), 1):
                    if out.ok:
                        scores[out.image_id] = out.stored()
                        pending.append(out.stored())
                        result.computed += 1
                    else:
                        result.skipped.append(
                            {"image": out.image_id, "path": out.path, "error": out.error}
                        )
                    if store and len(pending) >= STORE_EVERY:
                        project.scores.put(kind, model, pending)
                        pending = []
                    if progress is not None:
                        progress(done, len(todo), f"scored {out.path}")
            finally:
                scorer.close()
                if store and pending:
                    project.scores.put(kind, model, pending)
    failed = {s["image"] for s in result.skipped}
    kept = [(i, p) for i, p in cands if i not in failed]
    queue = build_queue(
        kept,
        roles,
        scores,
        n,
        model=model,
        fraction=project.heldout.fraction(),
        reviewed=reviewed_counts(project, roles),
        diversity=diversity,
    )
    if result.skipped:
        queue.notes.append(
            f"{len(result.skipped)} image(s) skipped: the model failed on them (see skipped)"
        )
    result.queue = queue
    return result
