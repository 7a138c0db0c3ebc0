"""A missing system library for Qt's xcb plugin is named in one line before Qt would abort."""

from __future__ import annotations

import ctypes

import pytest

from app import launch, qt_env


def _missing_cursor(path: str, *a: object, **k: object) -> None:
    raise OSError("libxcb-cursor.so.0: cannot open shared object file: No such file or directory")


@pytest.fixture
def xcb(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setattr(ctypes, "CDLL", _missing_cursor)


def test_the_missing_library_and_its_package_are_named(xcb) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(qt_env.MissingSystemLibrary) as info:
        qt_env.check_platform_libraries()
    text = str(info.value)
    assert "libxcb-cursor.so.0" in text and "apt install libxcb-cursor0" in text
    assert "\n" not in text


def test_the_gui_start_prints_one_line_and_exits_1(xcb, capsys) -> None:  # type: ignore[no-untyped-def]
    assert launch.run_gui([]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "libxcb-cursor.so.0 is missing" in err


def test_offscreen_and_other_platforms_are_not_checked(monkeypatch) -> None:
    monkeypatch.setattr(ctypes, "CDLL", _missing_cursor)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    qt_env.check_platform_libraries()  # no error: offscreen needs no X libraries
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setattr("sys.platform", "win32")
    qt_env.check_platform_libraries()


def test_an_unknown_library_is_still_named() -> None:
    text = qt_env.missing_library_message("libfoo.so.9: cannot open shared object file")
    assert "libfoo.so.9 is missing" in text and "apt" not in text
