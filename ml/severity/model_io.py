"""Severity model files: what a trained grader holds, how it is saved, registered, loaded.

A model file is a joblib pickle (scikit-learn objects), so - like a detector's ``.pt`` - it
can run code when loaded. It is therefore only ever loaded through the project's model
registry (``ml.registry``), which refuses a file whose SHA-256 changed since it was
registered. Models are registered with kind ``severity`` under the name
``severity-<scale>``; the newest *active* model of a scale grades that scale. Registering a
new one sets the scale's previous active models aside as candidates (other scales' models
are left alone).
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from core.annotations import GradingScale
from core.annotations.scales import scale_from_mapping
from core.errors import ModelError
from core.store.definitions import scale_to_dict
from ml import registry
from ml.severity.reference import ReferenceIndex
from ml.severity.regressor import PatchRegressor

FORMAT = "clinlens-severity"
FORMAT_VERSION = 1
KIND = "severity"


def model_name(scale: str) -> str:
    return f"severity-{scale}"


@dataclass
class SeverityModel:
    """A trained grader for one scale."""

    scale: GradingScale
    backbone: str
    weights_path: str | None
    weights_sha: str | None
    regressor: PatchRegressor
    references: ReferenceIndex
    smote: bool
    augment: dict[str, Any]
    training: dict[str, Any]
    metrics: dict[str, Any] | None = None
    ref: str = ""  # registry "name:version", set when loaded/registered
    extra: dict[str, Any] = field(default_factory=dict)

    def to_payload(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "scale_name": self.scale.name,
            # The store keeps scales in this form too; scale_from_mapping reads it back.
            "scale": scale_to_dict(self.scale),
            "backbone": self.backbone,
            "weights_path": self.weights_path,
            "weights_sha": self.weights_sha,
            "regressor": {
                "config": self.regressor.config,
                "embedder": self.regressor.embedder,
                "head": self.regressor.head,
            },
            "references": self.references.to_state(),
            "smote": self.smote,
            "augment": self.augment,
            "training": self.training,
            "metrics": self.metrics,
            "extra": self.extra,
        }

    @classmethod
    def from_payload(cls, d: Any, source: str = "model file") -> SeverityModel:
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ModelError(f"{source} is not a ClinLens severity model")
        if int(d.get("format_version", 0)) > FORMAT_VERSION:
            raise ModelError(f"{source} was made by a newer ClinLens; update ClinLens to use it")
        try:
            scale = scale_from_mapping(str(d["scale_name"]), dict(d["scale"]), source)
            reg = PatchRegressor(scale, d["regressor"]["config"])
            reg.embedder = d["regressor"]["embedder"]
            reg.head = d["regressor"]["head"]
            return cls(
                scale=scale,
                backbone=str(d["backbone"]),
                weights_path=d.get("weights_path"),
                weights_sha=d.get("weights_sha"),
                regressor=reg,
                references=ReferenceIndex.from_state(d["references"]),
                smote=bool(d.get("smote", False)),
                augment=dict(d.get("augment") or {}),
                training=dict(d.get("training") or {}),
                metrics=d.get("metrics"),
                extra=dict(d.get("extra") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{source} is damaged ({exc.__class__.__name__}: {exc})") from exc


def save_model(model: SeverityModel, path: str | Path) -> Path:
    import joblib

    p = Path(path)
    joblib.dump(model.to_payload(), p, compress=3)
    return p


def _load_file(path: Path | BinaryIO, name: str) -> SeverityModel:
    import joblib

    try:
        payload = joblib.load(path)
    except Exception as exc:  # unpickling errors of every kind mean "not usable"
        raise ModelError(
            f"{name} cannot be read as a severity model ({exc.__class__.__name__})"
        ) from exc
    return SeverityModel.from_payload(payload, name)


def inspect_severity(path: Path) -> dict[str, Any]:
    """Registry inspector: checks a file is a severity model and describes it (records the
    scale the model grades, which is how grading finds it)."""
    model = _load_file(Path(path), Path(path).name)
    return {
        "training": model.training,
        "metrics": model.metrics,
        "extra": {"scale": model.scale.name, "backbone": model.backbone},
    }


# The registry finds this module by name (ml.registry.kinds.KIND_MODULES) when it needs the kind.
registry.register_kind(registry.ModelKind(KIND, suffixes=(".joblib",), describe=inspect_severity))


def register_model(project_dir: str | Path, model: SeverityModel) -> registry.ModelInfo:
    """Save ``model`` into the project's registry as the scale's active model; returns the
    registry's ModelInfo (``info.ref`` is what grade suggestions record)."""
    fd, tmp_name = tempfile.mkstemp(suffix=".joblib", prefix="severity-")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        save_model(model, tmp)
        info = registry.import_model(
            project_dir,
            tmp,
            KIND,
            name=model_name(model.scale.name),
            metadata={
                "training": model.training,
                "metrics": model.metrics,
                "extra": {
                    "scale": model.scale.name,
                    "backbone": model.backbone,
                    "weights_sha": model.weights_sha,
                    "smote": model.smote,
                },
            },
            status="active",
            source="trained",
            inspect=False,
        )
    finally:
        tmp.unlink(missing_ok=True)
    for other in registry.list_models(project_dir, KIND):
        if (
            other.file != info.file
            and other.status == "active"
            and (other.extra or {}).get("scale") == model.scale.name
        ):
            registry.update_model(project_dir, other, status="candidate")
    model.ref = info.ref
    return info


def active_model_info(project_dir: str | Path, scale: str) -> registry.ModelInfo:
    """The registry entry grading ``scale`` (NoModelError with a hint when there is none)."""
    models = [
        m for m in registry.list_models(project_dir, KIND) if (m.extra or {}).get("scale") == scale
    ]
    active = [m for m in models if m.status == "active"]
    if not active:
        raise registry.NoModelError(
            f"this project has no severity model for the '{scale}' scale yet: train one with "
            f"'python main.py severity train PROJECT --scale {scale}'"
        )
    return max(active, key=lambda m: (m.created, m.version))


def graded_scales(project_dir: str | Path) -> list[str]:
    """Scales that have an active severity model, in name order."""
    return sorted(
        {
            str((m.extra or {}).get("scale"))
            for m in registry.list_models(project_dir, KIND)
            if m.status == "active" and (m.extra or {}).get("scale")
        }
    )


_loaded: dict[tuple[str, str], SeverityModel] = {}
_loaded_lock = threading.Lock()


def load_model(
    project_dir: str | Path, scale: str, info: registry.ModelInfo | None = None
) -> SeverityModel:
    """The active model of ``scale`` (or the given registry entry), checksum-verified.

    Loaded models are kept per (file, checksum), so the GUI can call this per image.
    """
    info = info or active_model_info(project_dir, scale)
    # Checked bytes are unpickled, never the path again (see registry.read_verified).
    data = registry.read_verified(project_dir, info)
    key = (str(registry.model_path(project_dir, info).resolve()), info.sha256)
    with _loaded_lock:
        cached = _loaded.get(key)
    if cached is not None:
        return cached
    model = _load_file(io.BytesIO(data), info.file)
    model.ref = info.ref
    with _loaded_lock:
        _loaded[key] = model
    return model
