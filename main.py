"""ClinLens entry point.

``python main.py``              opens the GUI on the last (or the demo) project;
``python main.py PROJECT_DIR``  opens that project;
``python main.py COMMAND ...``  runs a headless command (see ``python main.py --help``).
"""

from __future__ import annotations

import sys

from core.commands import command_names

# Top-level command names, from the one command list: a folder that happens to be called
# "project" must not turn `main.py project create ...` into a GUI start.
KNOWN_COMMANDS = command_names()


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and (args[0] in ("-h", "--help") or not _looks_like_gui_args(args)):
        from core.cli import main as cli_main

        return cli_main(args)
    from app.launch import run_gui

    return run_gui(args)


def _looks_like_gui_args(args: list[str]) -> bool:
    # Read from the command list, not the parser: building the parser imports pydicom and the
    # ML command modules, which the GUI's start must not pay for. Anything that is not a
    # command (a project folder, a file the GUI reports as missing) starts the GUI.
    return args[0] not in KNOWN_COMMANDS


if __name__ == "__main__":
    if getattr(sys, "frozen", False):
        import multiprocessing

        # A helper process that torch or ultralytics spawns re-enters this executable.
        multiprocessing.freeze_support()
    sys.exit(main())
