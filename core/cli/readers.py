"""``clinlens project agreement|adjudication|adjudicate|blinded``: several readers.

    project agreement DIR --scale S [--readers A,B,...] [--json]
    project adjudication DIR --scale S [--threshold T] [--json]     (the queue)
    project adjudicate DIR --scale S --image NAME --value V [--author WHO]
    project blinded DIR on|off
    project assignment-export DIR --reader NAME --out OUT [--status LIST] [--copy-images]
    project assignment-import DIR RESULTS [--json]

Agreement and the queue open the project read-only (they work beside the GUI). Readers
are the authors of the human grades: each reader's own edits, or the ``author`` column of
an imported grades CSV (one row per image and reader).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.errors import ClinLensError


def register_readers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "agreement",
        help="agreement between readers on a scale (kappa, alpha, ICC; the model vs readers)",
    )
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument("--scale", required=True, metavar="S")
    p.add_argument("--readers", metavar="A,B,...", help="the readers to compare (default: all)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_agreement)

    p = sub.add_parser("adjudication", help="images whose readers disagree, to adjudicate")
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument("--scale", required=True, metavar="S")
    p.add_argument(
        "--threshold",
        type=float,
        metavar="T",
        help="queue images whose readers differ by at least T (default: more than one grade "
        "step on named scales, 1.0 on numeric ones)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_queue)

    p = sub.add_parser("adjudicate", help="set the adjudicated (final) grade of an image")
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument("--scale", required=True, metavar="S")
    p.add_argument("--image", required=True, metavar="NAME", help="image path, name or stem")
    p.add_argument("--value", required=True, type=float, metavar="V")
    p.add_argument("--author", help="the adjudicator (default: the OS user)")
    p.set_defaults(func=run_adjudicate)

    p = sub.add_parser("blinded", help="turn blinded reading on or off")
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument("state", choices=("on", "off"))
    p.set_defaults(func=run_blinded)

    p = sub.add_parser(
        "assignment-export", help="write a reading assignment (a reader project) for a reader"
    )
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument("--reader", required=True, metavar="NAME")
    p.add_argument("--out", required=True, type=Path, metavar="OUT")
    p.add_argument("--status", metavar="LIST", help="only images with these review statuses")
    p.add_argument(
        "--copy-images", action="store_true", help="copy the images (default: refer to them)"
    )
    p.set_defaults(func=run_assignment_export)

    p = sub.add_parser(
        "assignment-import", help="merge a reader's results into the project (never overwrites)"
    )
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument("results", metavar="RESULTS", type=Path, help="the assignment folder")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_assignment_import)


def _out(text: str) -> None:
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    sys.stdout.write((text + "\n").encode(encoding, "backslashreplace").decode(encoding))


def run_agreement(args: argparse.Namespace) -> int:
    from core.agreement.report import agreement_report
    from core.agreement.text import agreement_text
    from core.store import Project

    readers = args.readers.split(",") if args.readers else None
    with Project.open(args.dir, read_only=True) as project:
        report = agreement_report(project, args.scale, readers)
    if args.json:
        _out(json.dumps(report, ensure_ascii=True))
        return 0
    _out(agreement_text(report))
    return 0


def run_queue(args: argparse.Namespace) -> int:
    from core.store import Project

    with Project.open(args.dir, read_only=True) as project:
        _check_scale(project, args.scale)
        queue = project.readers.adjudication_queue(args.scale, args.threshold)
    items = [
        {"image_id": q.image_id, "image": q.path, "grades": q.readers, "spread": q.spread}
        for q in queue
    ]
    if args.json:
        _out(json.dumps({"scale": args.scale, "queue": items}, ensure_ascii=True))
        return 0
    from core.store.readers import describe_readers

    _out(f"{len(items)} image(s) to adjudicate on {args.scale}")
    for q in queue:
        _out(f"  {q.path}: {describe_readers(q.readers)} (spread {q.spread:g})")
    return 0


def run_adjudicate(args: argparse.Namespace) -> int:
    from core.project_io.grades import ImageLookup
    from core.store import Project

    with Project.open(args.dir, author=args.author) as project:
        _check_scale(project, args.scale)
        image_id, why = ImageLookup(project).find(args.image)
        if image_id is None:
            raise ClinLensError(why)
        final = project.readers.adjudicate(image_id, args.scale, args.value)
    _out(f"{args.image}: {args.scale} = {final.value:g} ({final.reason})")
    return 0


def run_blinded(args: argparse.Namespace) -> int:
    from core.store import Project

    with Project.open(args.dir) as project:
        project.readers.set_blinded(args.state == "on")
    _out(f"blinded reading is {args.state}")
    return 0


def run_assignment_export(args: argparse.Namespace) -> int:
    from core.project_io.assignment import export_assignment
    from core.store import Project

    with Project.open(args.dir, read_only=True) as project:
        ids = None
        if args.status:
            ids = [r.id for r in project.images(status=args.status.split(","))]
        manifest = export_assignment(
            project, args.out, args.reader, image_ids=ids, copy_images=args.copy_images
        )
    _out(
        f"assignment for {manifest['reader']}: {len(manifest['images'])} image(s) in "
        f"{args.out} (the reader opens {args.out / 'project'})"
    )
    return 0


def run_assignment_import(args: argparse.Namespace) -> int:
    from core.project_io.assignment import import_results
    from core.store import Project

    with Project.open(args.dir) as project:
        report = import_results(project, args.results)
    _out(
        json.dumps(report.to_dict(), ensure_ascii=True)
        if args.json
        else "\n".join(report.summary())
    )
    return 3 if report.conflicts or report.unknown_images else 0


def _check_scale(project: Any, name: str) -> None:
    names = [s.name for s in project.definitions.scales()]
    if name not in names:
        raise ClinLensError(
            f"this project has no '{name}' grading scale (its scales: {', '.join(names) or 'none'})"
        )
