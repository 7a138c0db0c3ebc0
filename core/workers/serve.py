"""The child side of :mod:`core.workers.process`: read requests, run handlers, answer in JSON.

``serve(handlers)`` takes over the process's stdin and stdout. Requests run one at a time
on the calling thread; a reader thread takes ``cancel`` at any moment and sets that
request's token, and stdin closing cancels everything and ends the loop - so a child whose
parent died stops after the image it is on.

stdout is the protocol channel only: file descriptor 1 (and ``sys.stdout``) are pointed at
stderr before any handler runs, so a library that prints (ultralytics does) cannot break
a line the parent is reading.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from typing import IO, Any

from core.errors import ClinLensError, JobCancelled
from core.jobs import CancelToken

log = logging.getLogger("clinlens.worker")


class Emitter:
    """Writes events for one request; thread-safe."""

    def __init__(self, stream: IO[str], req: int | None, lock: threading.Lock) -> None:
        self._stream = stream
        self._req = req
        self._lock = lock

    def __call__(self, event: str, **fields: Any) -> None:
        line = json.dumps({"event": event, "req": self._req, **fields}, default=str)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()

    def progress(self, done: float = 0, total: float | None = None, message: str = "") -> None:
        self("progress", done=done, total=total, message=message)


# handler(request, emit, cancel) -> the ``done`` event's fields
Handler = Callable[[dict[str, Any], Emitter, CancelToken], Mapping[str, Any] | None]


def protocol_streams() -> tuple[IO[str], IO[str]]:
    """(requests, replies): stdin, and a private copy of stdout; fd 1 then goes to stderr."""
    replies_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    replies = os.fdopen(replies_fd, "w", encoding="utf-8", newline="\n", buffering=1)
    # fd 0, not sys.stdin: a windowed (frozen) child may have no sys.stdin object.
    requests = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    return requests, replies


def serve(
    handlers: Mapping[str, Handler],
    requests: IO[str],
    replies: IO[str],
    *,
    hello: Mapping[str, Any] | None = None,
) -> int:
    """Answer requests until ``quit`` or end of input; returns the exit code (0)."""
    lock = threading.Lock()
    Emitter(replies, None, lock)("hello", pid=os.getpid(), **(hello or {}))
    inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
    tokens: dict[Any, threading.Event] = {}
    tokens_lock = threading.Lock()

    def token(req: Any) -> threading.Event:
        with tokens_lock:
            return tokens.setdefault(req, threading.Event())

    def read() -> None:
        try:
            for line in requests:
                try:
                    message = json.loads(line)
                except json.JSONDecodeError:
                    log.warning("ignored a request that is not JSON")
                    continue
                if not isinstance(message, dict):
                    continue
                if message.get("op") == "cancel":
                    token(message.get("req")).set()
                    continue
                inbox.put(message)
                if message.get("op") == "quit":
                    break
        except (OSError, ValueError):
            pass
        with tokens_lock:  # the parent is gone or done: stop whatever runs
            for event in tokens.values():
                event.set()
        inbox.put(None)

    threading.Thread(target=read, daemon=True, name="requests").start()
    while True:
        message = inbox.get()
        if message is None or message.get("op") == "quit":
            return 0
        req = message.get("req")
        emit = Emitter(replies, req, lock)
        handler = handlers.get(str(message.get("op")))
        if handler is None:
            emit("failed", error=f"unknown request {message.get('op')!r}")
            continue
        cancel = token(req)
        try:
            result = handler(message, emit, cancel)
        except JobCancelled:
            emit("cancelled")
        except ClinLensError as exc:
            emit("failed", error=str(exc) or exc.__class__.__name__)
        except Exception as exc:  # the child answers every request, whatever happens
            traceback.print_exc(file=sys.stderr)
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            emit(
                "failed",
                error=f"unexpected {exc.__class__.__name__}" + (f": {text}" if text else ""),
            )
        else:
            if cancel.is_set():
                emit("cancelled")
            else:
                emit("done", **dict(result or {}))
        finally:
            with tokens_lock:
                tokens.pop(req, None)


def fatal(replies: IO[str], error: str) -> int:
    """Say why this child cannot serve at all; returns the exit code."""
    Emitter(replies, None, threading.Lock())("fatal", error=error)
    return 2
