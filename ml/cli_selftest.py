"""``self-test [--json] [--step NAME ...] [--keep DIR]``: prove this installation's heavy paths.

Runs in the installed (frozen) app as ``ClinLens self-test`` and from source as
``python main.py self-test``. Prints one line per step (name, ok/FAILED, seconds, reason)
and the device, or with ``--json`` one document ``{"passed", "device", "steps": [{"name",
"ok", "seconds", "message"}]}`` on stdout (progress then goes to stderr). Exit status 0
only when every step passed, 1 when one failed, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "self-test",
        help="check that this installation reads, renders, exports and runs its models",
        description="Check every heavy path of this installation: compressed DICOM and "
        "TIFF codecs, the display filters, a project's import and export, the detector and "
        "training child processes, dlib's face landmarks and a severity prediction. "
        "Exit status 0 only when every step passes.",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.add_argument(
        "--step", action="append", metavar="NAME", help="run only this step (repeatable)"
    )
    p.add_argument("--keep", metavar="DIR", help="leave the files the test made in DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ml.selftest import run_selftest

    def progress(text: str) -> None:
        if ":" in text:  # a finished step; the JSON mode keeps stdout for the document
            print(f"self-test: {text}", file=sys.stderr, flush=True)

    try:
        report = run_selftest(
            only=args.step, keep=Path(args.keep) if args.keep else None, progress=progress
        )
    except ValueError as exc:
        print(f"self-test: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
    else:
        for s in report.steps:
            state = "ok" if s.ok else "FAILED"
            print(f"{s.name:<22} {state:<6} {s.seconds:7.2f} s  {s.message}")
        total = sum(s.seconds for s in report.steps)
        verdict = "passed" if report.passed else "FAILED"
        print(f"self-test {verdict} in {total:.1f} s on {report.device}")
    return 0 if report.passed else 1
