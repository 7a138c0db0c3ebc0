"""Issue 17 #4: a new project in a folder that already holds images offers to import them,
and does it as a background job (never on the GUI thread)."""

from __future__ import annotations

import dataclasses
import threading

from tests.app import test_project_controller as pc
from tests.app.conftest import runner_fixture, write_xray  # noqa: F401

# The controller tests' fixtures, by their names (a fake prompts object, a real runner).
controller, prompts, seen, _spec = pc.controller, pc.prompts, pc.seen, pc._spec


def test_the_folders_images_are_imported_in_the_background(
    qtbot, controller, prompts, seen, tmp_path, monkeypatch
):
    folder = tmp_path / "study"
    for i in range(2):
        write_xray(folder / "scans" / f"s{i}.png", seed=i)
    import core.project_io as project_io

    threads: list[str] = []
    real = project_io.import_images

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(project_io, "import_images", spy)
    prompts.spec = dataclasses.replace(_spec(folder), import_existing=True)
    assert controller.new_project()
    assert len(seen.jobs) == 1  # a visible job, with progress and cancel
    with qtbot.waitSignal(seen.jobs[0].finished, timeout=20000):
        pass
    assert seen.jobs[0].state == "succeeded", seen.jobs[0].error
    assert controller.project.image_count() == 2
    assert threads and threads[0] != threading.main_thread().name


def test_declining_the_offer_imports_nothing(controller, prompts, seen, tmp_path):
    write_xray(tmp_path / "study" / "a.png")
    prompts.spec = _spec(tmp_path / "study")
    assert controller.new_project()
    assert seen.jobs == [] and controller.project.image_count() == 0


def test_the_wizard_offers_the_import_by_default(qtbot, tmp_path):
    from app.dialogs.new_project import NewProjectDialog

    dialog = NewProjectDialog(default_folder=tmp_path / "study")
    qtbot.addWidget(dialog)
    assert dialog.import_existing.isChecked()
    assert dialog.build_spec().import_existing
    dialog.import_existing.setChecked(False)
    assert not dialog.build_spec().import_existing
