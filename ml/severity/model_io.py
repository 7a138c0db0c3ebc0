"""Severity model files: what a trained grader holds, how it is saved, registered, loaded.

Format (``format_version`` 2, suffix ``.npz``): a numpy ``.npz`` archive that cannot run
code when it is read. ``__model__`` holds the JSON of everything that is not an array (the
scale, configuration, metadata, and each scikit-learn estimator as its class name plus its
attributes); the arrays (coefficients, means, scales, PCA components, Nystroem landmarks,
reference vectors) are ``a0``, ``a1``... which the JSON refers to as ``{"$array": "a3"}``.
It is read with ``numpy.load(allow_pickle=False)`` after :func:`check_severity_file` has
refused object arrays, zip tricks and oversized entries; an estimator is rebuilt by
creating one of a fixed set of classes (``ESTIMATORS``) and setting those attributes, so
its predictions are exactly those of the model that was saved.

Version 1 files were joblib pickles (``.joblib``), which run code when loaded. ClinLens no
longer loads them: each is refused with one line saying how to convert it, and
:func:`convert_legacy_model` (``python main.py severity convert DIR NAME --trust``) is the
one place that unpickles one - only a file whose SHA-256 the project database recorded
(registered by ClinLens), and only after the user said ``--trust``; it writes and registers
the model in the current format and retires the old entry.

Models are registered with kind ``severity`` under the name ``severity-<scale>``; the
newest *active* model of a scale grades that scale. Registering a new one sets the scale's
previous active models aside as candidates (other scales' models are left alone). They are
loaded only through the project's registry (``ml.registry``), which refuses a file whose
SHA-256 differs from the one the project database recorded.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import tempfile
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.annotations import GradingScale
from core.annotations.scales import scale_from_mapping
from core.errors import FormatError, ModelError
from core.store.definitions import scale_to_dict
from ml import model_safety, registry
from ml.severity.reference import ReferenceIndex
from ml.severity.regressor import PatchRegressor, RegressorConfig

FORMAT = "clinlens-severity"
FORMAT_VERSION = 2  # 1: a joblib pickle (.joblib), refused; 2: .npz + JSON
KIND = "severity"
SUFFIX = ".npz"
LEGACY_SUFFIX = ".joblib"
JSON_MEMBER = "__model__"
MAX_FILE = 512 * 1024**2  # a severity model is a few MB at most
MAX_JSON = 16 * 1024**2
_ARRAY_MEMBER = re.compile(r"a[0-9]{1,6}")
_ATTR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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
                "config": dataclasses.asdict(self.regressor.config),
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
            reg = PatchRegressor(scale, _config(d["regressor"]["config"]))
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
        except (KeyError, TypeError, ValueError, AttributeError, FormatError) as exc:
            # FormatError: scale_from_mapping refuses a malformed scale in one line.
            raise ModelError(f"{source} is damaged ({exc.__class__.__name__}: {exc})") from exc


def _config(value: Any) -> RegressorConfig:
    """The regressor configuration: a dict (format 2) or, in a converted joblib model, the
    dataclass itself."""
    if isinstance(value, RegressorConfig):
        return value
    if not isinstance(value, dict):
        raise TypeError("regressor config is not a mapping")
    names = {f.name for f in dataclasses.fields(RegressorConfig)}
    return RegressorConfig(**{k: v for k, v in value.items() if k in names})


# --- estimators: scikit-learn objects as class name + attributes ---------------------------
def _estimator_classes() -> dict[str, Any]:
    """The only classes a severity model file may name (what ``PatchRegressor`` builds)."""
    from sklearn.decomposition import PCA
    from sklearn.kernel_approximation import Nystroem
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return {c.__name__: c for c in (StandardScaler, PCA, Ridge, Nystroem, Pipeline)}


ESTIMATORS = ("StandardScaler", "PCA", "Ridge", "Nystroem", "Pipeline")


class _Encoder:
    """Turns a payload into JSON-ready data, moving every numpy value into ``arrays``."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def array(self, value: np.ndarray | np.generic) -> dict[str, Any]:
        arr = np.asarray(value)
        if arr.dtype.hasobject:
            raise ModelError("a severity model cannot hold Python objects in its arrays")
        key = f"a{len(self.arrays)}"
        self.arrays[key] = arr
        out: dict[str, Any] = {"$array": key}
        if isinstance(value, np.generic):
            out["$scalar"] = True
        return out

    def encode(self, value: Any, *, estimators: bool = False) -> Any:
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, (np.ndarray, np.generic)):
            return self.array(value)
        if isinstance(value, dict):
            if any(not isinstance(k, str) or k.startswith("$") for k in value):
                raise ModelError("a severity model's metadata needs plain text keys")
            return {k: self.encode(v, estimators=estimators) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.encode(v, estimators=estimators) for v in value]
        if estimators and type(value).__name__ in ESTIMATORS:
            return self.estimator(value)
        raise ModelError(f"a severity model cannot store a {type(value).__name__}")

    def estimator(self, est: Any) -> dict[str, Any]:
        name = type(est).__name__
        if _estimator_classes().get(name) is not type(est):
            raise ModelError(f"a severity model cannot store a {name}")
        state = dict(vars(est))
        if name == "Pipeline":
            steps = [[str(step), self.estimator(obj)] for step, obj in state.pop("steps")]
            return {"$estimator": name, "steps": steps, "state": self.encode(state)}
        return {"$estimator": name, "state": self.encode(state)}


class _Decoder:
    """The inverse of ``_Encoder`` over checked JSON and arrays read without pickle."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays

    def decode(self, value: Any, *, estimators: bool = False) -> Any:
        if isinstance(value, list):
            return [self.decode(v, estimators=estimators) for v in value]
        if not isinstance(value, dict):
            return value
        if "$array" in value:
            arr = self.arrays[str(value["$array"])]
            return arr[()] if value.get("$scalar") else arr
        if "$estimator" in value:
            if not estimators:
                raise ValueError("an estimator outside the regressor")
            return self.estimator(value)
        return {k: self.decode(v, estimators=estimators) for k, v in value.items()}

    def estimator(self, value: dict[str, Any]) -> Any:
        name = str(value.get("$estimator"))
        cls = _estimator_classes().get(name)
        if cls is None:
            raise ValueError(f"unknown estimator '{name}'")
        state = self.decode(value.get("state") or {})
        if not isinstance(state, dict):
            raise ValueError(f"{name} state is not a mapping")
        for key in state:
            # Data attributes only: never one that would hide a method of the class.
            if (
                not _ATTR.fullmatch(key)
                or key.startswith("__")
                or callable(getattr(cls, key, None))
            ):
                raise ValueError(f"{name} cannot have an attribute '{key}'")
        est = cls.__new__(cls)
        if name == "Pipeline":
            steps = value.get("steps")
            if not isinstance(steps, list) or not all(
                isinstance(s, list) and len(s) == 2 and isinstance(s[0], str) for s in steps
            ):
                raise ValueError("Pipeline steps are malformed")
            state["steps"] = [(s[0], self.estimator(s[1])) for s in steps]
        est.__dict__.update(state)
        return est


# --- the file ---------------------------------------------------------------------------------
def save_model(model: SeverityModel, path: str | Path) -> Path:
    """Write ``model`` in the current format (numpy arrays + JSON, no pickle)."""
    encoder = _Encoder()
    payload = model.to_payload()
    regressor = payload.pop("regressor")
    doc = encoder.encode(payload)
    doc["regressor"] = {
        "config": encoder.encode(regressor["config"]),
        "embedder": encoder.encode(regressor["embedder"], estimators=True),
        "head": encoder.encode(regressor["head"], estimators=True),
    }
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False).encode("utf-8")
    arrays = {JSON_MEMBER: np.frombuffer(text, dtype=np.uint8), **encoder.arrays}
    p = Path(path)
    with open(p, "wb") as fh:
        np.savez(fh, allow_pickle=False, **arrays)
    return p


def _legacy_message(shown: str, ref: str | None = None) -> str:
    what = ref or "NAME"
    return (
        f"{shown} is a severity model in the old joblib format, which can run code when it is "
        "loaded, so ClinLens does not load it; if it was made by ClinLens and you trust it, "
        f"convert it once with: python main.py severity convert DIR {what} --trust"
    )


def _looks_like_joblib(data: bytes) -> bool:
    # A pickle starts with PROTO (0x80); joblib's compressed files with zlib's 0x78 or
    # its own "ZF" header.
    return data[:1] == b"\x80" or data[:1] == b"\x78" or data[:2] == b"ZF"


def check_severity_file(data: bytes, shown: str) -> None:
    """Registry check for kind ``severity`` (nothing from the file runs): a ClinLens .npz
    whose arrays hold no Python objects. ModelError (one line) otherwise."""
    _read_parts(data, shown, arrays=False)


def _read_parts(
    data: bytes, shown: str, *, arrays: bool
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    if not data:
        raise ModelError(f"model file {shown} is empty")
    if len(data) > MAX_FILE:
        raise ModelError(f"{shown} is refused: it is larger than {MAX_FILE >> 20} MB")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        if shown.lower().endswith(LEGACY_SUFFIX) or _looks_like_joblib(data):
            raise ModelError(_legacy_message(shown))
        raise ModelError(f"{shown} is not a ClinLens severity model (an .npz file)")
    archive = model_safety.open_archive(data, shown, max_unpacked=MAX_FILE)
    infos = archive.infolist()
    members = {i.filename: i for i in infos}
    expected = f"{JSON_MEMBER}.npy"
    if expected not in members or any(
        n != expected and not (n.endswith(".npy") and _ARRAY_MEMBER.fullmatch(n[:-4]))
        for n in members
    ):
        raise ModelError(f"{shown} is not a ClinLens severity model (unexpected contents)")
    for info in infos:
        _check_npy_header(archive, info, shown)
    if members[expected].file_size > MAX_JSON:
        raise ModelError(f"{shown} is refused: its description is larger than {MAX_JSON >> 20} MB")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            raw = npz[JSON_MEMBER]
            if raw.dtype != np.uint8 or raw.ndim != 1:
                raise ValueError("description is not text")
            doc = json.loads(raw.tobytes().decode("utf-8"))
            loaded = {k: npz[k] for k in npz.files if k != JSON_MEMBER} if arrays else {}
    except ModelError:
        raise
    except Exception as exc:  # numpy, zip and JSON errors all mean "not usable"
        raise ModelError(f"{shown} is damaged ({exc.__class__.__name__})") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelError(f"{shown} is not a ClinLens severity model")
    if int(doc.get("format_version", 0)) > FORMAT_VERSION:
        raise ModelError(f"{shown} was made by a newer ClinLens; update ClinLens to use it")
    return doc, loaded


def _check_npy_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo, shown: str) -> None:
    """Refuse an array numpy could only read with pickle, before reading it."""
    try:
        with archive.open(info) as fh:
            version = np.lib.format.read_magic(fh)
            header = (
                np.lib.format.read_array_header_1_0(fh)
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0(fh)
            )
    except Exception as exc:  # a bad magic, header or version: not an array numpy writes
        raise ModelError(f"{shown} is damaged ({exc.__class__.__name__})") from exc
    dtype = header[2]
    if dtype.hasobject:
        raise ModelError(
            f"{shown} is refused: it holds Python objects, which only a pickle could read "
            "(a model file can run code when it is loaded)"
        )


def _load_bytes(data: bytes, shown: str) -> SeverityModel:
    doc, arrays = _read_parts(data, shown, arrays=True)
    decoder = _Decoder(arrays)
    try:
        regressor = doc.pop("regressor")
        payload = decoder.decode(doc)
        payload["regressor"] = {
            "config": decoder.decode(regressor["config"]),
            "embedder": decoder.decode(regressor["embedder"], estimators=True),
            "head": decoder.decode(regressor["head"], estimators=True),
        }
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelError(f"{shown} is damaged ({exc.__class__.__name__}: {exc})") from exc
    return SeverityModel.from_payload(payload, shown)


def read_model_file(path: str | Path) -> SeverityModel:
    """A severity model from a file the caller made (tests, tools); the app loads models
    only through :func:`load_model`. Nothing in the file can run code."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read {p.name}: {exc.strerror or exc}") from exc
    return _load_bytes(data, p.name)


def inspect_severity(path: Path) -> dict[str, Any]:
    """Registry inspector: checks a file is a severity model and describes it (records the
    scale the model grades, which is how grading finds it)."""
    model = read_model_file(path)
    return {
        "training": model.training,
        "metrics": model.metrics,
        "extra": {"scale": model.scale.name, "backbone": model.backbone},
    }


# The registry finds this module by name (ml.registry.kinds.KIND_MODULES) when it needs the kind.
registry.register_kind(
    registry.ModelKind(
        KIND, suffixes=(SUFFIX,), describe=inspect_severity, check=check_severity_file
    )
)


def register_model(
    project_dir: str | Path,
    model: SeverityModel,
    *,
    status: str = "active",
    origin: str = "trained",
    source: str = "trained",
    confirm: bool = True,
) -> registry.ModelInfo:
    """Save ``model`` into the project's registry (by default as the scale's active model);
    returns the registry's ModelInfo (``info.ref`` is what grade suggestions record)."""
    fd, tmp_name = tempfile.mkstemp(suffix=SUFFIX, prefix="severity-")
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
            status=status,
            source=source,
            inspect=False,
            origin=origin,
            confirm=confirm,
        )
    finally:
        tmp.unlink(missing_ok=True)
    if status == "active":
        for other in registry.list_models(project_dir, KIND):
            if (
                other.file != info.file
                and other.status == "active"
                and (other.extra or {}).get("scale") == model.scale.name
            ):
                registry.update_model(project_dir, other, status="candidate")
    model.ref = info.ref
    return info


def convert_legacy_model(
    project_dir: str | Path, name: str, *, trusted: bool
) -> tuple[registry.ModelInfo, registry.ModelInfo]:
    """Rewrite a registered joblib-era model (``NAME`` or ``NAME:VERSION``) in the current
    format; returns (old entry, new entry). The old entry is retired, the new one takes its
    status.

    The one place ClinLens unpickles a severity model, and only when both hold: the user
    said they trust the file (``trusted``), and its SHA-256 is the one the project database
    recorded for it (``registry.read_verified``: a file swapped since, or a JSON edited to
    match a swapped file, is refused before anything reads it).
    """
    info = registry.find_model(project_dir, KIND, name)
    if not info.file.lower().endswith(LEGACY_SUFFIX):
        raise ModelError(f"{info.ref} is already in the current format; nothing to convert")
    if not trusted:
        raise ModelError(
            f"models/{info.file} is in the old joblib format, which runs code when it is "
            "loaded: add --trust to convert it, only if it was made by ClinLens and nobody "
            "else could have changed it"
        )
    data = registry.read_verified(project_dir, info)
    model = SeverityModel.from_payload(_unpickle_legacy(data, info.file), info.file)
    new = register_model(
        project_dir,
        model,
        status=info.status if info.status in ("active", "candidate") else "candidate",
        origin="converted",
        source=f"converted from {info.file}",
    )
    registry.update_model(project_dir, info, status="retired")
    return info, new


def _unpickle_legacy(data: bytes, shown: str) -> Any:
    """The joblib unpickling of :func:`convert_legacy_model`; nothing else may call it."""
    import joblib

    try:
        return joblib.load(io.BytesIO(data))
    except Exception as exc:  # unpickling errors of every kind mean "not usable"
        raise ModelError(
            f"{shown} cannot be read as a severity model ({exc.__class__.__name__})"
        ) from exc


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
    if info.file.lower().endswith(LEGACY_SUFFIX):
        raise ModelError(_legacy_message(f"models/{info.file}", info.ref))
    # Checked bytes are read, never the path again (see registry.read_verified).
    data = registry.read_verified(project_dir, info)
    key = (str(registry.model_path(project_dir, info).resolve()), info.sha256)
    with _loaded_lock:
        cached = _loaded.get(key)
    if cached is not None:
        return cached
    model = _load_bytes(data, f"models/{info.file}")
    model.ref = info.ref
    with _loaded_lock:
        _loaded[key] = model
    return model
