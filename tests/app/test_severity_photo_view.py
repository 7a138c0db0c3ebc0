"""The severity dock's "Photos show" setting: stored in the project, shown on reopening."""

from __future__ import annotations

from app.main_window import MainWindow


def test_photo_view_choice_is_stored_in_the_project(qtbot, tmp_path):  # type: ignore[no-untyped-def]
    from tests.app.conftest import make_project

    make_project(tmp_path / "p", n_images=1).close()
    w = MainWindow()
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.image_shown, timeout=20000):
        w.open_project(tmp_path / "p")
    combo = w.severity_panel.photo_view
    assert combo.currentData() == "full_face" and combo.isEnabled()
    combo.setCurrentIndex(1)
    combo.activated.emit(1)
    assert w.project.definitions.photo_view() == "one_side"
    assert "every lesion" in w.statusBar().currentMessage()
    assert w.severity.worker is not None  # a severity process per project (not started yet)
    w.close()
