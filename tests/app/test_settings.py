"""Preferences (isolated per test), themes, the settings dialog and the last-resort hook."""

from __future__ import annotations

import sys

from app.settings import MAX_RECENT, Preferences, settings_path
from tests.app.conftest import qsettings_fixture, window_fixture  # noqa: F401


def test_preferences_live_in_the_test_data_dir(isolated_qsettings, tmp_path):
    import os

    assert str(settings_path()).startswith(os.environ["CLINLENS_DATA_DIR"])


def test_recent_projects_are_unique_newest_first_and_bounded(tmp_path):
    prefs = Preferences()
    for i in range(MAX_RECENT + 3):
        prefs.add_recent(tmp_path / f"p{i}")
    prefs.add_recent(tmp_path / "p5")
    recent = prefs.recent_projects()
    assert len(recent) == MAX_RECENT
    assert recent[0].endswith("p5") and recent.count(recent[0]) == 1
    assert prefs.last_project().endswith("p5")
    prefs.remove_recent(tmp_path / "p5")
    assert not any(r.endswith("p5") for r in prefs.recent_projects())


def test_author_and_theme_round_trip():
    prefs = Preferences()
    prefs.author = "  Dr. Ada  "
    prefs.theme = "light"
    again = Preferences()
    assert again.author == "Dr. Ada"
    assert again.theme == "light"


def test_themes_change_the_palette(qapp):
    from PySide6.QtGui import QPalette

    from app.theme import apply_theme

    apply_theme(qapp, "dark")
    dark = qapp.palette().color(QPalette.ColorRole.Window).lightness()
    apply_theme(qapp, "light")
    light = qapp.palette().color(QPalette.ColorRole.Window).lightness()
    assert dark < 100 < light
    assert "readOnlyBanner" in qapp.styleSheet()
    assert apply_theme(qapp, "neon") == "dark"


def test_settings_dialog_sets_the_author_of_new_edits(qtbot, window, monkeypatch):
    from PySide6.QtCore import QRectF

    from app.dialogs.settings_dialog import SettingsDialog

    def fake_exec(dialog):
        dialog.author.setText("Dr. Grace")
        return 1

    monkeypatch.setattr(SettingsDialog, "exec", fake_exec)
    window.projects.settings_dialog()
    box = window.annotations.add_box_from_rect(QRectF(10, 10, 20, 20))
    assert box.author == "Dr. Grace"


def test_uncaught_exception_shows_one_line_and_logs_the_traceback(tmp_path):
    from app import errors_ui
    from core.paths import log_dir

    shown: list[str] = []
    old_hook, old_thread_hook = sys.excepthook, __import__("threading").excepthook
    try:
        errors_ui.install_excepthook(shown.append)
        try:
            raise KeyError("boom")
        except KeyError:
            sys.excepthook(*sys.exc_info())
    finally:
        sys.excepthook = old_hook
        __import__("threading").excepthook = old_thread_hook
    assert len(shown) == 1
    assert "Traceback" not in shown[0] and "saved work is safe" in shown[0]
    assert "KeyError" in (log_dir() / "clinlens-gui.log").read_text()
