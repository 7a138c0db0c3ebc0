"""``model train|evaluate|promote|rollback`` and the ``train-worker`` child command.

    python main.py model train DIR [--preset xray|acne] [--epochs N]
        [--from active|scratch|NAME:V] [--remap none|agnostic|sizes|binary|score|FILE]
        [--tiles N --tile-size S] [--imgsz S] [--batch B] [--device auto|cpu|cuda]
        [--seed N] [--arch CONFIG.yaml] [--name NAME] [--json]
    python main.py model evaluate DIR [--model NAME:V] [--conf C] [--iou T] [--json [--curves]]
    python main.py model promote DIR NAME:V
    python main.py model rollback DIR [--kind detector]

``model train`` runs the training in the training worker (``train-worker DIR``), prints
progress on stderr and, with ``--json``, one JSON document on stdout: ``{"model",
"status", "heldout": {images, precision, recall, f1, ap50}, "previous": {... , "model"} |
null, "epochs", "seconds", "device"}``. Refusals (too few reviewed images or boxes, no
held-out images, a training already running) exit 2 with one line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.errors import ClinLensError

DEVICES = ("auto", "cpu", "cuda", "mps")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The ``train-worker`` command (core.commands)."""
    worker = subparsers.add_parser(
        "train-worker",
        help="(internal) the training process, speaking JSON lines",
        description="Train a detector for the project over stdin/stdout in JSON lines. "
        "Started by 'model train' and the GUI; opens the project read-only.",
    )
    worker.add_argument("project", metavar="DIR", help="project folder")
    worker.set_defaults(func=_run_worker)


def _run_worker(args: argparse.Namespace) -> int:
    from ml.training_worker import run

    return run(args.project)


def register_actions(actions: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``model train|evaluate|promote|rollback`` under the ``model`` command."""
    tr = actions.add_parser(
        "train",
        help="train a detector on the reviewed images; it becomes active if it beats the "
        "active one on the held-out images",
        description="Train a detector on the project's reviewed images (status done) in a "
        "child process, evaluate it and the active version on the held-out reviewed images "
        "and register it: active if it is better (F1 at IoU 0.5 at its best-F1 threshold, "
        "AP50 as tie-break), else kept as a candidate.",
    )
    tr.add_argument("project", metavar="DIR", help="project folder")
    tr.add_argument("--preset", choices=("xray", "acne"), default="xray")
    tr.add_argument("--epochs", type=int)
    tr.add_argument("--from", dest="start", metavar="active|scratch|NAME:V", default="active")
    tr.add_argument("--remap", metavar="MODE|FILE", default="none")
    tr.add_argument("--tiles", type=int, metavar="N", help="random positive tiles per image")
    tr.add_argument("--tile-size", type=int, metavar="S")
    tr.add_argument("--imgsz", type=int, metavar="S")
    tr.add_argument("--batch", type=int, metavar="B")
    tr.add_argument("--device", choices=DEVICES, default="auto")
    tr.add_argument("--seed", type=int)
    tr.add_argument("--patience", type=int)
    tr.add_argument(
        "--hours", type=float, metavar="H", help="wall-time budget; epochs are fitted to it"
    )
    tr.add_argument(
        "--arch", metavar="CONFIG", help="model config for --from scratch (default yolov8n.yaml)"
    )
    tr.add_argument("--name", help=f"model name (default '{_default_name()}')")
    tr.add_argument("--json", action="store_true", help="print one JSON document")
    tr.set_defaults(func=run_train)

    ev = actions.add_parser(
        "evaluate",
        help="measure a detector on the held-out reviewed images",
        description="Precision, recall, F1 (IoU --iou, score >= --conf; default: the "
        "model's operating threshold) and AP50 on the held-out reviewed images.",
    )
    ev.add_argument("project", metavar="DIR", help="project folder")
    ev.add_argument("--model", metavar="NAME:V", help="default: the active detector")
    ev.add_argument("--conf", type=float, metavar="C")
    ev.add_argument("--iou", type=float, metavar="T", default=0.5)
    ev.add_argument("--device", choices=DEVICES, default="auto")
    ev.add_argument("--json", action="store_true")
    ev.add_argument(
        "--curves",
        action="store_true",
        help="with --json: add the confusion matrix and each class's precision-recall curve",
    )
    ev.set_defaults(func=run_evaluate)

    pr = actions.add_parser("promote", help="make a model version the active one")
    pr.add_argument("project", metavar="DIR", help="project folder")
    pr.add_argument("model", metavar="NAME:V")
    pr.add_argument("--json", action="store_true")
    pr.set_defaults(func=run_promote)

    rb = actions.add_parser(
        "rollback", help="retire the active version and reactivate the previous one"
    )
    rb.add_argument("project", metavar="DIR", help="project folder")
    rb.add_argument("--kind", default="detector", choices=("detector", "severity"))
    rb.add_argument("--json", action="store_true")
    rb.set_defaults(func=run_rollback)


def _default_name() -> str:
    from ml.training.session import DEFAULT_NAME

    return DEFAULT_NAME


def _open(folder: str, *, read_only: bool) -> Any:
    from core.store import Project

    return Project.open(Path(folder), read_only=read_only)


# --- train --------------------------------------------------------------------------------


def _recipe(args: argparse.Namespace) -> Any:
    from ml.training.recipe import preset

    return preset(
        args.preset,
        epochs=args.epochs,
        start=args.start,
        remap=args.remap,
        tiles=args.tiles,
        tile_size=args.tile_size,
        imgsz=args.imgsz,
        batch=args.batch,
        device=args.device,
        seed=args.seed,
        patience=args.patience,
        hours=args.hours,
        arch=args.arch,
    )


def precheck(project: Any, recipe: Any) -> None:
    """The refusals the worker would give, answered here in a moment (no child started)."""
    from ml import registry
    from ml.registry.versions import active_model
    from ml.training.dataset import HELDOUT, TRAIN, check_enough, reviewed_images
    from ml.training.recipe import training_remap

    if recipe.start not in ("active", "scratch"):
        registry.find_model(project.folder, "detector", recipe.start)
    f1 = None
    active = active_model(project.folder, "detector")
    if recipe.remap == "score" and active is not None:
        per_class = ((active.metrics or {}).get("heldout") or {}).get("per_class") or {}
        f1 = {k: v.get("f1") for k, v in per_class.items() if isinstance(v, dict)}
    remap = training_remap(recipe.remap, project.label_set(), per_class_f1=f1)
    images = reviewed_images(project)
    check_enough(
        [im for im in images if im.role == TRAIN],
        [im for im in images if im.role == HELDOUT],
        remap,
        recipe,
    )


def run_train(args: argparse.Namespace) -> int:
    from ml.training.lock import LOCK_NAME, _alive, _owner
    from ml.training.session import run_training

    recipe = _recipe(args)
    folder = Path(args.project)
    with _open(args.project, read_only=True) as project:
        precheck(project, recipe)
    lock = folder / LOCK_NAME
    if lock.exists() and _alive(_owner(lock)):
        raise ClinLensError(
            f"a training of this project is already running (pid {_owner(lock)}); wait for it "
            "to finish or cancel it"
        )
    result = run_training(
        folder,
        recipe,
        open_writer=lambda: _open(args.project, read_only=False),
        name=args.name,
        on_event=_print_event,
        progress=_print_progress,
    )
    if args.json:
        sys.stdout.write(json.dumps(result, default=str) + "\n")
    else:
        h = result["heldout"]
        sys.stdout.write(
            f"registered {result['model']} ({result['status']}): held-out F1 "
            f"{_fmt(h['f1'])}, AP50 {_fmt(h['ap50'])} on {h['images']} image(s)\n"
        )
        if result["previous"]:
            p = result["previous"]
            sys.stdout.write(f"previous {p['model']}: F1 {_fmt(p['f1'])}, AP50 {_fmt(p['ap50'])}\n")
    return 0


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{float(value):.3f}"


def _print_event(event: dict[str, Any]) -> None:
    kind = event.get("event")
    if kind == "epoch":
        losses = " ".join(f"{k.split('/')[-1]} {v:.3f}" for k, v in (event["losses"] or {}).items())
        metrics = event.get("metrics") or {}
        val = f"  val mAP50 {metrics.get('metrics/mAP50(B)', 0):.3f}" if metrics else ""
        sys.stderr.write(f"epoch {event['epoch']}/{event['epochs']}: {losses}{val}\n")
    elif kind == "batch":
        sys.stderr.write(
            f"epoch {event['epoch']}/{event['epochs']} batch {event['batch']}/{event['batches']}\n"
        )
    elif kind == "note":
        sys.stderr.write(f"note: {event.get('text')}\n")
    sys.stderr.flush()


def _print_progress(done: Any, total: Any = None, message: str = "") -> None:
    if message:
        sys.stderr.write(f"{message}\n")
        sys.stderr.flush()


# --- evaluate / promote / rollback ---------------------------------------------------------


def run_evaluate(args: argparse.Namespace) -> int:
    if args.conf is not None and not 0.0 <= args.conf <= 1.0:
        raise ClinLensError(f"--conf must be between 0 and 1, not {args.conf}")
    if not 0.0 < args.iou <= 1.0:
        raise ClinLensError(f"--iou must be in (0, 1], not {args.iou}")
    from ml import registry
    from ml.detector.predict import Detector
    from ml.training import gate

    with _open(args.project, read_only=True) as project:
        info = registry.find_model(project.folder, "detector", args.model)
        ids = gate.heldout_ids(project)
        detector = Detector.from_registry(project.folder, info.ref, device=args.device)
        conf = args.conf
        if conf is None:
            stored = info.extra.get("operating_threshold")
            conf = float(stored) if stored is not None else 0.25
        score = gate.evaluate_detector(
            project,
            detector,
            ids,
            gate.truth_remap(info, detector.names, project.label_set()),
            conf=conf,
            iou=args.iou,
        )
    payload = {"model": info.ref, **score.report}
    if args.curves:
        from ml.evaluation.views import evaluation_views

        payload.update(evaluation_views(score.evals, score.names, conf=conf, iou=args.iou))
    if args.json:
        sys.stdout.write(json.dumps(payload, default=str) + "\n")
    else:
        sys.stdout.write(
            f"{info.ref} on {score.images} held-out image(s) at score >= {conf:.3f}: "
            f"precision {_fmt(score.precision)}, recall {_fmt(score.recall)}, "
            f"F1 {_fmt(score.f1)}, AP50 {_fmt(score.ap50)}\n"
        )
    return 0


def run_promote(args: argparse.Namespace) -> int:
    from ml import registry
    from ml.registry.versions import promote_version

    with _open(args.project, read_only=False) as project:
        info = registry.find_model(project.folder, "detector", args.model)
        if registry.trust_state(project.folder, info) != "trusted":
            raise ClinLensError(f"{info.ref} is not a trusted model of this project")
        new = promote_version(project, info, reason="by hand")
    _say(args, {"model": new.ref, "status": new.status}, f"{new.ref} is now active")
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    from ml.registry.versions import rollback

    with _open(args.project, read_only=False) as project:
        old, new = rollback(project, args.kind)
    _say(
        args,
        {"retired": old.ref, "model": new.ref, "status": new.status},
        f"rolled back: {old.ref} retired, {new.ref} is active again",
    )
    return 0


def _say(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    sys.stdout.write((json.dumps(payload) if args.json else text) + "\n")
