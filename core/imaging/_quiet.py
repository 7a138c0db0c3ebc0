"""Keep the readers' libraries quiet: nothing of theirs reaches stderr raw.

pydicom echoes tag values (possibly patient names) into warnings and logs. tifffile logs
"invalid offset" lines, Pillow warns (DecompressionBombWarning, corrupt EXIF), numpy warns
on overflow, OpenCV logs "[ WARN:0@...]" lines: all printed raw on stderr, breaking the
CLI's one-line error contract and showing users library internals. Every file ClinLens
reads is untrusted, so these are expected, and the reader's typed error (or its success)
already says what matters; ``quiet_reading`` drops them (kept at DEBUG in our log).
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import cv2

from core.text import shorten

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
    from pydicom import config  # only DICOM reads come here: pydicom is loaded by then

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


# --- Python warnings, tifffile's log, OpenCV's log ---------------------------------------
# Per thread, not process-wide: warnings.catch_warnings swaps module globals, so two
# loader threads entering and leaving out of order would leave the wrong hook installed,
# and it would also hide the GUI thread's own warnings. Here the hooks are installed while
# any thread reads and drop only what comes from a reading thread.
_log = logging.getLogger("clinlens.imaging")
_read_lock = threading.Lock()
_reading: dict[int, int] = {}  # thread ident -> nesting depth
_saved_showwarning: Any = None
_stock_showwarning = warnings.showwarning
_saved_cv2_level: int | None = None


def _drop_or_show(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    if threading.get_ident() in _reading:
        # The category and text only: the filename is a library path, not the user's file.
        _log.debug("reader warning dropped: %s: %s", category.__name__, shorten(message, 200))
        return
    # The hook in place before the first read; the stock one if a caller's
    # catch_warnings left this hook installed after the last read ended.
    show = _saved_showwarning if _saved_showwarning is not None else _stock_showwarning
    show(message, category, filename, lineno, file, line)


class _DropReaderRecords(logging.Filter):
    """On the readers' loggers: drop records logged by a thread that is reading."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread not in _reading


# Both log through exactly these names (a filter on a logger does not see its children).
_LIBRARY_LOGGERS = (logging.getLogger("tifffile"), logging.getLogger("pydicom"))
_FILTER = _DropReaderRecords()


@contextmanager
def quiet_reading() -> Iterator[None]:
    """Drop the warnings and library log lines raised by this thread while it reads.

    Re-entrant and thread-safe. OpenCV's log level is process-wide: it is silenced while
    any thread reads (OpenCV logs nothing a user acts on elsewhere in ClinLens).
    """
    global _saved_showwarning, _saved_cv2_level
    ident = threading.get_ident()
    with _read_lock:
        if not _reading:
            # Already ours if a catch_warnings restored it after an earlier read: saving it
            # again would make it call itself.
            if warnings.showwarning is not _drop_or_show:
                _saved_showwarning = warnings.showwarning
                warnings.showwarning = _drop_or_show
            for logger in _LIBRARY_LOGGERS:
                logger.addFilter(_FILTER)
            _saved_cv2_level = cv2.utils.logging.getLogLevel()
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
        _reading[ident] = _reading.get(ident, 0) + 1
    try:
        yield
    finally:
        with _read_lock:
            _reading[ident] -= 1
            if not _reading[ident]:
                del _reading[ident]
            if not _reading:
                # Someone (pytest's recwarn, a caller's catch_warnings) may have swapped
                # the hook meanwhile: restore the saved one only where ours is installed.
                if warnings.showwarning is _drop_or_show:
                    warnings.showwarning = _saved_showwarning
                for logger in _LIBRARY_LOGGERS:
                    logger.removeFilter(_FILTER)
                if _saved_cv2_level is not None:
                    cv2.utils.logging.setLogLevel(_saved_cv2_level)
