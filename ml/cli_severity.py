"""``severity train | predict | evaluate``: face-photo severity grading from the command line.

    python main.py severity train DIR --scale acne4|hyperpig|iga5
        [--backbone auto|efficientnet_lite0|builtin|resnet50|resnet152 [--weights FILE]]
        [--no-smote] [--folds K] [--grader regression|similarity]
        [--fine-tune [--fine-tune-blocks N] [--epochs E] [--input-size PX]]
        [--regressor ridge|rbf] [--json]
    python main.py severity predict DIR [--all | IMAGE...] [--scale S] [--weights FILE] [--json]
    python main.py severity evaluate DIR --scale S [--folds K]
        [--backbone ... --weights FILE] [--regressor ridge|rbf] [--json]
    python main.py severity convert DIR NAME[:VERSION] --trust [--json]

``train`` fits on the project's human-graded photos, registers the model (kind
``severity``) and prints its cross-validated metrics (JSON with ``--json``). ``predict``
stores model grade suggestions (source "model", with confidence); human grades are never
changed. ``evaluate`` prints the metric table with and without SMOTE side by side.
``convert`` rewrites a model saved by an older ClinLens as a joblib pickle (which can run
code when loaded, so it is never loaded otherwise) in the current .npz format: only with
``--trust``, and only a file whose checksum the project recorded; the old entry is retired.
Too few graded photos: one line saying how many are needed, exit code 2.
Heavy imports (scikit-learn, torch, dlib) happen inside the commands only.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from core.errors import ClinLensError
from ml.cli_common import chosen_images, usage

SCALE_HELP = "grading scale of the project (built-ins: acne4, hyperpig, iga5)"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sev = subparsers.add_parser(
        "severity",
        help="grade face photos (acne, IGA, hyperpigmentation): train, predict, evaluate",
        description="Severity grading of face photos from skin patches (forehead, cheeks, chin).",
    )
    actions = sev.add_subparsers(dest="severity_action", metavar="ACTION")

    train = actions.add_parser(
        "train",
        help="train a grader on the project's human-graded photos and register it",
        description="Train on every photo with a human grade on SCALE, cross-validate, "
        "register the model (kind 'severity') and print its metrics.",
    )
    train.add_argument("project", metavar="DIR", help="project folder")
    train.add_argument("--scale", required=True, help=SCALE_HELP)
    _feature_args(train)
    train.add_argument(
        "--no-smote", action="store_true", help="do not oversample rare grades with SMOTE"
    )
    train.add_argument(
        "--folds", type=int, default=5, metavar="K", help="cross-validation folds (default 5)"
    )
    train.add_argument(
        "--grader",
        choices=("regression", "similarity"),
        default="regression",
        help="regression (ridge on the features, default) or similarity (grade by the most "
        "similar graded faces in an embedding trained with a triplet loss)",
    )
    train.add_argument(
        "--fine-tune",
        action="store_true",
        help="fine-tune the last blocks of EfficientNet-Lite0 on the graded patches (CPU, "
        "minutes for a few hundred faces; --backbone auto or efficientnet_lite0)",
    )
    train.add_argument(
        "--fine-tune-blocks", type=int, default=2, metavar="N", help="last blocks tuned (1-4)"
    )
    train.add_argument("--epochs", type=int, default=6, metavar="E", help="fine-tuning epochs")
    train.add_argument(
        "--input-size", type=int, default=128, metavar="PX", help="fine-tuning patch size"
    )
    train.add_argument("--json", action="store_true", help="print the summary as JSON")
    train.set_defaults(func=run_train)

    pred = actions.add_parser(
        "predict",
        help="store grade suggestions for images (human grades are never changed)",
        description="Grade images with the project's active severity model(s) and store the "
        "grades as model suggestions with their confidence.",
    )
    pred.add_argument("project", metavar="DIR", help="project folder")
    pred.add_argument(
        "images", nargs="*", metavar="IMAGE", help="image ids or paths in the project"
    )
    pred.add_argument("--all", action="store_true", help="every image of the project")
    pred.add_argument(
        "--scale", action="append", help="only this scale (default: every scale with a model)"
    )
    pred.add_argument(
        "--weights", metavar="FILE", help="ResNet weights file, if it moved since training"
    )
    pred.add_argument("--json", action="store_true", help="print the results as JSON")
    pred.set_defaults(func=run_predict)

    ev = actions.add_parser(
        "evaluate",
        help="k-fold metrics with and without SMOTE, and lesion counting",
        description="Cross-validate a grader on SCALE (nothing is registered) and print the "
        "regression and grade metrics with and without SMOTE side by side.",
    )
    ev.add_argument("project", metavar="DIR", help="project folder")
    ev.add_argument("--scale", required=True, help=SCALE_HELP)
    ev.add_argument("--folds", type=int, default=5, metavar="K", help="number of folds (default 5)")
    _feature_args(ev)
    ev.add_argument("--json", action="store_true", help="print a JSON object")
    ev.set_defaults(func=run_evaluate)

    conv = actions.add_parser(
        "convert",
        help="convert a model saved in the old joblib format (asks for --trust)",
        description="Rewrite a severity model an older ClinLens saved as a joblib pickle in "
        "the current format, which cannot run code. Reading the old file runs whatever it "
        "holds: pass --trust only for a model made by ClinLens that nobody else could have "
        "changed. Only a file whose checksum the project recorded is read.",
    )
    conv.add_argument("project", metavar="DIR", help="project folder")
    conv.add_argument("name", metavar="NAME", help="model name or NAME:VERSION (see model list)")
    conv.add_argument(
        "--trust", action="store_true", help="confirm you trust the old file (it can run code)"
    )
    conv.add_argument("--json", action="store_true", help="print the new registry entry as JSON")
    conv.set_defaults(func=run_convert)
    sev.set_defaults(func=lambda _args: usage(sev))


def _feature_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backbone",
        choices=("auto", "efficientnet_lite0", "builtin", "resnet50", "resnet152"),
        default="auto",
        help="patch features: auto (default: EfficientNet-Lite0 from its installed package, "
        "else the builtin descriptor, said so), builtin, or a ResNet (needs --weights)",
    )
    parser.add_argument(
        "--weights", metavar="FILE", help="local ImageNet state dict for a ResNet (or Lite0)"
    )
    parser.add_argument(
        "--regressor",
        choices=("ridge", "rbf"),
        default="ridge",
        help="ridge (linear, default) or rbf (kernel ridge, for large non-linear sets)",
    )


def _progress_to_stderr(quiet: bool) -> Any:
    """A one-line progress display on a terminal; nothing when piped or with --json."""
    if quiet or not sys.stderr.isatty():
        return None

    def progress(done: float = 0, total: float | None = None, message: str = "") -> None:
        if total:
            sys.stderr.write(f"\r{message[:70]:<70} {int(done)}/{int(total)}")
            if done >= total:
                sys.stderr.write("\n")
            sys.stderr.flush()

    return progress


def _check_folds(folds: int) -> None:
    if folds < 2:
        raise ClinLensError(f"--folds must be at least 2 (got {folds})")


def run_train(args: argparse.Namespace) -> int:
    from ml.severity.finetune import FineTuneConfig
    from ml.severity.regressor import RegressorConfig
    from ml.severity.train import TrainConfig, train_severity
    from ml.severity.train_variants import VariantConfig

    _check_folds(args.folds)
    if args.epochs < 1 or args.input_size < 32:
        raise ClinLensError("--epochs must be at least 1 and --input-size at least 32")
    fine_tune = (
        FineTuneConfig(blocks=args.fine_tune_blocks, epochs=args.epochs, input_size=args.input_size)
        if args.fine_tune
        else None
    )
    config = TrainConfig(
        scale=args.scale,
        backbone=args.backbone,
        weights=args.weights,
        smote=not args.no_smote,
        folds=args.folds,
        regressor=RegressorConfig(kind=args.regressor),
        variant=VariantConfig(grader=args.grader, fine_tune=fine_tune),
    )
    summary = train_severity(args.project, config, progress=_progress_to_stderr(args.json))
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        m = summary["metrics"]
        for note in summary.get("notes", []):
            if note not in m.get("notes", []):
                print(f"note: {note}")
        print(
            f"registered {summary['model']} ({summary['training']['faces']} faces, "
            f"{summary['backbone']}, {summary['grader']} grader, "
            f"SMOTE {'on' if summary['smote'] else 'off'}): "
            f"{m['folds']}-fold MAE {m['regression']['mae']:.3f}, "
            f"accuracy {m['grades']['accuracy']:.3f}, macro F1 {m['grades']['f1_macro']:.3f}"
        )
        if m.get("groups") is not None:
            print(f"folds grouped by source: {m['groups']} source group(s) kept whole")
        for note in m.get("notes", []):
            print(f"note: {note}")
        for skipped in summary["training"]["skipped"]:
            print(f"skipped {skipped['image']}: {skipped['reason']}")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from core.store import Project
    from ml.severity.grader import predict_project

    with Project.open(args.project) as project:
        ids = chosen_images(project, args.images, all_images=args.all)
        summary = predict_project(
            project,
            ids,
            scales=args.scale,
            weights=args.weights,
            progress=_progress_to_stderr(args.json),
        )
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        for r in summary.results:
            print(
                f"image {r['image_id']}: {r['scale']} {r['value']:g} ({r['label']}), "
                f"confidence {r['confidence']:.2f}"
                + (f" - {'; '.join(r['warnings'])}" if r["warnings"] else "")
            )
        for s in summary.skipped:
            print(f"skipped image {s['image_id']} ({s['scale']}): {s['reason']}")
        print(f"{summary.graded} grade suggestion(s) stored in {summary.seconds:.1f} s")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from ml.severity.evaluate import format_table
    from ml.severity.regressor import RegressorConfig
    from ml.severity.train import evaluate_severity

    _check_folds(args.folds)
    summary, results = evaluate_severity(
        args.project,
        args.scale,
        folds=args.folds,
        backbone=args.backbone,
        weights=args.weights,
        regressor=RegressorConfig(kind=args.regressor),
        progress=_progress_to_stderr(args.json),
    )
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(
        f"{summary['scale']}: {summary['faces']} faces, {summary['folds']}-fold, "
        f"{summary['backbone']} features, {summary['regressor']['kind']} regressor"
    )
    print(format_table(results))
    for note in summary.get("notes", []):
        if not any(note in r.notes for r in results.values()):
            print(f"note: {note}")
    lesions = summary["lesion_counting"]
    if lesions:
        o = lesions["overall"]
        print(
            f"lesion counting on {lesions['images']} images: MAE {o['mae']:.2f}, "
            f"RMSE {o['rmse']:.2f}, mean error {o['mean_error']:+.2f} (SD {o['sd_error']:.2f})"
        )
        for group, stats in lesions["groups"].items():
            if stats:
                print(
                    f"  {group:<12} n={stats['n']:<4} MAE {stats['mae']:.2f} RMSE {stats['rmse']:.2f} "
                    f"mean {stats['mean_error']:+.2f} SD {stats['sd_error']:.2f}"
                )
    for skipped in summary["skipped"]:
        print(f"skipped {skipped['image']}: {skipped['reason']}")
    return 0


def run_convert(args: argparse.Namespace) -> int:
    from core.store import Project
    from ml.severity.model_io import convert_legacy_model

    # Writable: the new model is registered and the old one retired.
    with Project.open(args.project) as project:
        old, new = convert_legacy_model(project.folder, args.name, trusted=args.trust)
    if args.json:
        print(json.dumps({"converted": old.ref, "model": new.to_dict()}, default=str))
    else:
        print(f"converted {old.ref} to {new.ref} (models/{new.file}); {old.ref} is retired")
    return 0
