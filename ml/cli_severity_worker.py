"""``severity-worker DIR``: the annotator's severity process (not meant to be typed).

The GUI starts it to keep torch and the backbone out of the window's process; it speaks
JSON lines on stdin/stdout (see ``ml.severity_worker``). Registered here so the frozen
executable can start it the same way: ``ClinLens severity-worker DIR``.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    worker = subparsers.add_parser(
        "severity-worker",
        help="(internal) the annotator's severity grading process, speaking JSON lines",
        description="Grade face photos and train graders for the annotator over "
        "stdin/stdout in JSON lines. Started by the GUI; opens the project read-only.",
    )
    worker.add_argument("project", metavar="DIR", help="project folder")
    worker.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ml.severity_worker import run

    return run(args.project)
