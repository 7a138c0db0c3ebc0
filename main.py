"""ClinLens entry point.

``python main.py``              opens the GUI on the last (or the demo) project;
``python main.py PROJECT_DIR``  opens that project;
``python main.py COMMAND ...``  runs a headless command (see ``python main.py --help``).
"""

from __future__ import annotations

import sys

# Top-level command names, kept in step with core.cli (a test checks): a folder that happens
# to be called "project" must not turn `main.py project create ...` into a GUI start.
KNOWN_COMMANDS = frozenset(
    {"demo", "detector-worker", "info", "model", "predict", "project", "render", "severity"}
)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and (args[0] in ("-h", "--help") or not _looks_like_gui_args(args)):
        from core.cli import main as cli_main

        return cli_main(args)
    from app.launch import run_gui

    return run_gui(args)


def _looks_like_gui_args(args: list[str]) -> bool:
    # A project folder opens the GUI; checking that first spares the GUI start the cost of
    # building the whole CLI parser (which imports pydicom and the ML command modules).
    from pathlib import Path

    if args[0] not in KNOWN_COMMANDS and Path(args[0]).is_dir():
        return True
    from core.cli import command_names

    return args[0] not in command_names()


if __name__ == "__main__":
    sys.exit(main())
