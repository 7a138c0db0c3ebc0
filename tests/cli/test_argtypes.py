"""Numbers on the command line: one readable refusal for every command."""

from __future__ import annotations

import argparse

import pytest

from core.cli import main as cli
from core.cli.argtypes import whole_number


def test_whole_number_accepts_values_inside_its_range() -> None:
    assert whole_number(0, 10)("0") == 0 and whole_number(0, 10)("10") == 10
    assert whole_number(low=1)("123456") == 123456


@pytest.mark.parametrize(
    ("text", "message"),
    [("x", "whole number"), ("1.5", "whole number"), ("-1", "at least 0"), ("11", "at most 10")],
)
def test_whole_number_refuses_with_a_message(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        whole_number(0, 10)(text)


@pytest.mark.parametrize(
    "argv",
    [
        ["render", "a.dcm", "-o", "b.png", "--size", "0"],
        ["render", "a.dcm", "-o", "b.png", "--frame", "-1"],
        ["info", "a.dcm", "--frame", "two"],
        ["demo", "files", "out", "--n", "5000"],
        ["demo", "files", "out", "--seed", "-3"],
    ],
)
def test_bad_numbers_exit_2_with_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        cli(argv)
    assert done.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error" in err[0]
