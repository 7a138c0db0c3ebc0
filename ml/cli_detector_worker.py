"""``detector-worker DIR``: the annotator's detector process (not meant to be typed).

The GUI starts it to keep torch and the model out of the window's process; it speaks JSON
lines on stdin/stdout (see ``ml.detector_worker``). Registered here so the frozen
executable can start it the same way: ``ClinLens detector-worker DIR``.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    worker = subparsers.add_parser(
        "detector-worker",
        help="(internal) the annotator's detector process, speaking JSON lines",
        description="Serve the project's detector to the annotator over stdin/stdout in "
        "JSON lines. Started by the GUI; opens the project read-only.",
    )
    worker.add_argument("project", metavar="DIR", help="project folder")
    worker.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ml.detector_worker import run

    return run(args.project)
