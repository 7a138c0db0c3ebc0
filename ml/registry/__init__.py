"""The model registry: storage (``storage``) plus a table of model kinds (``kinds``).

A ``.pt`` file can run code when it is loaded, so ClinLens loads only files registered
here, and only while their SHA-256 still matches the one recorded at import. A file dropped
into ``models/`` by hand is ignored (and listed as unregistered); a registered file that
changed is refused with a clear message.

- ``storage``: the project's ``models/`` folder, one metadata JSON per model file, the
  hash check behind every load; ``ModelInfo``, ``import_model``, ``list_models``,
  ``find_model``, ``read_verified`` / ``verified_file``, ``update_model``, ``promote``.
- ``kinds``: ``ModelKind`` (name, file suffixes, the ``describe`` check run at import) and
  ``register_kind``; each kind registers itself (``ml.detector.checkpoint``,
  ``ml.severity.model_io``), and the registry imports a kind's module only by name, when
  the kind is first needed. So the registry never imports a kind and no kind's import
  circles back to it.

Use it as ``from ml import registry`` and ``registry.<name>``; everything is here.
"""

from ml.registry.kinds import (
    KIND_MODULES,
    KINDS,
    Inspector,
    ModelKind,
    check_kind,
    get_kind,
    inspector_for,
    known_kinds,
    register_kind,
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
    file_sha256,
    find_model,
    import_model,
    list_models,
    model_path,
    models_dir,
    promote,
    read_verified,
    unregistered_files,
    update_model,
    verified_file,
    verified_path,
)

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
    "check_kind",
    "check_name",
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
    "read_verified",
    "register_kind",
    "set_inspector",
    "unregistered_files",
    "update_model",
    "verified_file",
    "verified_path",
]
