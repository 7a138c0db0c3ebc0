"""Last-resort error handling: log the traceback, show the user one short sentence.

Installed as ``sys.excepthook`` (and for threads) by the launcher, so an unexpected bug in a
slot never shows a traceback dialog and never kills the window mid-edit: every edit is
already in the store when its call returns, so carrying on is safe.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import traceback
from collections.abc import Callable
from types import TracebackType

from core.errors import ClinLensError
from core.paths import log_dir

log = logging.getLogger("clinlens.gui")

_notify: Callable[[str], None] | None = None


def configure_logging() -> None:
    root = logging.getLogger("clinlens")
    if any(getattr(h, "_clinlens", False) for h in root.handlers):
        return
    try:
        handler: logging.Handler = logging.FileHandler(
            log_dir() / "clinlens-gui.log", encoding="utf-8"
        )
    except OSError:
        handler = logging.StreamHandler()
    handler._clinlens = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def user_message(exc: BaseException) -> str:
    """The one line a user sees for an exception."""
    if isinstance(exc, ClinLensError):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    detail = f": {text}" if text and len(text) < 160 else ""
    return (
        f"Something went wrong ({exc.__class__.__name__}{detail}). Your saved work is safe; "
        f"details are in {log_dir() / 'clinlens-gui.log'}."
    )


def _hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    log.error("unhandled exception:\n%s", "".join(traceback.format_exception(exc_type, exc, tb)))
    if _notify is not None:
        # The notifier itself must never raise from the hook.
        with contextlib.suppress(Exception):
            _notify(user_message(exc))


def _thread_hook(args: threading.ExceptHookArgs) -> None:
    _hook(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback)


def install_excepthook(notify: Callable[[str], None] | None) -> None:
    """Route uncaught exceptions to the log and ``notify`` (e.g. a status-bar message)."""
    global _notify
    _notify = notify
    configure_logging()
    sys.excepthook = _hook
    threading.excepthook = _thread_hook
