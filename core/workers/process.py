"""A long-lived ClinLens child process spoken to in JSON lines (e.g. the detector worker).

Why a process: torch's first import holds Python's interpreter lock for tens of
milliseconds at a time, in whichever thread imports it. In a worker *thread* of the GUI
that froze the window; in a child process it cannot. A child that crashes (a bad model
file, a driver fault) cannot take the window or the annotations with it either.

The protocol, one JSON object per line:

- to the child: ``{"op": NAME, "req": N, ...}``, plus ``{"op": "cancel", "req": N}`` and
  ``{"op": "quit"}``; closing its stdin also means quit.
- from the child: events with ``"event"`` and the ``"req"`` they answer. Each request ends
  with exactly one of ``done``, ``failed`` (``"error"``: one readable line) or
  ``cancelled``; before that it may send ``progress`` (``done``, ``total``, ``message``) and
  any other event, which goes to the caller's ``on_event``. A ``fatal`` event (no request)
  says why the child cannot serve at all, just before it exits.

:class:`WorkerProcess` is thread-safe (one request at a time), needs no Qt, and is meant
to be driven from a job runner thread: a request blocks its caller, polls the cancel token
every 50 ms, and when cancelled asks the child to stop, then terminates and finally kills
it if it does not answer in time. The next request starts a fresh child.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from core.errors import ClinLensError, JobCancelled
from core.jobs import CancelToken

log = logging.getLogger("clinlens.worker")

PROTOCOL = 1
_POLL_S = 0.05
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding core/ (and ml/)
LOW_PRIORITY_NICE = 10  # POSIX niceness of workers: the GUI gets ~9x the CPU share
_EXIT = object()  # the child's stdout closed

EventFn = Callable[[dict[str, Any]], None]
ProgressCallback = Callable[..., None]


class WorkerError(ClinLensError):
    """The worker refused a request, or stopped without answering it."""


def clinlens_argv(*args: str) -> list[str]:
    """The command line that runs ``main.py ARGS`` in a new process.

    A frozen (PyInstaller) build is its own interpreter and entry point; otherwise the
    same Python runs the CLI package, wherever ClinLens is installed.
    """
    if getattr(sys, "frozen", False):
        return [sys.executable, *args]
    return [sys.executable, "-m", "core.cli", *args]


class WorkerProcess:
    """One child process answering requests; started on the first request."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        name: str = "worker",
        env: Mapping[str, str] | None = None,
        cancel_grace_s: float = 30.0,
        low_priority: bool = True,
    ) -> None:
        self.argv = list(argv)
        self.name = name
        self.env = dict(os.environ if env is None else env)
        self.env.setdefault("PYTHONIOENCODING", "utf-8")  # its stderr, read here as UTF-8
        if not getattr(sys, "frozen", False):  # `-m core.cli` must find ClinLens from any cwd
            path = self.env.get("PYTHONPATH")
            self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PACKAGE_ROOT), path]))
        # Long enough for a first model load (torch's import alone takes seconds on a
        # clinic PC), which cannot be interrupted and is worth keeping: killing the child
        # then would only make the next request pay for it again.
        self.cancel_grace_s = cancel_grace_s
        self.low_priority = low_priority
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        self._events: queue.Queue[Any] = queue.Queue()
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=20)
        self._fatal: str | None = None
        self._stderr_thread: threading.Thread | None = None
        self._closed = False
        self._ids = itertools.count(1)
        self.starts = 0  # how many children were started (a test and the log read it)

    # --- lifetime -------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def _ensure_started(self) -> subprocess.Popen[str]:
        if self._closed:  # e.g. a job queued before its project was closed
            raise JobCancelled(f"the {self.name} process was closed")
        proc = self._proc
        if proc is not None and proc.poll() is None:
            return proc
        self._events = queue.Queue()
        self._stderr_tail.clear()
        self._fatal = None
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)  # no console window on Windows
        if self.low_priority:
            flags |= getattr(subprocess, "BELOW_NORMAL_PRIORITY_CLASS", 0)
        try:
            proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
                bufsize=1,
                env=self.env,
                creationflags=flags,
            )
        except OSError as exc:
            raise WorkerError(
                f"cannot start the {self.name} process: {exc.strerror or exc}"
            ) from exc
        self.starts += 1
        self._proc = proc
        if self.low_priority:
            _lower_priority(proc.pid)
        events = self._events
        threading.Thread(target=self._read_events, args=(proc.stdout, events), daemon=True).start()
        self._stderr_thread = threading.Thread(
            target=self._read_stderr, args=(proc.stderr,), daemon=True
        )
        self._stderr_thread.start()
        log.info("%s process started (pid %d)", self.name, proc.pid)
        return proc

    def close(self, timeout_s: float = 10.0) -> None:
        """Ask the child to quit; without blocking, kill it if it has not after ``timeout_s``.

        Ten seconds: a detector child tears torch down in well under a second on an idle
        PC, but 3 s was seen to run out on a loaded 2-core machine, and a kill there loses
        nothing yet reads like a crash in the child's exit status.

        For good: a request in flight ends as cancelled, and later ones are refused
        (JobCancelled), so a job queued for a closed project cannot start a new child.
        """
        self._closed = True
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            self._write(proc, {"op": "quit"})
            assert proc.stdin is not None
            proc.stdin.close()
        except (OSError, ValueError):
            pass
        threading.Thread(target=_reap, args=(proc, timeout_s, self.name), daemon=True).start()

    def _stop(self, proc: subprocess.Popen[str]) -> None:
        """Terminate, then kill: the child did not answer a cancel in time."""
        if self._proc is proc:
            self._proc = None
        _reap(proc, 1.0, self.name, terminate_first=True)

    # --- requests -------------------------------------------------------------------------
    def request(
        self,
        op: str,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        on_event: EventFn | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Send one request and wait for its ``done`` event, which is returned.

        Raises JobCancelled once the child confirms a cancel (or had to be stopped), and
        WorkerError with the child's one-line message when it fails or dies.
        """
        with self._lock:
            proc = self._ensure_started()
            req = next(self._ids)
            self._write(proc, {"op": op, "req": req, **fields})
            cancel_sent: float | None = None
            while True:
                if cancel is not None and cancel_sent is None and cancel.is_set():
                    cancel_sent = time.monotonic()
                    self._write(proc, {"op": "cancel", "req": req}, quiet=True)
                if cancel_sent is not None and time.monotonic() - cancel_sent > self.cancel_grace_s:
                    log.warning("%s process did not stop when asked: stopping it", self.name)
                    self._stop(proc)
                    raise JobCancelled("cancelled")
                try:
                    event = self._events.get(timeout=_POLL_S)
                except queue.Empty:
                    continue
                if event is _EXIT:
                    try:
                        code = proc.wait(5)
                    except subprocess.TimeoutExpired:  # its output closed, yet it lingers
                        _reap(proc, 1.0, self.name, terminate_first=True)
                        code = proc.returncode if proc.returncode is not None else -9
                    if self._proc is proc:
                        self._proc = None
                    if cancel_sent is not None or self._closed:
                        raise JobCancelled("cancelled")
                    raise WorkerError(self._death_message(code))
                if event.get("req") != req:
                    continue  # a late answer to an earlier, abandoned request
                kind = event.get("event")
                if kind == "done":
                    return event
                if kind == "failed":
                    raise WorkerError(str(event.get("error") or f"the {self.name} failed"))
                if kind == "cancelled":
                    raise JobCancelled("cancelled")
                if kind == "progress":
                    if progress is not None:
                        progress(event.get("done", 0), event.get("total"), event.get("message", ""))
                elif on_event is not None:
                    try:
                        on_event(event)
                    except BaseException:  # the caller gave up: the child may stop too
                        self._write(proc, {"op": "cancel", "req": req}, quiet=True)
                        raise

    # --- plumbing -------------------------------------------------------------------------
    def _write(
        self, proc: subprocess.Popen[str], message: dict[str, Any], quiet: bool = False
    ) -> None:
        try:
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(message) + "\n")
            proc.stdin.flush()
        except (OSError, ValueError) as exc:  # the child is gone; its exit event follows
            if not quiet:
                log.info("%s process: cannot send %s: %s", self.name, message.get("op"), exc)

    def _read_events(self, stream: IO[str] | None, events: queue.Queue[Any]) -> None:
        try:
            for line in stream or ():
                line = line.strip()
                if not line:
                    continue
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    log.debug("%s process wrote a non-protocol line", self.name)
                    continue
                if not isinstance(event, dict):
                    continue
                if event.get("event") == "fatal":
                    self._fatal = str(event.get("error") or "")
                events.put(event)
        except (OSError, ValueError):
            pass
        finally:
            events.put(_EXIT)

    def _read_stderr(self, stream: IO[str] | None) -> None:
        # Drained always, or a chatty child would block on a full pipe. Kept for the error
        # message and the log; the worker never writes patient tags there.
        try:
            for line in stream or ():
                line = line.rstrip()
                if line:
                    self._stderr_tail.append(line)
                    log.debug("%s: %s", self.name, line)
        except (OSError, ValueError):
            pass

    def _death_message(self, code: int) -> str:
        if self._fatal:
            return self._fatal
        if self._stderr_thread is not None:  # it ends with the child: take its last lines
            self._stderr_thread.join(timeout=2.0)
        last = next((line for line in reversed(self._stderr_tail) if line.strip()), "")
        how = f"exit code {code}" if code >= 0 else f"signal {-code}"
        detail = f": {last}" if last else ""
        return f"the {self.name} process stopped unexpectedly ({how}){detail}"


def _lower_priority(pid: int) -> None:
    """Let the window win the CPU over the child (POSIX; Windows uses a creation flag).

    On a 2-core PC the child's torch import and inference otherwise compete with the GUI
    thread as equals, and the window stutters while the model loads.
    """
    setpriority = getattr(os, "setpriority", None)
    if setpriority is None:
        return
    try:
        setpriority(os.PRIO_PROCESS, pid, LOW_PRIORITY_NICE)
    except OSError as exc:  # not allowed here: the child simply runs at normal priority
        log.debug("cannot lower the priority of pid %d: %s", pid, exc)


def _reap(
    proc: subprocess.Popen[str], timeout_s: float, name: str, terminate_first: bool = False
) -> None:
    """Wait for the child (unless ``terminate_first``), then terminate it, then kill it."""
    for step in (proc.terminate,) if terminate_first else (None, proc.terminate):
        if step is not None:
            step()
        try:
            proc.wait(timeout_s)
            return
        except subprocess.TimeoutExpired:
            pass
    log.warning("%s process (pid %d) killed", name, proc.pid)
    proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)
