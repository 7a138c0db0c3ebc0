"""The severity process (``main.py severity-worker DIR``): trains and grades, writes no grade."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("skimage.data")


@pytest.mark.slow  # a child process and a small training run
def test_the_worker_trains_and_grades_and_the_writer_confirms(tmp_path: Path) -> None:
    from core.store import Project
    from core.workers import WorkerProcess, clinlens_argv
    from ml import registry
    from ml.severity.model_io import graded_scales
    from ml.severity.synthetic import make_project

    folder = tmp_path / "faces"
    make_project(folder, [0.0, 1.0, 2.0, 3.0] * 3, seed=3, lesion_boxes=True)
    worker = WorkerProcess(clinlens_argv("severity-worker", str(folder)), name="severity")
    try:
        done = worker.request("train", scale="acne4", backbone="builtin")
        assert done["summary"]["backbone"] == "builtin"
        info = registry.ModelInfo.from_dict(done["model"])
        assert registry.trust_state(folder, info) != "trusted"  # read-only: not recorded
        registry.confirm_import(folder, info)
        assert "acne4" in graded_scales(folder)
        with Project.open(folder, read_only=True) as project:
            image_id = project.images()[-1].id
            before = project.grades(image_id)
        result = worker.request("grade", image_id=image_id, scale="acne4")["result"]
        assert result["scale"] == "acne4" and result["patches"] and 0 <= result["value"] <= 3
        assert result["lesion_count"] is not None
        with Project.open(folder, read_only=True) as project:
            assert project.grades(image_id) == before  # the worker stores nothing
    finally:
        worker.close()
