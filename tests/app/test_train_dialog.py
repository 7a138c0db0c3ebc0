"""Model ▸ Train detector…: the form shows what there is to train on and refuses too little."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.app.conftest import make_project

ROOT = Path(__file__).resolve().parents[2]


def _review(project, n: int) -> None:  # type: ignore[no-untyped-def]
    from core.annotations import Box

    for rec in list(project.images())[:n]:
        project.add_boxes(rec.id, [Box(10, 10, 60, 50, label=project.label_set().names()[0])])
        project.set_review_status(rec.id, "done")


def test_the_form_shows_counts_and_refuses_with_the_number_needed(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from app.controllers.training import TrainRequest, refusal, training_data
    from app.dialogs.train_dialog import TrainDialog

    project = make_project(tmp_path / "proj", n_images=6, scales=())
    try:
        _review(project, 3)
        data = training_data(project)
        assert data.train_images + data.heldout_images == 3
        assert sum(data.train_boxes.values()) + sum(data.heldout_boxes.values()) == 3
        dialog = TrainDialog(data, lambda r: refusal(project, r), ["detector:1"])
        qtbot.addWidget(dialog)
        text = dialog.counts.text()
        assert f"{data.train_images} for training" in text
        assert f"{data.heldout_images} held out" in text
        label = project.label_set().names()[0]
        if data.train_boxes:
            assert f"{label} {data.train_boxes[label]}" in text
        # Too few: Start is disabled and the form says how many are needed.
        assert not dialog.start_button.isEnabled()
        why = dialog.refusal.text()
        assert why.startswith("Cannot train yet:")
        assert data.heldout_images == 1  # the project's frozen split (seeded)
        assert "need at least 4 reviewed training images and 4 reviewed boxes" in why
        assert f"have {data.train_images} image(s)" in why
        assert dialog.start_from.findData("detector:1") >= 0
        request = dialog.request()
        assert isinstance(request, TrainRequest)
        assert request.preset == "xray" and request.start == "active"
    finally:
        project.close()


def test_the_form_lets_a_project_with_enough_reviewed_images_start(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from app.controllers.training import refusal, training_data
    from app.dialogs.train_dialog import TrainDialog
    from core.store import Project
    from tests.ml.training_fixtures import make_reviewed_project

    make_reviewed_project(tmp_path / "proj", n_images=14, size=64)
    with Project.open(tmp_path / "proj", read_only=True) as project:
        data = training_data(project)
        assert data.heldout_images >= 1 and data.train_images >= 4
        dialog = TrainDialog(data, lambda r: refusal(project, r))
        qtbot.addWidget(dialog)
        assert dialog.start_button.isEnabled(), dialog.refusal.text()
        assert not dialog.refusal.isVisibleTo(dialog)


def test_the_gui_side_of_training_never_imports_torch() -> None:
    code = (
        "import sys\n"
        "import app.controllers.training, app.dialogs.train_dialog, app.docks.training_panel\n"
        "import app.main_window, ml.training.session, ml.cli_training\n"
        "heavy = [m for m in ('torch', 'ultralytics', 'torchvision') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_a_new_project_is_told_what_it_lacks_and_starts_from_scratch(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from app.controllers.training import refusal, training_data
    from app.dialogs.train_dialog import TrainDialog

    project = make_project(tmp_path / "proj", n_images=3, scales=())
    try:
        dialog = TrainDialog(training_data(project), lambda r: refusal(project, r), [])
        qtbot.addWidget(dialog)
        # No version to fine-tune: the first model starts from scratch.
        assert dialog.start_from.currentData() == "scratch"
        why = dialog.refusal.text()
        assert "need at least 4 reviewed training images" in why and "held-out" in why
        assert not dialog.start_button.isEnabled()
    finally:
        project.close()
