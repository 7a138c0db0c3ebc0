"""Help ▸ About shows the version and the third-party licences, read in the background."""

from __future__ import annotations

import pytest

from tests.app.conftest import window_fixture  # noqa: F401


def test_about_lists_the_bundled_licences(window, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import core.notices

    # The real collection scans every installed distribution (a second); the dialog's job
    # is to show what it returns, off the GUI thread.
    monkeypatch.setattr(
        core.notices, "notices_text", lambda: "Summary:\n  PySide6-Essentials 6.8: LGPL-3.0\n"
    )
    about = next(a for a in window.menuBar().actions() if a.text() == "&Help").menu()
    action = next(a for a in about.actions() if "About" in a.text())
    action.trigger()
    dialog = window._about
    assert "ClinLens" in dialog.windowTitle()
    qtbot.waitUntil(lambda: "PySide6-Essentials" in dialog.notices.toPlainText(), timeout=5000)
    dialog.close()


@pytest.mark.slow  # reads every installed distribution's file list (torch's is long)
def test_the_notices_name_each_distribution_with_its_licence() -> None:
    import importlib.metadata as md

    from core.notices import collect_notices, licence_of

    text = collect_notices()
    assert "iBUG 300-W" in text
    for name in ("PySide6_Essentials", "numpy", "ultralytics"):
        dist = md.distribution(name)
        assert f"{dist.metadata['Name']} {dist.version}: {licence_of(dist)}" in text
    assert "AGPL" in licence_of(md.distribution("ultralytics"))
