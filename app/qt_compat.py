"""Work around reference-counting bugs of PySide6 6.12.0 on Python 3.11.

Measured on this build:
- ``SignalInstance.emit()`` returns ``True`` without taking a reference to it;
- every *void* Qt method called from Python (``QTimer.stop()``, ``setObjectName()``,
  ``setParent()``, ...) returns ``None`` without taking a reference to it.
Each call therefore drops one reference of ``True`` or ``None``. On Python 3.11 (where these
singletons are not yet immortal) a GUI dies after a few thousand calls with
"Fatal Python error: none_dealloc" / "bool_dealloc". We measure both leaks once at start-up
and, only when one is there, give ``None``, ``True`` and ``False`` a huge reference count:
what Python 3.12 does for every singleton. On a fixed PySide6 or Python >= 3.12 nothing is
changed.
"""

from __future__ import annotations

import ctypes
import sys

_PROBE_CALLS = 16
_HEADROOM = 1 << 40  # ~10^12 leaked references before the bump runs out
_applied = False


def pyside_emit_leaks_true() -> bool:
    """True when a Python ``emit()`` drops a reference of ``True``."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(_PROBE_CALLS):
        probe.ping.emit()
    return sys.getrefcount(True) <= before - _PROBE_CALLS


def pyside_void_call_leaks_none() -> bool:
    """True when calling a void Qt method drops a reference of ``None``."""
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(_PROBE_CALLS):
        probe.setObjectName("probe")
    return sys.getrefcount(None) <= before - _PROBE_CALLS


def apply_pyside_workarounds() -> bool:
    """Apply the fix once per process; return True when it was needed."""
    global _applied
    if _applied:
        return True
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False
    if not (pyside_emit_leaks_true() or pyside_void_call_leaks_none()):
        return False
    for singleton in (None, True, False):
        ctypes.c_ssize_t.from_address(id(singleton)).value += _HEADROOM
    _applied = True
    return True
