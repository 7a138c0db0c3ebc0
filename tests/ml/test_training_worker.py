"""The training worker: cancel mid-training and kill -9 leave the registry and store as
they were; a second training of the same project is refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.errors import JobCancelled
from tests.ml.training_fixtures import make_reviewed_project, tiny_config, train_args

ROOT = Path(__file__).resolve().parents[2]


def _state(project: Path) -> tuple[list[str], int]:
    from core.store import Project

    models = sorted(p.name for p in (project / "models").iterdir())
    with Project.open(project, read_only=True) as p:
        return models, len(p.audit_events(limit=100000))


def _env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "CLINLENS_DATA_DIR": str(tmp_path / "data"), "CLINLENS_DEVICE": "cpu"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def test_cancel_mid_training_registers_nothing(tmp_path: Path, monkeypatch) -> None:
    from core.store import Project
    from ml.training.lock import LOCK_NAME
    from ml.training.recipe import preset
    from ml.training.session import run_training

    monkeypatch.setenv("CLINLENS_DATA_DIR", str(tmp_path / "data"))
    project = tmp_path / "proj"
    make_reviewed_project(project)
    before = _state(project)
    recipe = preset(
        "xray", epochs=50, imgsz=64, tile_size=64, tiles=2, start="scratch",
        arch=str(tiny_config(tmp_path)), device="cpu",
    )  # fmt: skip
    cancel = threading.Event()
    batches: list[dict] = []

    def on_event(event: dict) -> None:
        if event.get("event") == "batch":
            batches.append(event)
            cancel.set()

    started = time.monotonic()
    with pytest.raises(JobCancelled):
        run_training(
            project,
            recipe,
            open_writer=lambda: Project.open(project),
            on_event=on_event,
            cancel=cancel,
        )
    assert batches and batches[0]["epoch"] == 1
    assert time.monotonic() - started < 60
    assert _state(project) == before
    assert not (project / LOCK_NAME).exists()


def test_kill_9_of_the_cli_leaves_the_project_as_it_was(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    make_reviewed_project(project)
    before = _state(project)
    cfg = tiny_config(tmp_path)
    args = train_args(project, cfg)
    args[args.index("--epochs") + 1] = "50"
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.cli", *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=_env(tmp_path),
        cwd=ROOT,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if " batch " in line:
            break
    # A second training of the same project meanwhile is refused in one line.
    second = subprocess.run(
        [sys.executable, "-m", "core.cli", *train_args(project, cfg)],
        capture_output=True, text=True, env=_env(tmp_path), cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert second.returncode == 2
    assert second.stderr.count("\n") == 1 and "already running" in second.stderr
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    # The orphaned worker sees its stdin close and stops after the batch it is on.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ps = subprocess.run(["pgrep", "-f", f"train-worker {project}"], capture_output=True)
        if ps.returncode != 0:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the training worker outlived its parent")
    assert _state(project) == before
