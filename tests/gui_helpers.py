"""Shared helpers for the GUI tests (pytest-qt, offscreen).

Import the fixtures you need into a test module:
``from tests.gui_helpers import qsettings_fixture, runner_fixture  # noqa: F401``; the
fixtures are then requested by their short names (``isolated_qsettings``, ``runner``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(name="isolated_qsettings")
def qsettings_fixture(tmp_path: Path) -> Iterator[Path]:
    """Point every QSettings (native and INI, user and system scope) at a temporary folder."""
    from PySide6.QtCore import QSettings

    folder = tmp_path / "qsettings"
    folder.mkdir()
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
            QSettings.setPath(fmt, scope, str(folder))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    yield folder


@pytest.fixture(name="runner")
def runner_fixture(qtbot):  # type: ignore[no-untyped-def]
    """A JobRunner that must be idle when the test ends (no thread left running)."""
    from app.jobs import JobRunner

    r = JobRunner()
    yield r
    r.cancel_all()
    assert r.wait_for_done(10000), "a background job was still running at the end of the test"
    # Let queued outcome signals land so no job is left half-reported.
    qtbot.waitUntil(lambda: not r.active_jobs, timeout=5000)
