"""The table of model kinds: what each kind of model file is and how it is checked at import.

A kind registers itself with :func:`register_kind` in the module that knows its files:
``ml.detector.checkpoint`` (``detector``, ``.pt``) and ``ml.severity.model_io``
(``severity``, ``.npz``). The registry never imports a kind: asked for a kind whose
module has not been imported yet, it imports the module that ``KIND_MODULES`` names for it
(module names as text, so ``ml.registry`` depends on no kind). A new built-in kind adds
its line to ``KIND_MODULES`` and calls ``register_kind`` in the named module.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ModelError

# Reads a model file at import: raises (ModelError, or anything: "not usable") to refuse it,
# else returns metadata for the entry (classes, imgsz, training, metrics, extra, ...).
Inspector = Callable[[Path], dict[str, Any]]
# Checks a file's bytes without running anything from them (no unpickling, no torch):
# ModelError (one line, naming the file as the second argument) if it could run code when
# loaded. Run at import before the inspector, and wherever a hash is adopted into the trust
# table, including in the GUI's process.
SafetyCheck = Callable[[bytes, str], None]

# Built-in kinds and the module that registers each one.
KIND_MODULES: dict[str, str] = {
    "detector": "ml.detector.checkpoint",
    "severity": "ml.severity.model_io",
}
KINDS = tuple(KIND_MODULES)


@dataclass(frozen=True)
class ModelKind:
    """One kind of model the registry stores."""

    name: str
    suffixes: tuple[str, ...] = ()  # the kind's usual file suffixes, e.g. (".pt",)
    describe: Inspector | None = None  # validates a file at import and describes it
    check: SafetyCheck | None = None  # refuses a file that could run code (no code run)


_REGISTERED: dict[str, ModelKind] = {}
_INSPECTOR_OVERRIDES: dict[str, Inspector] = {}


def register_kind(kind: ModelKind) -> None:
    """Add (or replace) a kind in the table; called by the kind's own module on import."""
    _REGISTERED[kind.name] = kind


def known_kinds() -> tuple[str, ...]:
    """Kinds ``import_model`` accepts: the built-in ones, then any others registered."""
    return (*KINDS, *sorted(set(_REGISTERED) - set(KINDS)))


def check_kind(name: str) -> str:
    """``name`` if it is a known kind, else ModelError listing them (imports nothing)."""
    if name not in known_kinds():
        raise ModelError(f"unknown model kind '{name}': use one of {', '.join(known_kinds())}")
    return name


def get_kind(name: str) -> ModelKind:
    """The registered kind ``name``, importing its module first when it has not been."""
    check_kind(name)
    if name not in _REGISTERED:
        module = KIND_MODULES[name]
        importlib.import_module(module)
        if name not in _REGISTERED:
            raise ModelError(f"model kind '{name}' is not registered by {module}")
    return _REGISTERED[name]


def set_inspector(kind: str, inspector: Inspector | None) -> None:
    """Check and describe files of ``kind`` at import with ``inspector`` instead of the
    kind's own; None goes back to the kind's own."""
    if inspector is None:
        _INSPECTOR_OVERRIDES.pop(kind, None)
    else:
        _INSPECTOR_OVERRIDES[kind] = inspector


def safety_check_for(kind: str) -> SafetyCheck | None:
    """The kind's static check of a file's bytes (None: the kind has none)."""
    return get_kind(kind).check


def inspector_for(kind: str) -> Inspector | None:
    """What checks and describes a file of ``kind`` at import (None: nothing to check)."""
    if kind in _INSPECTOR_OVERRIDES:
        return _INSPECTOR_OVERRIDES[kind]
    return get_kind(kind).describe
