"""Import torch and ultralytics on a worker thread without freezing the window.

The detector no longer needs this: it runs in its own process (see
``app.controllers.suggestion_backends``), which is the only way to keep the first batch's
stall under 50 ms (this module got it to 56-89 ms). It stays for torch work that still
runs in a GUI-process thread - the benchmark's baseline of the previous design, and any
job that must import torch in-process.

Why: a job that imports torch in a worker thread (the first suggestion of a session did). Python holds the interpreter
lock (GIL) while it ``dlopen``s an extension module, and torch's libraries (~1 GB) take
~250 ms to map and initialise: the GUI thread, waiting for the lock, froze for that long
(measured with the benchmark's 5 ms timer probe). Then the cyclic garbage collector, run by
the flood of new objects, stopped every thread for another ~100 ms at a time.

How: (1) on Linux, ``dlopen`` torch's big shared libraries first through ``ctypes``, whose
foreign calls release the GIL, so their mapping and C++ static initialisation run while the
GUI keeps the lock; the import then finds them loaded. (2) The collector is paused during
the import, and everything imported is moved to the permanent generation
(``gc.freeze()``), so no later collection walks torch's million objects again.
Measured in a worker thread while the main thread ticks every 5 ms: longest stall
256-340 ms -> 31-49 ms.
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import importlib.util
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable, Sequence

log = logging.getLogger("clinlens.jobs")

# Load order: each library's dependencies first (the linker would otherwise load them
# itself, with the same result, but then the big ones would not be on this list's clock).
TORCH_LIBRARIES = (
    "libtorch_global_deps.so",
    "libc10.so",
    "libtorch_cpu.so",
    "libc10_cuda.so",
    "libtorch_cuda.so",
    "libtorch.so",
    "libshm.so",
    "libtorch_python.so",
)

_lock = threading.Lock()


def preload_shared_libraries(paths: Iterable[str]) -> list[str]:
    """``dlopen`` each existing file (RTLD_GLOBAL, as torch loads them) with the GIL
    released; return the ones loaded. Anything missing or refused is left to the import."""
    loaded: list[str] = []
    try:
        libc = ctypes.CDLL(None)
        dlopen = libc.dlopen
    except (OSError, AttributeError):
        return loaded
    dlopen.restype = ctypes.c_void_p
    dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
    flags = os.RTLD_NOW | os.RTLD_GLOBAL
    for path in paths:
        if os.sep in path and not os.path.isfile(path):
            continue
        if dlopen(os.fsencode(path), flags):  # a ctypes call: the GIL is released
            loaded.append(path)
    return loaded


def _torch_library_paths() -> list[str]:
    if not sys.platform.startswith("linux") or "torch" in sys.modules:
        return []
    try:
        spec = importlib.util.find_spec("torch")
    except (ImportError, ValueError):
        return []
    if spec is None or not spec.origin:
        return []
    lib = os.path.join(os.path.dirname(spec.origin), "lib")
    return [os.path.join(lib, name) for name in TORCH_LIBRARIES]


Step = str | Callable[[], object]


def import_quietly(steps: Sequence[Step] = ("torch",)) -> list[str]:
    """Run ``steps`` - module names to import, or callables (e.g. a setting that must be
    made before the next import) - from a worker thread, with short interpreter-lock holds.

    Thread-safe; does nothing once every named module is imported. Returns the libraries
    preloaded outside the GIL. An ImportError propagates (the caller's job reports it).
    """
    names = [s for s in steps if isinstance(s, str)]
    if names and all(m in sys.modules for m in names):
        return []
    with _lock:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            loaded = preload_shared_libraries(_torch_library_paths())
            if loaded:
                log.info("preloaded %d torch libraries outside the GIL", len(loaded))
            for step in steps:
                if isinstance(step, str):
                    importlib.import_module(step)
                else:
                    step()
        finally:
            gc.freeze()  # what is loaded now stays: later collections skip it
            if was_enabled:
                gc.enable()
    return loaded
