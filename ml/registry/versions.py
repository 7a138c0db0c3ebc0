"""Model versions: candidate / active / retired, promotion, rollback, and their audit events.

A trained model is registered as a ``candidate`` (``register_trained``) and becomes
``active`` only through :func:`promote_version` (the gate, or the user by hand). Every
promotion, demotion and rollback is an audit event in the project database, written by
the process that holds the project's writer (the GUI or the CLI): actions
``promote_model``, ``demote_model`` and ``rollback_model``, entity ``model``, with the
versions before and after.

An entry that was ever active carries ``extra["was_active"]``; :func:`rollback` retires
the active version of a kind and makes the newest earlier version that was active before
it active again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import ModelError
from ml.registry.storage import ModelInfo, import_model, list_models, update_model


def active_model(folder: str | Path, kind: str = "detector") -> ModelInfo | None:
    active = [m for m in list_models(folder, kind) if m.status == "active"]
    return max(active, key=lambda m: (m.created, m.version)) if active else None


def _audit(project: Any, action: str, before: Any, after: Any) -> None:
    db = project._db  # the store has no public audit writer yet
    with db.write() as conn:
        db.audit(conn, action, "model", before=before, after=after)


def register_trained(
    project: Any, weights: str | Path, name: str, metadata: dict[str, Any]
) -> ModelInfo:
    """Register ClinLens-trained weights as a new ``candidate`` version of ``name``.

    The file is checked like an import (its pickle against the allow-list, nothing
    unpickled) before its hash is recorded (origin ``trained``).
    """
    from ml.registry.kinds import safety_check_for

    data = Path(weights).read_bytes()
    check = safety_check_for("detector")
    if check is not None:
        check(data, Path(weights).name)
    return import_model(
        project.folder,
        weights,
        "detector",
        name,
        metadata=metadata,
        status="candidate",
        source="trained",
        inspect=False,
    )


def promote_version(project: Any, info: ModelInfo, *, reason: str = "by hand") -> ModelInfo:
    """Make ``info`` the active version of its kind; the active one becomes a candidate."""
    folder = project.folder
    previous = [m for m in list_models(folder, info.kind) if m.status == "active"]
    for other in previous:
        if other.file != info.file:
            update_model(folder, other, status="candidate")
            _audit(
                project,
                "demote_model",
                {"model": other.ref, "status": "active"},
                {"model": other.ref, "status": "candidate", "reason": reason},
            )
    extra = {**info.extra, "was_active": True}
    new = update_model(folder, info, status="active", extra=extra)
    _audit(
        project,
        "promote_model",
        {"model": info.ref, "status": info.status},
        {
            "model": new.ref,
            "status": "active",
            "reason": reason,
            "replaces": [m.ref for m in previous if m.file != info.file],
        },
    )
    return new


def rollback(project: Any, kind: str = "detector") -> tuple[ModelInfo, ModelInfo]:
    """Retire the active version and reactivate the one active before it: (old, new)."""
    folder = project.folder
    current = active_model(folder, kind)
    if current is None:
        raise ModelError(f"this project has no active {kind} model to roll back")
    earlier = [
        m
        for m in list_models(folder, kind)
        if m.file != current.file
        and m.extra.get("was_active")
        and (m.created, m.version) < (current.created, current.version)
        and m.status != "active"
    ]
    if not earlier:
        raise ModelError(
            f"no earlier {kind} version was ever active before {current.ref}: nothing to roll "
            "back to (promote a version by hand with 'model promote')"
        )
    target = max(earlier, key=lambda m: (m.created, m.version))
    retired = update_model(folder, current, status="retired")
    restored = update_model(folder, target, status="active")
    _audit(
        project,
        "rollback_model",
        {"model": current.ref, "status": "active"},
        {"model": restored.ref, "status": "active", "retired": current.ref},
    )
    return retired, restored
