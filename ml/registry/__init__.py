"""The model registry: storage (``storage``) plus a table of model kinds (``kinds``).

A model file can run code when it is loaded, so ClinLens loads only files registered here,
and only while their SHA-256 still matches the one the project database recorded at
registration (``trust``; the JSON beside a file is never trusted alone). A file dropped
into ``models/`` by hand is ignored (and listed as unregistered); a registered file that
changed is refused with a clear message.

- ``storage``: the project's ``models/`` folder, one metadata JSON per model file, the
  hash check behind every load; ``ModelInfo``, ``import_model``, ``confirm_import``,
  ``list_models``, ``find_model``, ``read_verified`` / ``verified_file``, ``trust_state``,
  ``update_model``, ``promote``.
- ``trust``: the recorded hashes, read and written through the project open in this
  process (or one opened for the call).
- ``kinds``: ``ModelKind`` (name, file suffixes, the ``check`` of a file's bytes that runs
  nothing from them, the ``describe`` inspector run at import) and ``register_kind``; each
  kind registers itself (``ml.detector.checkpoint``, ``ml.severity.model_io``), and the
  registry imports a kind's module only by name, when the kind is first needed. So the
  registry never imports a kind and no kind's import circles back to it.

Use it as ``from ml import registry`` and ``registry.<name>``; everything is here.
"""

from ml.registry.kinds import (
    KIND_MODULES,
    KINDS,
    Inspector,
    ModelKind,
    SafetyCheck,
    check_kind,
    get_kind,
    inspector_for,
    known_kinds,
    register_kind,
    safety_check_for,
    set_inspector,
)
from ml.registry.storage import (
    MARKER,
    META_SUFFIX,
    MODELS_DIR,
    STATUSES,
    ModelInfo,
    NoModelError,
    check_name,
    confirm_import,
    file_sha256,
    find_model,
    import_model,
    list_models,
    model_path,
    models_dir,
    promote,
    read_verified,
    trust_state,
    unregistered_files,
    update_model,
    verified_file,
    verified_path,
)
from ml.registry.versions import active_model, promote_version, register_trained, rollback

__all__ = [
    "KINDS",
    "KIND_MODULES",
    "MARKER",
    "META_SUFFIX",
    "MODELS_DIR",
    "STATUSES",
    "Inspector",
    "ModelInfo",
    "ModelKind",
    "NoModelError",
    "SafetyCheck",
    "active_model",
    "check_kind",
    "check_name",
    "confirm_import",
    "file_sha256",
    "find_model",
    "get_kind",
    "import_model",
    "inspector_for",
    "known_kinds",
    "list_models",
    "model_path",
    "models_dir",
    "promote",
    "promote_version",
    "read_verified",
    "register_kind",
    "register_trained",
    "rollback",
    "safety_check_for",
    "set_inspector",
    "trust_state",
    "unregistered_files",
    "update_model",
    "verified_file",
    "verified_path",
]
