"""The one list of headless commands: which top-level command each module registers.

``main.py`` reads it to tell a command from a project folder without building the parser,
``core.cli`` imports the modules from it to build the parser, and the PyInstaller spec lists
the same modules as hidden imports (they are imported by name, which PyInstaller cannot
see). A new command is added here and nowhere else.

Data only, no imports: ``main.py`` reads it on the GUI's start-up path.
"""

from __future__ import annotations

# (command name, module whose ``register(subparsers)`` adds it), in ``--help`` order.
# A module may register several commands (``ml.cli_models``: model, predict).
COMMANDS: tuple[tuple[str, str], ...] = (
    ("info", "core.cli.info"),
    ("render", "core.cli.render"),
    ("project", "core.cli.project"),
    ("demo", "core.cli.demo"),
    ("model", "ml.cli_models"),
    ("predict", "ml.cli_models"),
    ("severity", "ml.cli_severity"),
    ("detector-worker", "ml.cli_detector_worker"),
    ("train-worker", "ml.cli_training"),
    ("self-test", "ml.cli_selftest"),
    ("queue", "ml.cli_queue"),
    ("severity-worker", "ml.cli_severity_worker"),
)


def command_names() -> frozenset[str]:
    return frozenset(name for name, _ in COMMANDS)


def command_modules() -> tuple[str, ...]:
    """Each registering module once, in the order of its first command."""
    return tuple(dict.fromkeys(module for _, module in COMMANDS))
