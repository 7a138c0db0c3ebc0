"""Headless command line: ``python main.py COMMAND ...``.

Each command lives in its own module exposing ``register(subparsers)``; the module sets
``func`` on its parser, which gets the parsed args and returns an exit code. Modules must
not import torch/ultralytics at import time (only inside ``func``), so ``--help`` is quick.

Contract: a user error prints one readable line on stderr and exits 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import traceback
from collections.abc import Sequence

from core.commands import command_modules
from core.errors import ClinLensError

# Modules that register commands, from the one command list. The ``ml`` ones only declare
# arguments at import time.
COMMAND_MODULES = command_modules()

EXIT_USER_ERROR = 2
log = logging.getLogger("clinlens.cli")


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message}\n")


def _iter_command_modules():  # type: ignore[no-untyped-def]
    for name in COMMAND_MODULES:
        try:
            yield importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # A command family not installed in this build (e.g. a trimmed installer).
            if exc.name != name:
                raise


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineArgumentParser(
        prog="clinlens",
        description="ClinLens: annotate and review medical images. Without a command, opens the GUI.",
    )
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=OneLineArgumentParser
    )
    for module in _iter_command_modules():
        module.register(sub)
    return parser


def command_names() -> set[str]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def fail(message: str) -> int:
    """Print one readable error line and return the user-error exit code."""
    sys.stderr.write(f"clinlens: error: {message}\n")
    return EXIT_USER_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return EXIT_USER_ERROR
    try:
        return int(func(args) or 0)
    except ClinLensError as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return fail("interrupted")
    except Exception as exc:  # last resort: one line for the user, details in the log file
        _log_unexpected(exc)
        return fail(f"unexpected {exc.__class__.__name__}: {exc} (details in the ClinLens log)")


def _log_unexpected(exc: BaseException) -> None:
    try:
        from core.paths import log_dir

        with open(log_dir() / "cli-errors.log", "a", encoding="utf-8") as fh:
            fh.write("".join(traceback.format_exception(exc)))
    except OSError:
        pass
