"""Storage of the model registry: the project's ``models/`` folder, one metadata JSON per
model file, and the SHA-256 check that guards every load (through ``core.hashing``).

Layout: ``models/<name>-v<version><suffix>`` plus ``models/<that file name>.json``. Storage
is generic: detectors (``.pt``) and severity models (``.npz`` or anything) share it. What
a kind checks and records at import comes from the table of kinds (``ml.registry.kinds``);
nothing here imports a kind.

Trust. The JSON describes a model; it does not vouch for it (whoever can swap the file can
edit the JSON). A file is loaded only while its SHA-256 equals the one recorded in the
project database when it was registered (``ml.registry.trust``, table ``model_trust``):
at import, after the kind's static check (no code run) and its inspector passed, or for a
model ClinLens trained, at registration. A JSON whose file has no such record is listed but
never loaded. ``import_model(..., confirm=False)`` (the read-only detector process) stores
the file and JSON but leaves the record to the writer's :func:`confirm_import`.

Projects from before the table: their models have only a JSON. The migration that made the
table cannot vouch for files it must not parse, so it marks the project; the first time the
registry runs with the project open for writing (the GUI listing its models, ``predict``,
``model import``...) it adopts, once, each entry whose file still has the JSON's hash and
passes its kind's static check (origin ``adopted``; an old ``.joblib`` severity model is
recorded as ``legacy``: never loaded, only ``severity convert --trust`` reads it). After
that, a JSON-only entry is never adopted again.

What the detector reads from an entry: ``tiling`` (``TilingSpec.to_dict()``: how images
were cut for training), ``filter_settings`` (``FilterSettings.to_dict()``: how 16-bit images
were rendered to 8-bit for training), ``imgsz``, ``classes``, and in ``extra`` the optional
``class_agnostic`` (bool) and ``generic_label`` (str). A trainer registering a new model
should record the first two, so suggestions see the pixels the model was trained on.

Status: ``active`` models are used when no name is given (newest first); ``candidate`` ones
(e.g. a retrained model that did not beat the current one) are kept aside until promoted.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import ClinLensError, ModelError
from core.hashing import sha256_bytes, sha256_file
from core.store.model_trust import open_repository
from ml.registry import trust
from ml.registry.kinds import check_kind, get_kind, inspector_for, safety_check_for

MODELS_DIR = "models"
META_SUFFIX = ".json"
MARKER = "clinlens_model"  # key that identifies our metadata files
STATUSES = ("active", "candidate", "retired")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,63}$")


class NoModelError(ModelError):
    """The project has no (active) model of the requested kind yet."""


@dataclass(frozen=True)
class ModelInfo:
    """One registered model. ``file`` is relative to the project's ``models/`` folder."""

    name: str
    version: int
    kind: str
    file: str
    sha256: str
    size: int
    created: str
    source: str = ""  # original file name, or "trained"
    status: str = "active"
    classes: tuple[str, ...] = ()
    imgsz: int | None = None
    tiling: dict[str, Any] | None = None
    filter_settings: dict[str, Any] | None = None
    training: dict[str, Any] | None = None  # data summary: images, boxes per label, split...
    metrics: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """What suggestions record as their model version, e.g. ``xray-detector:3``."""
        return f"{self.name}:{self.version}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["classes"] = list(self.classes)
        d["ref"] = self.ref
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelInfo:
        return cls(
            name=str(d["name"]),
            version=int(d["version"]),
            kind=str(d["kind"]),
            file=str(d["file"]),
            sha256=str(d["sha256"]),
            size=int(d.get("size", 0)),
            created=str(d.get("created", "")),
            source=str(d.get("source", "")),
            status=str(d.get("status", "active")),
            classes=tuple(str(c) for c in d.get("classes") or ()),
            imgsz=int(d["imgsz"]) if d.get("imgsz") else None,
            tiling=d.get("tiling"),
            filter_settings=d.get("filter_settings"),
            training=d.get("training"),
            metrics=d.get("metrics"),
            extra=dict(d.get("extra") or {}),
        )


# --- paths and hashing ------------------------------------------------------------------


def models_dir(project_dir: str | Path) -> Path:
    return Path(project_dir) / MODELS_DIR


def file_sha256(path: str | Path) -> str:
    """The SHA-256 the registry records and checks (``core.hashing``); ModelError if the
    file cannot be read."""
    try:
        return sha256_file(path)
    except OSError as exc:
        raise ModelError(
            f"cannot read model file {Path(path).name}: {exc.strerror or exc}"
        ) from exc


def model_path(project_dir: str | Path, info: ModelInfo) -> Path:
    return models_dir(project_dir) / info.file


def _meta_path(project_dir: str | Path, file: str) -> Path:
    return models_dir(project_dir) / f"{file}{META_SUFFIX}"


def _write_json_atomic(path: Path, data: dict[str, Any], *, exclusive: bool = False) -> None:
    text = json.dumps(data, indent=2, sort_keys=True, default=str)
    if exclusive:  # claim the name: fails if another import took this version meanwhile
        with open(path, "x", encoding="utf-8") as fh:
            fh.write(text)
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# --- reading ----------------------------------------------------------------------------


def list_models(project_dir: str | Path, kind: str | None = None) -> list[ModelInfo]:
    """Registered models (newest version last within a name). Broken metadata is skipped.

    Entries are listed whether or not the project trusts their file (see :func:`trust_state`);
    only loading checks that.
    """
    _adopt_if_pending(project_dir)
    out = [m for m in _entries(project_dir) if kind is None or m.kind == kind]
    out.sort(key=lambda m: (m.kind, m.name, m.version))
    return out


def _entries(project_dir: str | Path) -> list[ModelInfo]:
    folder = models_dir(project_dir)
    if not folder.is_dir():
        return []
    out: list[ModelInfo] = []
    for meta in sorted(folder.glob(f"*{META_SUFFIX}")):
        info = _read_meta(meta)
        if info is not None:
            out.append(info)
    return out


def _read_meta(meta: Path) -> ModelInfo | None:
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not data.get(MARKER):
            return None
        info = ModelInfo.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    # The metadata must describe the file it sits beside, not some other path.
    if f"{info.file}{META_SUFFIX}" != meta.name or "/" in info.file or "\\" in info.file:
        return None
    return info


def unregistered_files(project_dir: str | Path) -> list[str]:
    """Files in ``models/`` that no metadata describes (never loaded)."""
    folder = models_dir(project_dir)
    if not folder.is_dir():
        return []
    known = {m.file for m in list_models(project_dir)}
    return sorted(
        p.name
        for p in folder.iterdir()
        if p.is_file()
        and p.name not in known
        and not p.name.endswith((META_SUFFIX, ".tmp"))
        and not p.name.startswith(".")
    )


def find_model(
    project_dir: str | Path, kind: str, name: str | None = None, version: int | None = None
) -> ModelInfo:
    """The model to use: by name (``name`` or ``name:version``), else the newest active one."""
    models = list_models(project_dir, kind)
    if name and version is None and ":" in name:
        base, _, ver = name.rpartition(":")
        if ver.isdigit():
            name, version = base, int(ver)
    if name:
        matches = [
            m for m in models if m.name == name and (version is None or m.version == version)
        ]
        if not matches:
            known = ", ".join(sorted({m.ref for m in models})) or "none"
            wanted = f"{name}:{version}" if version is not None else name
            raise ModelError(
                f"no {kind} model named '{wanted}' in this project (registered: {known})"
            )
        return matches[-1]
    active = [m for m in models if m.status == "active"]
    if not active:
        hint = f" ({len(models)} kept aside as candidates; promote one)" if models else ""
        raise NoModelError(
            f"this project has no {kind} model yet{hint}: import one with "
            f"'python main.py model import PROJECT FILE.pt --kind {kind}' or train one"
        )
    return max(active, key=lambda m: (m.created, m.version))


def read_verified(project_dir: str | Path, info: ModelInfo) -> bytes:
    """The model file's bytes, read once and checked against the hash the project database
    recorded when the model was registered.

    Loaders take these bytes (or :func:`verified_file`), never the path again: checking
    a path and then loading it would leave a moment in which the file could be replaced.
    The JSON's own ``sha256`` must agree too, but it is never trusted alone.
    """
    path = model_path(project_dir, info)
    if not path.is_file():
        raise ModelError(f"model file models/{info.file} is missing; re-import the model")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(
            f"cannot read model file models/{info.file}: {exc.strerror or exc}"
        ) from exc
    record = trust.trusted(project_dir, info.file)
    if record is None:
        raise ModelError(
            f"model file models/{info.file} is not recorded in this project's database as a "
            "model ClinLens imported or trained, so ClinLens will not load it; import the "
            "file again if you trust it"
        )
    if sha256_bytes(data) != record.sha256:
        raise ModelError(
            f"model file models/{info.file} has changed since it was imported (its checksum "
            f"no longer matches), so ClinLens will not load it; re-import it if you trust it"
        )
    if info.sha256 != record.sha256 or info.kind != record.kind:
        raise ModelError(
            f"the description of models/{info.file} ({info.file}{META_SUFFIX}) was edited "
            "after the model was imported, so ClinLens will not load it; re-import it"
        )
    return data


def trust_state(project_dir: str | Path, info: ModelInfo) -> str:
    """``trusted``, ``changed`` (file or JSON differs from the record), ``unrecorded`` (no
    record: never loaded) or ``missing`` (no file) - what ``model list`` shows."""
    path = model_path(project_dir, info)
    if not path.is_file():
        return "missing"
    try:
        record = trust.trusted(project_dir, info.file)
    except ModelError:
        return "unrecorded"
    if record is None:
        return "unrecorded"
    try:
        same = file_sha256(path) == record.sha256 == info.sha256 and record.kind == info.kind
    except ModelError:
        return "missing"
    return "trusted" if same else "changed"


def verified_path(project_dir: str | Path, info: ModelInfo) -> Path:
    """The model file, after checking it is still the file that was registered (for a
    quick re-check; to load a model use :func:`read_verified` or :func:`verified_file`)."""
    read_verified(project_dir, info)
    return model_path(project_dir, info)


@contextlib.contextmanager
def verified_file(project_dir: str | Path, info: ModelInfo) -> Iterator[Path]:
    """A private temporary copy of exactly the checked bytes, for loaders that need a path
    (ultralytics). Removed on exit."""
    data = read_verified(project_dir, info)
    fd, name = tempfile.mkstemp(prefix="clinlens-model-", suffix=Path(info.file).suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        yield Path(name)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


# --- writing ----------------------------------------------------------------------------


def check_name(name: str) -> str:
    name = name.strip()
    if not _NAME_RE.match(name):
        raise ModelError(
            f"invalid model name '{name}': use letters, digits, spaces, '.', '_' or '-' "
            "(at most 64 characters)"
        )
    return name


def _default_name(file: Path) -> str:
    stem = re.sub(r"[^A-Za-z0-9._ -]+", "-", file.stem).strip(" .-_") or "model"
    return stem[:64]


def import_model(
    project_dir: str | Path,
    file: str | Path,
    kind: str,
    name: str | None = None,
    *,
    metadata: dict[str, Any] | None = None,
    status: str = "active",
    source: str | None = None,
    inspect: bool = True,
    confirm: bool = True,
    origin: str | None = None,
    derive: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> ModelInfo:
    """Copy ``file`` into the project's ``models/`` and record it (hash, metadata).

    The GUI asks the user to confirm before calling this for an outside file. ``metadata``
    fills fields such as ``tiling``, ``filter_settings``, ``training``, ``metrics``.
    ``derive``, if given, is called with what the kind's inspector read from the file (e.g.
    ``classes``, ``imgsz``) and returns more metadata, which overrides ``metadata``: how a
    caller records settings that default to the model's own (a detector's tile size is its
    checkpoint's ``imgsz`` unless the user gave one).

    The same file again. Importing bytes already registered (and trusted) for this kind
    returns that entry unchanged, and stores nothing new, only when the name *and* the
    metadata that would be recorded (``classes``, ``imgsz``, ``tiling``,
    ``filter_settings``, ``training``, ``metrics``, ``extra``) are the same: re-running an
    import is idempotent (whether it was is ``info.file`` having been listed before; the
    ``model import`` command says "already registered as NAME:V"). The same file under
    another name, or with other metadata (another tiling, say), is a new entry: the next
    version of that name, with the new metadata and its own copy and trust record, so both
    settings can be compared and neither entry changes under a model version that
    suggestions already cite. (Refusing would leave no way to record the corrected
    settings; returning the old entry silently recorded the wrong ones.) The original file
    name (``source``), the status and the date are not compared: a re-import does not
    revive or demote a version.

    ``inspect``: run the kind's static check (nothing from the file runs) and then its
    inspector; False only for files ClinLens made itself (training) and tests' stand-ins.
    ``confirm``: record the hash in the project database now (origin ``origin``, default
    ``trained`` when ``source == "trained"`` else ``imported``). The read-only detector
    process passes False and the writer calls :func:`confirm_import` with the entry.
    """
    src = Path(file)
    check_kind(kind)
    if status not in STATUSES:
        raise ModelError(f"unknown model status '{status}': use one of {', '.join(STATUSES)}")
    if not src.is_file():
        raise ModelError(f"model file {src} does not exist")
    name = check_name(name) if name else _default_name(src)
    origin = origin or ("trained" if source == "trained" else "imported")
    records = trust.records(project_dir)  # also: refuses a folder that is not a project
    folder = models_dir(project_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot write to {folder}: {exc.strerror or exc}") from exc

    sha = file_sha256(src)
    same_bytes = [
        existing
        for existing in list_models(project_dir, kind)
        if existing.sha256 == sha
        and existing.name == name
        and (record := records.get(existing.file)) is not None
        and record.sha256 == sha
        and model_path(project_dir, existing).is_file()
    ]

    tmp = folder / f".import-{os.getpid()}-{sha[:12]}{src.suffix}"
    try:
        try:
            shutil.copyfile(src, tmp)
        except OSError as exc:
            raise ModelError(
                f"cannot copy {src.name} into {folder}: {exc.strerror or exc}"
            ) from exc
        if file_sha256(tmp) != sha:
            raise ModelError(f"{src.name} changed while it was being copied; try again")
        described = _inspect(kind, tmp, src.name) if inspect else {}
        if derive is not None:
            metadata = {**(metadata or {}), **derive(dict(described))}
        wanted = _comparable(_fields(described, metadata))
        for existing in reversed(same_bytes):  # newest version first
            if _comparable(_fields_of(existing)) == wanted:
                return existing
        info = _claim_version(
            project_dir, name, kind, src, sha, described, metadata, status, source, set(records)
        )
        try:
            os.replace(tmp, folder / info.file)
        except OSError as exc:  # give the claimed version back: no entry without its file
            with contextlib.suppress(OSError):
                _meta_path(project_dir, info.file).unlink()
            raise ModelError(f"cannot store {src.name} in {folder}: {exc.strerror or exc}") from exc
        if confirm:
            try:
                trust.record(project_dir, info.file, sha, kind, origin)
            except ClinLensError:  # no record, no entry: nothing half-registered stays
                for leftover in (folder / info.file, _meta_path(project_dir, info.file)):
                    with contextlib.suppress(OSError):
                        leftover.unlink()
                raise
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return info


def confirm_import(project_dir: str | Path, info: ModelInfo) -> ModelInfo:
    """Record the hash of an entry stored with ``import_model(..., confirm=False)``.

    For the process that writes the project, after the read-only detector process imported
    a file for it: the file must still be the one described, and pass its kind's static
    check again here (no code from it runs), before its hash is trusted.
    """
    stored = _read_meta(_meta_path(project_dir, info.file))
    if stored is None or stored.sha256 != info.sha256 or stored.kind != info.kind:
        raise ModelError(f"models/{info.file} is not the model that was imported; import it again")
    path = model_path(project_dir, info)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(
            f"cannot read model file models/{info.file}: {exc.strerror or exc}"
        ) from exc
    if sha256_bytes(data) != info.sha256:
        raise ModelError(
            f"model file models/{info.file} changed after it was imported; import it again"
        )
    check = safety_check_for(info.kind)
    if check is not None:
        check(data, f"models/{info.file}")
    trust.record(project_dir, info.file, info.sha256, info.kind, "imported")
    return stored


def _adopt_if_pending(project_dir: str | Path) -> None:
    """The one-time adoption of an upgraded project's models (see the module docstring).

    Runs only where this process has the project open for writing, so listing models of a
    folder costs nothing more anywhere else.
    """
    repo = open_repository(project_dir, writable=True)
    if repo is None or not repo.adoption_pending():
        return
    known = repo.records()
    adopted: list[tuple[str, str, str, str]] = []
    for info in _entries(project_dir):
        if info.file in known:
            continue
        origin = _adoptable(project_dir, info)
        if origin is not None:
            adopted.append((info.file, info.sha256, info.kind, origin))
    with contextlib.suppress(ClinLensError):  # a full disk: adoption is tried next time
        repo.finish_adoption(adopted)


def _adoptable(project_dir: str | Path, info: ModelInfo) -> str | None:
    """``adopted`` / ``legacy`` if the old entry's file may be trusted, else None."""
    try:
        data = model_path(project_dir, info).read_bytes()
    except OSError:
        return None
    if sha256_bytes(data) != info.sha256:
        return None
    if info.kind == "severity" and info.file.lower().endswith(".joblib"):
        return "legacy"  # only ever read by 'severity convert --trust'
    try:
        check = get_kind(info.kind).check
        if check is None:
            return None  # nothing can vouch for a file of this kind
        check(data, f"models/{info.file}")
    except ClinLensError:
        return None
    return "adopted"


def _inspect(kind: str, path: Path, display_name: str) -> dict[str, Any]:
    check = safety_check_for(kind)
    if check is not None:  # before anything parses the file for real
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelError(f"cannot read {display_name}: {exc.strerror or exc}") from exc
        check(data, display_name)
    inspector = inspector_for(kind)
    if inspector is None:
        return {}
    try:
        return dict(inspector(path))
    except ModelError as exc:
        raise ModelError(str(exc).replace(path.name, display_name)) from exc
    except Exception as exc:  # an inspector must never let a traceback reach the user
        raise ModelError(
            f"{display_name} is not a usable {kind} model ({exc.__class__.__name__})"
        ) from exc


_FIELDS = ("classes", "imgsz", "tiling", "filter_settings", "training", "metrics", "extra")


def _claim_version(
    project_dir: str | Path,
    name: str,
    kind: str,
    src: Path,
    sha: str,
    described: dict[str, Any],
    metadata: dict[str, Any] | None,
    status: str,
    source: str | None,
    trusted_files: set[str],
) -> ModelInfo:
    fields = _fields(described, metadata)
    base = re.sub(r"\s+", "_", name)
    for _ in range(1000):
        taken = [m.version for m in _entries(project_dir) if m.name == name]
        version = max(taken, default=0) + 1
        # A file name the database trusts keeps its hash for good: never reuse one, even
        # when its JSON and file were removed by hand.
        while f"{base}-v{version}{src.suffix.lower()}" in trusted_files:
            version += 1
        info = ModelInfo(
            name=name,
            version=version,
            kind=kind,
            file=f"{base}-v{version}{src.suffix.lower()}",
            sha256=sha,
            size=src.stat().st_size,
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            source=source if source is not None else src.name,
            status=status,
            **fields,
        )
        try:
            _write_json_atomic(_meta_path(project_dir, info.file), _meta_dict(info), exclusive=True)
        except FileExistsError:
            continue
        return info
    raise ModelError(f"cannot find a free version number for model '{name}'")


def _fields(described: dict[str, Any], metadata: dict[str, Any] | None) -> dict[str, Any]:
    """The ``_FIELDS`` of a new entry: what the inspector read, overridden by ``metadata``."""
    merged = {**described, **(metadata or {})}
    unknown = set(merged) - set(_FIELDS)
    extra = dict(merged.get("extra") or {})
    for key in unknown:  # keep what callers add; it is still metadata
        extra[key] = merged[key]
    return {
        "classes": tuple(str(c) for c in merged.get("classes") or ()),
        "imgsz": int(merged["imgsz"]) if merged.get("imgsz") else None,
        "tiling": merged.get("tiling"),
        "filter_settings": merged.get("filter_settings"),
        "training": merged.get("training"),
        "metrics": merged.get("metrics"),
        "extra": extra,
    }


def _fields_of(info: ModelInfo) -> dict[str, Any]:
    return {key: getattr(info, key) for key in _FIELDS}


def _comparable(fields: dict[str, Any]) -> str:
    """Fields as the JSON stores them, so a new entry compares equal to one read back."""
    return json.dumps(fields, sort_keys=True, default=str)


def _meta_dict(info: ModelInfo) -> dict[str, Any]:
    return {MARKER: 1, **info.to_dict()}


def update_model(project_dir: str | Path, info: ModelInfo, **changes: Any) -> ModelInfo:
    """Change metadata (metrics, status, tiling, ...); the file and its hash stay as they are."""
    forbidden = {"name", "version", "kind", "file", "sha256", "size"} & set(changes)
    if forbidden:
        raise ModelError(f"cannot change {', '.join(sorted(forbidden))} of a registered model")
    if "status" in changes and changes["status"] not in STATUSES:
        raise ModelError(f"unknown model status '{changes['status']}'")
    if "classes" in changes:
        changes["classes"] = tuple(changes["classes"])
    new = replace(info, **changes)
    _write_json_atomic(_meta_path(project_dir, info.file), _meta_dict(new))
    return new


def promote(project_dir: str | Path, info: ModelInfo) -> ModelInfo:
    """Make ``info`` the active model of its kind; other active ones become candidates."""
    for other in list_models(project_dir, info.kind):
        if other.status == "active" and other.file != info.file:
            update_model(project_dir, other, status="candidate")
    return update_model(project_dir, info, status="active")
