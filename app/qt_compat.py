"""Work around a reference-counting bug in PySide6 6.12.0 on Python 3.11.

``SignalInstance.emit()`` returns ``True`` without taking a reference to it, so every
emit from Python drops one reference of ``True``. On Python 3.11 (where ``True`` is not yet
immortal) a GUI that emits a few thousand signals then dies with
"Fatal Python error: bool_dealloc". We measure the leak once at start-up and, only when it
is there, give ``True`` a huge reference count - what Python 3.12 does for every singleton.
On a fixed PySide6 or on Python >= 3.12 nothing is changed.
"""

from __future__ import annotations

import ctypes
import sys

_PROBE_EMITS = 8
_HEADROOM = 1 << 40  # ~10^12 emits before the bump runs out
_applied = False


def pyside_emit_leaks_true() -> bool:
    """True when a Python ``emit()`` drops a reference of ``True`` (the 6.12.0 bug)."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(_PROBE_EMITS):
        probe.ping.emit()
    return sys.getrefcount(True) <= before - _PROBE_EMITS


def apply_pyside_workarounds() -> bool:
    """Apply the fix once per process; return True when it was needed."""
    global _applied
    if _applied:
        return True
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False
    if not pyside_emit_leaks_true():
        return False
    refcnt = ctypes.c_ssize_t.from_address(id(True))
    refcnt.value += _HEADROOM
    _applied = True
    return True
