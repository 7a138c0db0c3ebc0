"""The one job runner of the GUI: background threads, progress, cancel, latest-request-wins.

A *job* is a plain callable from ``core`` or ``ml`` with the signature
``fn(progress, cancel) -> result`` where ``progress(done, total=None, message="")`` reports
work done and ``cancel`` is a :class:`CancelToken` (a ``threading.Event``; jobs poll
``cancel.is_set()`` or call ``cancel.raise_if_cancelled()``).

Whatever happens inside the callable, the :class:`Job` emits exactly one of ``succeeded``,
``failed`` or ``cancelled`` and then ``finished`` - all on the GUI thread. An exception never
leaves the GUI waiting. Jobs submitted on the same *channel* (e.g. ``"suggest:image"``)
replace each other: submitting cancels the previous one, and a result that arrives after it
was superseded is reported as cancelled, never as succeeded - so a slow answer for an image
the user has left is never drawn.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, QTimer, Signal, Slot

from core.errors import ClinLensError, JobCancelled

log = logging.getLogger("clinlens.jobs")

ProgressFn = Callable[..., None]
JobFn = Callable[[ProgressFn, "CancelToken"], Any]

# Lanes keep quick interactive work (image read/render) from queueing behind long batches.
LANE_INTERACTIVE = "interactive"
LANE_BACKGROUND = "background"
# Nice-to-have work (list thumbnails): its own thread at the lowest priority, so it never
# waits behind an export or a suggestion batch. (Not IdlePriority: on Linux that is
# SCHED_IDLE, and on a busy machine the list would never get its thumbnails.)
LANE_IDLE = "idle"

# Progress reports closer together than this are coalesced (a job may report per pixel row).
_PROGRESS_INTERVAL_S = 0.05


class CancelToken(threading.Event):
    """A ``threading.Event`` that jobs poll; ``set()`` means "please stop"."""

    def cancel(self) -> None:
        self.set()

    @property
    def cancelled(self) -> bool:
        return self.is_set()

    def raise_if_cancelled(self) -> None:
        if self.is_set():
            raise JobCancelled("cancelled")


class Job(QObject):
    """One submitted job. Lives on the GUI thread; its signals are delivered there."""

    progressed = Signal(float, str)  # fraction 0..1 (or -1 when unknown), message
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()

    # Internal: the worker thread reports its outcome here (queued to the GUI thread).
    _outcome = Signal(str, object)
    _progress_raw = Signal(float, str)

    STATES = ("queued", "running", "succeeded", "failed", "cancelled")

    def __init__(
        self,
        job_id: int,
        fn: JobFn,
        title: str,
        channel: str | None,
        lane: str,
        visible: bool,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.id = job_id
        self.fn = fn
        self.title = title
        self.channel = channel
        self.lane = lane
        self.visible = visible
        self.token = CancelToken()
        self.state = "queued"
        self.fraction = 0.0
        self.message = ""
        self.error: str | None = None
        self.superseded = False
        self._done_callback: Callable[[Job], None] | None = None
        self.started_at = time.perf_counter()
        self.ended_at: float | None = None
        self._outcome.connect(self._on_outcome)
        self._progress_raw.connect(self._on_progress)

    # --- public ---------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.state in ("succeeded", "failed", "cancelled")

    def cancel(self) -> None:
        """Ask the job to stop; it reports ``cancelled`` once the callable returns."""
        self.token.set()

    # --- worker side ----------------------------------------------------------------------
    def _run_in_worker(self) -> None:
        if self.token.is_set():
            self._outcome.emit("cancelled", None)
            return
        self.state = "running"
        last_emit = [0.0]

        def progress(done: float = 0.0, total: float | None = None, message: str = "") -> None:
            if total:
                fraction = float(done) / float(total)
            elif total is None and 0.0 <= float(done) <= 1.0:
                fraction = float(done)
            else:
                fraction = -1.0
            now = time.perf_counter()
            if now - last_emit[0] >= _PROGRESS_INTERVAL_S or fraction >= 1.0:
                last_emit[0] = now
                self._progress_raw.emit(fraction, str(message))

        try:
            result = self.fn(progress, self.token)
        except JobCancelled:
            self._outcome.emit("cancelled", None)
        except ClinLensError as exc:
            self._outcome.emit("failed", str(exc) or exc.__class__.__name__)
        except BaseException as exc:  # a job must never leave the GUI waiting
            log.error("job %r crashed:\n%s", self.title, traceback.format_exc())
            self._outcome.emit("failed", _short_message(exc))
        else:
            self._outcome.emit("cancelled" if self.token.is_set() else "succeeded", result)

    # --- GUI side -------------------------------------------------------------------------
    @Slot(float, str)
    def _on_progress(self, fraction: float, message: str) -> None:
        if self.done:
            return
        self.fraction = fraction
        self.message = message
        self.progressed.emit(fraction, message)

    @Slot(str, object)
    def _on_outcome(self, outcome: str, payload: object) -> None:
        if self.done:  # defensive: exactly one outcome per job
            return
        if outcome == "succeeded" and self.superseded:
            outcome = "cancelled"  # a newer request on the channel wins
        self.ended_at = time.perf_counter()
        self.state = outcome
        if outcome == "succeeded":
            self.fraction = 1.0
            self.succeeded.emit(payload)
        elif outcome == "failed":
            self.error = str(payload)
            self.failed.emit(self.error)
        else:
            self.cancelled.emit()
        self.finished.emit()
        callback, self._done_callback = self._done_callback, None
        if callback is not None:
            callback(self)


def _short_message(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = exc.__class__.__name__
    return f"Unexpected error ({name}): {text}" if text else f"Unexpected error ({name})"


class _Runnable(QRunnable):
    def __init__(self, job: Job) -> None:
        super().__init__()
        self.job = job
        self.setAutoDelete(True)

    def run(self) -> None:
        self.job._run_in_worker()


class JobRunner(QObject):
    """Owns the worker threads. ``submit`` returns a :class:`Job` to connect to."""

    job_added = Signal(object)
    job_finished = Signal(object)
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, *, background_threads: int = 1) -> None:
        super().__init__(parent)
        self._pools = {
            # Image read + render: one thread, the newest request replaces queued ones.
            LANE_INTERACTIVE: QThreadPool(self),
            # Export, import, suggestion batches, training monitors.
            LANE_BACKGROUND: QThreadPool(self),
            LANE_IDLE: QThreadPool(self),
        }
        self._pools[LANE_INTERACTIVE].setMaxThreadCount(1)
        self._pools[LANE_IDLE].setMaxThreadCount(1)
        self._pools[LANE_IDLE].setThreadPriority(QThread.Priority.LowestPriority)
        self._pools[LANE_BACKGROUND].setMaxThreadCount(max(1, background_threads))
        self._ids = itertools.count(1)
        self._by_channel: dict[str, Job] = {}
        self._active: dict[int, Job] = {}
        self.history: list[Job] = []  # finished visible jobs, newest last (for the panel)
        self.history_limit = 50
        self._held: list[tuple[str, _Runnable]] | None = None  # see hold()

    # --- start-up -------------------------------------------------------------------------
    def hold(self) -> None:
        """Queue submitted jobs without starting them until :meth:`release`.

        The launch holds the runner while it builds and shows the window: the first image's
        read and the list's thumbnails import numpy, OpenCV and Pillow (~300 ms of CPU on
        the interpreter lock), which would otherwise compete with the window's first paint
        (#17). Jobs are otherwise unchanged: they get their Job at once, can be cancelled
        or superseded while held, and start in submission order when released."""
        if self._held is None:
            self._held = []

    def release(self) -> None:
        """Start the jobs queued since :meth:`hold`; later submits start at once again."""
        held, self._held = self._held, None
        for lane, runnable in held or ():
            self._pools[lane].start(runnable)

    # --- submit / cancel ------------------------------------------------------------------
    def submit(
        self,
        fn: JobFn,
        *,
        title: str = "",
        channel: str | None = None,
        lane: str = LANE_BACKGROUND,
        visible: bool = True,
    ) -> Job:
        """Run ``fn(progress, cancel)`` in the background; newest job on a channel wins."""
        if lane not in self._pools:
            raise ValueError(f"unknown lane {lane!r}")
        job = Job(
            next(self._ids),
            fn,
            title or getattr(fn, "__name__", "job"),
            channel,
            lane,
            visible,
            self,
        )
        if channel is not None:
            previous = self._by_channel.get(channel)
            if previous is not None and not previous.done:
                previous.superseded = True
                previous.cancel()
            self._by_channel[channel] = job
        was_busy = self.busy
        self._active[job.id] = job
        job._done_callback = self._on_job_finished
        self.job_added.emit(job)
        if self._held is not None:
            self._held.append((lane, _Runnable(job)))
        else:
            self._pools[lane].start(_Runnable(job))
        if not was_busy and self.busy:
            self.busy_changed.emit(True)
        return job

    def cancel(self, job: Job) -> None:
        job.cancel()

    def cancel_channel(self, channel: str) -> None:
        job = self._by_channel.get(channel)
        if job is not None and not job.done:
            job.superseded = True
            job.cancel()

    def cancel_all(self) -> None:
        for job in list(self._active.values()):
            job.superseded = True
            job.cancel()

    def latest(self, channel: str) -> Job | None:
        return self._by_channel.get(channel)

    # --- state ----------------------------------------------------------------------------
    @property
    def active_jobs(self) -> list[Job]:
        return list(self._active.values())

    @property
    def busy(self) -> bool:
        """True while a *visible* job is queued or running (drives the status bar)."""
        return any(j.visible for j in self._active.values())

    def wait_for_done(self, timeout_ms: int = 30000) -> bool:
        """Block until the worker threads are idle (for shutdown and tests)."""
        self.release()  # held jobs would never finish otherwise
        deadline = time.perf_counter() + timeout_ms / 1000.0
        ok = True
        for pool in self._pools.values():
            remaining = max(0, int((deadline - time.perf_counter()) * 1000))
            ok = pool.waitForDone(remaining) and ok
        return ok

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel everything and wait for the threads (window close)."""
        # Queued jobs are not dropped: they start, see the token and report ``cancelled``.
        self.cancel_all()
        return self.wait_for_done(timeout_ms)

    def _on_job_finished(self, job: Job) -> None:
        self._active.pop(job.id, None)
        if job.channel is not None and self._by_channel.get(job.channel) is job:
            del self._by_channel[job.channel]
        if job.visible:
            self.history.append(job)
            for old in self.history[: -self.history_limit]:
                self._release_later(old)
            del self.history[: -self.history_limit]
        else:
            self._release_later(job)
        self.job_finished.emit(job)
        if not self.busy:
            self.busy_changed.emit(False)

    def _release_later(self, job: Job) -> None:
        # Hand the finished job to Python's refcounting once its signals are done, so the
        # thousands of image loads of a session do not pile up as children of the runner.
        QTimer.singleShot(0, lambda: job.setParent(None))
