"""The JSON-lines worker protocol, both sides, with tiny Python children (no torch):
one answer per request, cancel, a child that dies, a child that cannot start, stdout kept
for the protocol, and the command line a frozen build uses."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from core.errors import ClinLensError, JobCancelled
from core.workers import WorkerError, WorkerProcess, clinlens_argv, serve

ROOT = Path(__file__).resolve().parents[2]

# A child serving three requests: "echo" (answers its fields, printing junk to stdout on
# the way), "slow" (one "tick" event per 20 ms until cancelled), "boom" (a user error),
# "crash" (an unexpected exception) and "die" (exits without answering).
CHILD = textwrap.dedent(
    """
    import os, sys, time
    from core.errors import ClinLensError
    from core.workers import protocol_streams, serve

    def echo(req, emit, cancel):
        print("a library printing to stdout must not break the protocol")
        emit.progress(1, 2, "half")
        return {"echo": req.get("value")}

    def slow(req, emit, cancel):
        for i in range(500):
            if cancel.is_set():
                return None
            emit("tick", n=i)
            time.sleep(0.02)
        return {}

    def boom(req, emit, cancel):
        raise ClinLensError("the model file is damaged")

    def crash(req, emit, cancel):
        raise ZeroDivisionError("division by zero")

    def die(req, emit, cancel):
        sys.stderr.write("segfault-like end\\n"); sys.stderr.flush()
        os._exit(3)

    requests, replies = protocol_streams()
    sys.exit(serve({"echo": echo, "slow": slow, "boom": boom, "crash": crash, "die": die},
                   requests, replies))
    """
)


@pytest.fixture
def worker(tmp_path: Path):  # type: ignore[no-untyped-def]
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    w = WorkerProcess([sys.executable, str(script)], name="test worker", env=env)
    yield w
    w.close(1.0)


def test_a_request_gets_its_answer_with_progress_despite_prints(worker: WorkerProcess) -> None:
    progress: list[tuple] = []
    done = worker.request("echo", value=[1, "two"], progress=lambda *a: progress.append(a))
    assert done["echo"] == [1, "two"]
    assert progress == [(1, 2, "half")]
    assert worker.request("echo", value=3)["echo"] == 3
    assert worker.starts == 1, "one child serves request after request"


def test_events_reach_the_caller_and_cancel_stops_the_request(worker: WorkerProcess) -> None:
    cancel = threading.Event()
    ticks: list[int] = []

    def on_event(event: dict) -> None:
        ticks.append(event["n"])
        if len(ticks) == 3:
            cancel.set()

    with pytest.raises(JobCancelled):
        worker.request("slow", cancel=cancel, on_event=on_event)
    assert 3 <= len(ticks) < 20
    pid = worker.pid
    assert pid is not None, "a cancelled request leaves the child running"
    assert worker.request("echo", value="after")["echo"] == "after"
    assert worker.pid == pid


def test_a_child_that_ignores_cancel_is_stopped(tmp_path: Path) -> None:
    script = tmp_path / "stubborn.py"
    pid_file = tmp_path / "child.pid"
    script.write_text(
        "import os, time\nfrom core.workers import protocol_streams, serve\n"
        "def hang(req, emit, cancel):\n"
        f"    open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "    time.sleep(60)\n"
        "serve({'hang': hang}, *protocol_streams())\n",
        encoding="utf-8",
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    w = WorkerProcess([sys.executable, str(script)], env=env, cancel_grace_s=0.3)
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    with pytest.raises(JobCancelled):
        w.request("hang", cancel=cancel)
    # No stopwatch: the child that ran the handler is gone (stopped and reaped). Had the
    # request waited out the 60 s sleep instead, that child would still be alive, idle.
    child = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)
    assert w.starts == 1 and w._proc is None
    # The next request starts a fresh child.
    with pytest.raises(WorkerError, match="unknown request"):
        w.request("echo")
    assert w.starts == 2
    w.close(1.0)


def test_a_closed_worker_refuses_new_requests(worker: WorkerProcess) -> None:
    worker.request("echo")
    proc = worker._proc
    worker.close(1.0)
    with pytest.raises(JobCancelled):
        worker.request("echo")
    assert proc is not None and proc.wait(10) == 0, "it quit when asked"
    assert worker.starts == 1


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        ("boom", "the model file is damaged"),
        ("crash", "unexpected ZeroDivisionError: division by zero"),
        ("nonsense", "unknown request 'nonsense'"),
    ],
)
def test_failures_come_back_as_one_line(worker: WorkerProcess, op: str, expected: str) -> None:
    with pytest.raises(WorkerError) as info:
        worker.request(op)
    assert str(info.value) == expected
    assert isinstance(info.value, ClinLensError)
    assert worker.request("echo", value=1)["echo"] == 1, "the child goes on serving"


def test_a_child_that_dies_is_reported_and_restarted(worker: WorkerProcess) -> None:
    worker.request("echo")
    with pytest.raises(WorkerError) as info:
        worker.request("die")
    assert "stopped unexpectedly (exit code 3): segfault-like end" in str(info.value)
    assert worker.request("echo", value="again")["echo"] == "again"
    assert worker.starts == 2


def test_a_child_that_cannot_start_says_why(tmp_path: Path) -> None:
    w = WorkerProcess([str(tmp_path / "no-such-program")], name="detector")
    with pytest.raises(WorkerError, match="cannot start the detector process"):
        w.request("echo")


def test_serve_answers_every_request_once_and_quits(tmp_path: Path) -> None:
    """In-process: requests through a pipe, replies into a file; quit sent last."""
    read_fd, write_fd = os.pipe()
    requests = os.fdopen(read_fd, encoding="utf-8")
    writer = os.fdopen(write_fd, "w", encoding="utf-8")
    replies_path = tmp_path / "replies.jsonl"
    replies = replies_path.open("w", encoding="utf-8")
    result: dict = {}
    server = threading.Thread(
        target=lambda: result.update(
            code=serve({"echo": lambda req, emit, cancel: {"v": req["value"]}}, requests, replies)
        )
    )
    server.start()
    lines = [
        {"op": "cancel", "req": 2},  # cancelled before it starts
        {"op": "echo", "req": 1, "value": 5},
        {"op": "echo", "req": 2, "value": 6},
    ]
    writer.write("not json\n" + "".join(json.dumps(m) + "\n" for m in lines))
    writer.flush()

    def events() -> list[dict]:
        return [json.loads(x) for x in replies_path.read_text(encoding="utf-8").splitlines()]

    deadline = time.monotonic() + 10
    while len(events()) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    writer.write(json.dumps({"op": "quit"}) + "\n")
    writer.close()
    server.join(10)
    replies.close()
    assert result == {"code": 0}
    got = events()
    assert got[0]["event"] == "hello"
    assert [(e["req"], e["event"]) for e in got[1:]] == [(1, "done"), (2, "cancelled")]
    assert got[1]["v"] == 5


def test_clinlens_argv_runs_the_cli_or_the_frozen_executable(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert clinlens_argv("detector-worker", "P") == [
        sys.executable,
        "-m",
        "core.cli",
        "detector-worker",
        "P",
    ]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert clinlens_argv("detector-worker", "P") == [sys.executable, "detector-worker", "P"]
