"""One CLI command in a child process, its --json answer read back (Model > Evaluate runs
``model evaluate`` this way so torch never loads in the window)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from core.errors import ClinLensError, JobCancelled
from core.workers.oneshot import run_json_command
from tests.core.conftest import new_project, write_rgb


def test_the_child_answers_with_its_json_document(tmp_path: Path) -> None:
    from core.project_io import import_images

    project = new_project(tmp_path / "proj")
    import_images(project, [write_rgb(tmp_path / "src" / "a.png")])
    project.close()
    doc = run_json_command("project", "stats", str(tmp_path / "proj"), "--json")
    assert doc["images"] == 1


def test_a_failing_command_raises_its_one_line_message(tmp_path: Path) -> None:
    with pytest.raises(ClinLensError) as err:
        run_json_command("project", "stats", str(tmp_path / "no-such-project"), "--json")
    text = str(err.value)
    assert "\n" not in text and "Traceback" not in text and text


def test_a_cancel_stops_the_child(tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(JobCancelled):
        run_json_command("project", "stats", str(tmp_path), "--json", cancel=cancel)
