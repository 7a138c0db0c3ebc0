"""main.py decides between the GUI and the headless commands without surprises."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import main
from core.cli import OneLineArgumentParser, command_names
from core.commands import COMMANDS, command_modules


def test_known_commands_match_the_registered_cli_commands() -> None:
    assert set(main.KNOWN_COMMANDS) == command_names()


@pytest.mark.parametrize("module_name", command_modules())
def test_each_command_module_registers_exactly_the_commands_the_list_names(
    module_name: str,
) -> None:
    # The one command list is the truth: a module that registers a command the list lacks
    # (or misses one it names) would be invisible to main.py and the frozen build.
    parser = OneLineArgumentParser(prog="t")
    sub = parser.add_subparsers(dest="command", parser_class=OneLineArgumentParser)
    importlib.import_module(module_name).register(sub)
    assert set(sub.choices) == {name for name, mod in COMMANDS if mod == module_name}


def test_the_gui_start_path_does_not_build_the_cli_parser(tmp_path: Path) -> None:
    # Deciding "GUI or command" reads the list only; building the parser would import pydicom.
    code = (
        "import sys, main; main._looks_like_gui_args([sys.argv[1]]); "
        "print('core.cli' in sys.modules, 'pydicom' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        cwd=Path(main.__file__).parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["False", "False"]


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
