"""main.py decides between the GUI and the headless commands without surprises."""

from __future__ import annotations

from pathlib import Path

import pytest

import main
from core.cli import command_names


def test_known_commands_match_the_registered_cli_commands() -> None:
    assert set(main.KNOWN_COMMANDS) == command_names()


def test_a_project_folder_argument_means_the_gui(tmp_path: Path) -> None:
    assert main._looks_like_gui_args([str(tmp_path)])


def test_a_command_wins_over_a_folder_of_the_same_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "project").mkdir()
    monkeypatch.chdir(tmp_path)
    assert not main._looks_like_gui_args(["project", "stats", "x"])


def test_cli_errors_exit_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main.main(["info", "/no/such/file.dcm", "--json"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
