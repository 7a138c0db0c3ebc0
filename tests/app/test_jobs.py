"""The job runner: exactly one outcome per job, cancel, latest-request-wins, progress."""

from __future__ import annotations

import threading

import pytest

from app.jobs import LANE_INTERACTIVE, CancelToken, Job
from core.errors import ClinLensError, JobCancelled
from tests.app.conftest import runner_fixture  # noqa: F401


def _record(job: Job) -> list[tuple[str, object]]:
    events: list[tuple[str, object]] = []
    job.succeeded.connect(lambda r: events.append(("succeeded", r)))
    job.failed.connect(lambda m: events.append(("failed", m)))
    job.cancelled.connect(lambda: events.append(("cancelled", None)))
    job.finished.connect(lambda: events.append(("finished", None)))
    return events


def test_successful_job_emits_succeeded_then_finished_once(qtbot, runner):
    job = runner.submit(lambda progress, cancel: 6 * 7, title="answer")
    events = _record(job)
    with qtbot.waitSignal(job.finished, timeout=5000):
        pass
    assert events == [("succeeded", 42), ("finished", None)]
    assert job.state == "succeeded"


def test_crashing_job_reports_failed_with_short_message_not_a_hang(qtbot, runner):
    def crash(progress, cancel):
        raise ZeroDivisionError("division by zero")

    job = runner.submit(crash, title="crash")
    events = _record(job)
    with qtbot.waitSignal(job.finished, timeout=5000):
        pass
    assert [e[0] for e in events] == ["failed", "finished"]
    assert "ZeroDivisionError" in str(events[0][1])
    assert "Traceback" not in str(events[0][1])


def test_user_error_message_is_passed_through_unchanged(qtbot, runner):
    def bad(progress, cancel):
        raise ClinLensError("scan.dcm: the file is truncated")

    job = runner.submit(bad)
    with qtbot.waitSignal(job.failed, timeout=5000) as blocker:
        pass
    assert blocker.args == ["scan.dcm: the file is truncated"]


def test_cancel_stops_a_running_job_and_reports_cancelled_once(qtbot, runner):
    started = threading.Event()

    def long_job(progress, cancel: CancelToken):
        started.set()
        while True:
            cancel.raise_if_cancelled()
            cancel.wait(0.005)

    job = runner.submit(long_job, title="long")
    events = _record(job)
    assert started.wait(5)
    job.cancel()
    with qtbot.waitSignal(job.finished, timeout=5000):
        pass
    assert events == [("cancelled", None), ("finished", None)]


def test_job_that_returns_after_cancel_is_reported_cancelled_not_succeeded(qtbot, runner):
    release = threading.Event()

    def polite(progress, cancel):
        release.wait(5)
        return "late result"

    job = runner.submit(polite)
    events = _record(job)
    job.cancel()
    release.set()
    with qtbot.waitSignal(job.finished, timeout=5000):
        pass
    assert events == [("cancelled", None), ("finished", None)]


def test_latest_request_on_a_channel_wins_and_stale_result_is_dropped(qtbot, runner):
    gate = threading.Event()

    def slow_first(progress, cancel):
        gate.wait(5)  # ignores the token on purpose: a job that cannot stop early
        return "image 1"

    first = runner.submit(slow_first, channel="suggest:image", lane=LANE_INTERACTIVE)
    first_events = _record(first)
    second = runner.submit(lambda p, c: "image 2", channel="suggest:image", lane=LANE_INTERACTIVE)
    second_events = _record(second)
    assert first.token.is_set(), "submitting on the channel must cancel the older request"
    gate.set()
    with qtbot.waitSignal(second.finished, timeout=5000):
        pass
    qtbot.waitUntil(lambda: first.done, timeout=5000)
    assert first_events == [("cancelled", None), ("finished", None)]
    assert second_events == [("succeeded", "image 2"), ("finished", None)]


def test_jobs_on_different_channels_do_not_cancel_each_other(qtbot, runner):
    a = runner.submit(lambda p, c: "a", channel="load")
    b = runner.submit(lambda p, c: "b", channel="export")
    with qtbot.waitSignals([a.succeeded, b.succeeded], timeout=5000):
        pass
    assert a.state == b.state == "succeeded"


def test_progress_is_reported_as_a_fraction_on_the_gui_thread(qtbot, runner):
    seen: list[tuple[float, str]] = []

    def work(progress, cancel):
        progress(1, 4, "first")
        return None

    job = runner.submit(work)
    job.progressed.connect(lambda f, m: seen.append((f, m)))
    with qtbot.waitSignal(job.finished, timeout=5000):
        pass
    assert seen and seen[0] == (0.25, "first")


def test_job_raising_jobcancelled_itself_is_reported_cancelled(qtbot, runner):
    def stop(progress, cancel):
        raise JobCancelled("stopped by the user")

    job = runner.submit(stop)
    with qtbot.waitSignal(job.cancelled, timeout=5000):
        pass
    assert job.state == "cancelled"


def test_runner_busy_signal_toggles_with_visible_jobs(qtbot, runner):
    gate = threading.Event()
    states: list[bool] = []
    runner.busy_changed.connect(states.append)
    job = runner.submit(lambda p, c: gate.wait(5))
    assert runner.busy
    gate.set()
    with qtbot.waitSignal(job.finished, timeout=5000):
        pass
    assert states == [True, False]
    assert not runner.busy


@pytest.mark.parametrize("n_jobs", [20])
def test_many_jobs_each_report_exactly_one_outcome(qtbot, runner, n_jobs):
    jobs = [runner.submit(lambda p, c, i=i: i if i % 3 else 1 / 0) for i in range(n_jobs)]
    records = [_record(j) for j in jobs]
    qtbot.waitUntil(lambda: all(j.done for j in jobs), timeout=10000)
    for rec in records:
        outcomes = [e for e in rec if e[0] != "finished"]
        assert len(outcomes) == 1
        assert rec[-1] == ("finished", None)


def test_jobs_panel_lists_job_and_cancel_button_cancels(qtbot, runner):
    from app.jobs.panel import JobsPanel, JobsStatusIndicator

    panel = JobsPanel(runner)
    indicator = JobsStatusIndicator(runner)
    qtbot.addWidget(panel)
    qtbot.addWidget(indicator)
    started = threading.Event()

    def long_job(progress, cancel):
        started.set()
        progress(0.5, None, "halfway")
        while not cancel.is_set():
            cancel.wait(0.005)
        cancel.raise_if_cancelled()

    job = runner.submit(long_job, title="Export VOC")
    row = panel.rows[job.id]
    assert row.title.text() == "Export VOC"
    assert not indicator.isHidden()
    assert started.wait(5)
    qtbot.waitUntil(lambda: "halfway" in row.state.text(), timeout=5000)
    row.cancel_button.click()
    with qtbot.waitSignal(job.finished, timeout=5000):
        pass
    assert row.state.text() == "cancelled"
    assert indicator.isHidden()
    panel.clear_finished()
    assert not panel.rows


def test_a_held_runner_starts_its_jobs_on_release_in_order_and_cancels_while_held(qtbot, runner):
    # The launch holds the runner until the window is on screen (#17).
    ran: list[str] = []
    runner.hold()
    first = runner.submit(lambda p, c: ran.append("first") or 1, channel="display:load")
    dropped = runner.submit(lambda p, c: ran.append("dropped") or 2, channel="thumbs")
    newest = runner.submit(lambda p, c: ran.append("newest") or 3, channel="thumbs")
    dropped_events = _record(dropped)
    qtbot.wait(100)
    assert ran == [] and not first.done  # nothing runs while held
    runner.release()
    with qtbot.waitSignals([first.finished, newest.finished, dropped.finished], timeout=5000):
        pass
    assert ran == ["first", "newest"]
    assert [e[0] for e in dropped_events] == ["cancelled", "finished"]  # superseded while held
    later = runner.submit(lambda p, c: 4)  # released: starts at once again
    with qtbot.waitSignal(later.succeeded, timeout=5000) as blocker:
        pass
    assert blocker.args == [4]


def test_waiting_for_a_held_runner_releases_it(qtbot, runner):
    runner.hold()
    job = runner.submit(lambda p, c: 5)
    assert runner.wait_for_done(5000)
    qtbot.waitUntil(lambda: job.done, timeout=5000)
    assert job.state == "succeeded"
