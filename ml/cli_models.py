"""``model import``, ``model list`` and ``predict``: the project's models from the command line.

    python main.py model import DIR FILE.pt --kind detector [--name NAME]
    python main.py model list DIR [--json]
    python main.py predict DIR [--model NAME] [--all | IMAGE...] [--conf C]
                           [--device auto|cpu|cuda] [--json]

``predict --json`` prints ``{"images": N, "suggestions": M, "seconds": S, "device": "..."}``
plus ``model``, ``skipped`` (unreadable images, each with its reason) and ``notes``.
torch and ultralytics are imported only inside the commands, so ``--help`` stays quick.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.errors import ClinLensError
from ml import cli_training
from ml.cli_common import chosen_images, usage

DEVICES = ("auto", "cpu", "cuda", "mps")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    model = subparsers.add_parser(
        "model",
        help="import or list a project's models (detectors, severity graders)",
        description="Manage the models registered in a project's models/ folder.",
    )
    actions = model.add_subparsers(dest="model_action", metavar="ACTION")
    imp = actions.add_parser(
        "import",
        help="copy a model file into the project and record its checksum",
        description="Copy a model into DIR/models and register it: its checksum is recorded "
        "in the project's database, and ClinLens refuses to load it later if the file "
        "changes. A .pt file is checked before anything unpickles it: a pickle asking for "
        "anything a YOLO checkpoint does not hold is refused. Severity models are .npz files.",
    )
    imp.add_argument("project", metavar="DIR", help="project folder")
    imp.add_argument(
        "file", metavar="FILE", help="model file (.pt for detectors, .npz for severity)"
    )
    imp.add_argument("--kind", required=True, choices=("detector", "severity"))
    imp.add_argument("--name", help="model name (default: the file name)")
    imp.add_argument(
        "--tiling",
        choices=("tiles", "whole"),
        help="how the model was trained: on tiles cut from images (default) or whole images",
    )
    imp.add_argument(
        "--tile", type=int, metavar="PX", help="tile / input size (default: the model's)"
    )
    imp.add_argument("--overlap", type=int, metavar="PX", help="tile overlap (default: tile/4)")
    imp.add_argument("--scale", type=float, help="image scale before tiling (default 1)")
    imp.add_argument("--json", action="store_true", help="print the registry entry as JSON")
    imp.set_defaults(func=run_import)

    lst = actions.add_parser("list", help="list the registered models", description="List models.")
    lst.add_argument("project", metavar="DIR", help="project folder")
    lst.add_argument("--kind", choices=("detector", "severity"), help="only this kind")
    lst.add_argument("--json", action="store_true", help="print a JSON object")
    lst.set_defaults(func=run_list)
    model.set_defaults(func=lambda _args: usage(model))
    cli_training.register_actions(actions)

    pred = subparsers.add_parser(
        "predict",
        help="suggest boxes with the project's detector and store them for review",
        description="Run the project's detector and store its boxes as suggestions "
        "(status 'suggested'). Pending suggestions of the same model are replaced; accepted, "
        "edited, rejected and human boxes are never touched.",
    )
    pred.add_argument("project", metavar="DIR", help="project folder")
    pred.add_argument(
        "images", nargs="*", metavar="IMAGE", help="image ids or paths in the project"
    )
    pred.add_argument("--all", action="store_true", help="every image of the project")
    pred.add_argument(
        "--model", metavar="NAME", help="model name or NAME:VERSION (default: active)"
    )
    pred.add_argument(
        "--conf",
        type=float,
        metavar="C",
        help="confidence threshold 0..1 (default: the version's operating threshold, else 0.25)",
    )
    pred.add_argument(
        "--device", choices=DEVICES, default="auto", help="where to run (default auto)"
    )
    pred.add_argument("--json", action="store_true", help="print one JSON summary")
    pred.set_defaults(func=run_predict)
    _allow_intermixed(pred)


def _allow_intermixed(parser: argparse.ArgumentParser) -> None:
    """Let IMAGE arguments follow options (``predict DIR --conf 0.5 12 13``).

    Plain argparse consumes all positionals in one go, so images after an option would be
    "unrecognized"; ``parse_known_intermixed_args`` handles it. It calls
    ``parse_known_args`` itself, hence the re-entrancy flag.
    """
    base = type(parser)

    class _Intermixed(base):  # type: ignore[valid-type, misc]
        _busy = False

        def parse_known_args(self, args=None, namespace=None):  # type: ignore[no-untyped-def]
            if self._busy:
                return super().parse_known_args(args, namespace)
            self._busy = True
            try:
                return self.parse_known_intermixed_args(args, namespace)
            finally:
                self._busy = False

    parser.__class__ = _Intermixed


def _open_project(folder: str, *, read_only: bool) -> Any:
    from core.store import Project

    return Project.open(Path(folder), read_only=read_only)


# --- model import -------------------------------------------------------------------------


def run_import(args: argparse.Namespace) -> int:
    from ml import registry

    derive = _tiling_from_args(args)
    from core.errors import ProjectLockedError
    from core.store.model_trust import open_repository

    # Writable: the model's checksum goes into the project database (its trust anchor).
    # When this very process already writes the project (a caller running the command
    # in-process), the registry records through that writer.
    try:
        opened = _open_project(args.project, read_only=False)
    except ProjectLockedError as exc:
        if open_repository(args.project, writable=True) is None:
            raise ClinLensError(
                f"cannot import into '{args.project}' while another ClinLens has it open for "
                "writing: import the model there, or close the project there first"
            ) from exc
        opened = _open_project(args.project, read_only=True)
    with opened as project:
        label_set = project.definitions.label_set()
        before = {m.file for m in registry.list_models(project.folder, args.kind)}
        info = registry.import_model(project.folder, args.file, args.kind, args.name, derive=derive)
    notes = class_notes(info, label_set) if info.kind == "detector" else []
    already = info.file in before  # same file, name and settings: nothing new was stored
    if already:
        sys.stderr.write(f"already registered as {info.ref} (models/{info.file})\n")
    if args.json:
        payload = {**info.to_dict(), "notes": notes, "already_registered": already}
        sys.stdout.write(json.dumps(payload, default=str) + "\n")
    else:
        classes = f", {len(info.classes)} classes" if info.classes else ""
        sys.stdout.write(f"registered {info.ref} ({info.kind}{classes}) as models/{info.file}\n")
        sys.stdout.write(f"sha256 {info.sha256}\n")
        for note in notes:
            sys.stderr.write(f"note: {note}\n")
    return 0


def _tiling_from_args(
    args: argparse.Namespace,
) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
    """The registry's ``derive`` recording ``--tiling/--tile/--overlap/--scale``; None when
    none is given (the detector then uses the checkpoint's own input size).

    What is not given comes from the checkpoint, as the registry's inspector read it: the
    tile defaults to its ``imgsz`` in every mode (feeding a model trained at 640 px at
    512 px shifts its boxes), so the recorded tiling is complete and an explicit ``--tile``
    wins.
    """
    if args.tiling is None and args.tile is None and args.overlap is None and args.scale is None:
        return None
    from ml.detector.tiling import TilingSpec

    if args.tile is not None:  # a bad value is refused before anything is copied
        TilingSpec.for_model(
            None, tile=args.tile, overlap=args.overlap, scale=args.scale, mode=args.tiling
        )

    def derive(described: dict[str, Any]) -> dict[str, Any]:
        spec = TilingSpec.for_model(
            described.get("imgsz"),
            tile=args.tile,
            overlap=args.overlap,
            scale=args.scale,
            mode=args.tiling,
        )
        return {"tiling": spec.to_dict()}

    return derive


def class_notes(info: Any, label_set: Any) -> list[str]:
    from ml.detector.classmap import map_classes

    if not info.classes:
        return []
    try:
        cmap = map_classes(list(info.classes), label_set, model_label=f"model '{info.ref}'")
    except ClinLensError as exc:  # imported anyway: labels can still be added to the project
        return [str(exc)]
    return list(cmap.notes)


# --- model list ---------------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    from ml import registry

    folder = Path(args.project)
    with _open_project(args.project, read_only=True):
        models = registry.list_models(folder, args.kind)
        stray = registry.unregistered_files(folder)
        trust = {m.file: registry.trust_state(folder, m) for m in models}
    if args.json:
        payload = {
            "models": [{**m.to_dict(), "trust": trust[m.file]} for m in models],
            "unregistered": stray,
        }
        sys.stdout.write(json.dumps(payload, default=str) + "\n")
        return 0
    if not models:
        sys.stdout.write(
            "no models yet: import one with 'model import DIR FILE.pt --kind detector' or train one\n"
        )
    for m in models:
        classes = f"{len(m.classes)} classes" if m.classes else ""
        state = "" if trust[m.file] == "trusted" else f"  ({_UNTRUSTED[trust[m.file]]})"
        sys.stdout.write(f"{m.ref:<28} {m.kind:<9} {m.status:<9} {m.created}  {classes}{state}\n")
    for name in stray:
        sys.stdout.write(f"{name:<28} (not registered: never loaded)\n")
    return 0


_UNTRUSTED = {
    "changed": "changed since it was imported: never loaded",
    "unrecorded": "not recorded in the project database: never loaded",
    "missing": "file missing",
}


# --- predict ------------------------------------------------------------------------------


def run_predict(args: argparse.Namespace) -> int:
    if args.conf is not None and not 0.0 <= args.conf <= 1.0:
        raise ClinLensError(f"--conf must be between 0 and 1, not {args.conf}")
    from ml.suggest import load_detector, suggest_images

    with _open_project(args.project, read_only=False) as project:
        ids = chosen_images(project, args.images, all_images=args.all)
        # Load before anything else so "no model yet" is the first and only message.
        detector = load_detector(project, args.model, device=args.device, conf=args.conf)
        progress = None if args.json else _print_progress
        summary = suggest_images(project, ids, detector, progress=progress)
    if args.json:
        sys.stdout.write(json.dumps(summary.to_json_dict(), default=str) + "\n")
    else:
        sys.stdout.write(
            f"{summary.suggestions} suggestion(s) on {summary.images} image(s) in "
            f"{summary.seconds:.1f} s on {summary.device} with {summary.model}\n"
        )
        for skipped in summary.skipped:
            sys.stderr.write(f"skipped {skipped['path']}: {skipped['error']}\n")
        for note in summary.notes:
            sys.stderr.write(f"note: {note}\n")
    return 0


def _print_progress(done: int, total: int | None = None, message: str = "") -> None:
    if done and total:
        sys.stdout.write(f"[{done}/{total}] {message}\n")
        sys.stdout.flush()
