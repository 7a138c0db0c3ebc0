"""What a long-running job receives: a cancel token and a progress callback.

Import, export, suggestion, training and grading functions in ``core`` and ``ml`` all take
these, so the GUI's job runner can run any of them on a worker thread and the CLI can run
them directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from core.errors import JobCancelled


class CancelToken(Protocol):
    """Anything with ``is_set()`` (a ``threading.Event`` does): set it to stop a job."""

    def is_set(self) -> bool: ...


# progress(done, total, what): called from the job's thread; the GUI marshals it.
ProgressFn = Callable[[int, int, str], None]


def check_cancel(cancel: CancelToken | None, message: str = "cancelled by the user") -> None:
    """Raise ``JobCancelled(message)`` once ``cancel`` is set; a job calls it between steps."""
    if cancel is not None and cancel.is_set():
        raise JobCancelled(message)
