"""Keep pydicom from echoing tag values (possibly patient names) into warnings and logs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from pydicom import config

_lock = threading.Lock()
_depth = 0
_saved: int | None = None


@contextmanager
def quiet_pydicom() -> Iterator[None]:
    """Disable pydicom's value validation while reading (it warns with the bad value).

    pydicom's own ``disable_value_validation`` is not re-entrant across threads (the last
    one out can restore the wrong mode); this counts readers so the GUI's loader threads
    and a CLI read can overlap safely.
    """
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = config.settings.reading_validation_mode
            config.settings.reading_validation_mode = config.IGNORE
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                config.settings.reading_validation_mode = _saved
