"""``queue``: the images an expert should review next, most informative first.

    python main.py queue DIR [--kind detector|severity] [--scale S] [--n N] [--json]
        [--device auto|cpu|cuda] [--flip all|uncertain|off] [--diversity] [--no-compute]

With ``--json`` one document on stdout: ``{"model": "NAME:V" | null, "kind", "images":
[{"image", "path", "score", "reasons"}], "computed", "skipped", "notes"}``. Scores missing
for the active version are computed (and stored when the project can be opened for
writing). No active model: file order, and the notes say so.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.errors import ClinLensError, ProjectLockedError

DEVICES = ("auto", "cpu", "cuda", "mps")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "queue",
        help="the most informative unreviewed images, to review next",
        description="Rank the unreviewed images by how much reviewing them should teach "
        "the active model (uncertain boxes, boxes that move when the image is mirrored, "
        "grades near an edge); held-out images are never ranked but offered at the "
        "held-out rate. Scores missing for the active model version are computed first.",
    )
    p.add_argument("project", metavar="DIR", help="project folder")
    p.add_argument("--kind", choices=("detector", "severity"), default="detector")
    p.add_argument("--scale", help="severity scale (default: the first with an active model)")
    p.add_argument("--n", type=int, default=10, metavar="N", help="how many images (default 10)")
    p.add_argument("--device", choices=DEVICES, default="auto")
    p.add_argument("--flip", choices=("all", "uncertain", "off"), default="all")
    p.add_argument("--diversity", action="store_true", help="spread the batch (k-center)")
    p.add_argument("--no-compute", action="store_true", help="use stored scores only; compute none")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=run_queue)


def _kind(project: Any, args: argparse.Namespace) -> str:
    if args.kind == "detector":
        return "detector"
    if args.scale:
        names = {s.name for s in project.definitions.scales()}
        if args.scale not in names:
            raise ClinLensError(
                f"scale '{args.scale}' is not a scale of this project "
                f"(its scales: {', '.join(sorted(names)) or 'none'})"
            )
        return f"severity:{args.scale}"
    from ml.severity.model_io import graded_scales

    scales = graded_scales(project.folder)
    if scales:
        return f"severity:{scales[0]}"
    first = [s.name for s in project.definitions.scales()]
    if not first:
        raise ClinLensError("this project has no grading scale: --kind severity needs one")
    return f"severity:{first[0]}"


def run_queue(args: argparse.Namespace) -> int:
    from core.store import Project
    from ml.active.refresh import review_queue

    notes: list[str] = []
    store = True
    try:
        project = Project.open(Path(args.project))
    except ProjectLockedError:
        project = Project.open(Path(args.project), read_only=True)
        store = False
        notes.append("the project is open for writing elsewhere: new scores were not stored")
    with project:
        kind = _kind(project, args)
        result = review_queue(
            project,
            kind,
            args.n,
            device=args.device,
            flip=args.flip,
            compute=not args.no_compute,
            store=store,
            diversity=args.diversity,
            progress=_progress if not args.json else None,
        )
    doc = result.to_dict()
    doc["notes"] = doc["notes"] + notes
    if args.json:
        sys.stdout.write(json.dumps(doc) + "\n")
        return 0
    for note in doc["notes"]:
        sys.stderr.write(f"note: {note}\n")
    sys.stdout.write(f"model: {doc['model'] or 'none (file order)'}\n")
    for item in doc["images"]:
        score = "-" if item["score"] is None else f"{item['score']:.3f}"
        sys.stdout.write(
            f"{item['image']:>6}  {score:>6}  {item['path']}  ({'; '.join(item['reasons'])})\n"
        )
    return 0


def _progress(done: int, total: int, message: str) -> None:
    sys.stderr.write(f"\r[{done}/{total}] scoring…")
    if done == total:
        sys.stderr.write("\n")
