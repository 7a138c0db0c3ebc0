"""``clinlens demo files OUT_DIR [--n N] [--seed S] [--size WxH] [--large]``.

Writes the demo set (phantom X-rays as DICOM and 16-bit TIFF with ground-truth boxes, plus
the bundled face photo) and prints what it wrote. Headless and fast: no torch, no network.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter

from core.cli.argtypes import whole_number
from core.demo.phantom import MAX_SIZE, MIN_SIZE

_SIZE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "demo",
        help="write demo data (synthetic X-rays with ground truth, a face photo)",
        description="Demo data for trying ClinLens without patient data.",
    )
    sub = parser.add_subparsers(dest="demo_command", metavar="WHAT", required=True)
    files = sub.add_parser(
        "files",
        help="write phantom X-rays (DICOM, TIFF), their ground truth and a face photo",
        description=(
            "Write synthetic 16-bit X-ray phantoms with metallic anomalies (DICOM and TIFF), "
            "their ground-truth boxes (ground_truth/*.json) and a public-domain face photo."
        ),
    )
    files.add_argument("out_dir", metavar="OUT_DIR", help="folder to write into (created)")
    files.add_argument(
        "--n", type=whole_number(0, 1000), default=6, metavar="N", help="number of X-rays (6)"
    )
    files.add_argument(
        "--seed", type=whole_number(low=0), default=0, metavar="S", help="random seed (0)"
    )
    files.add_argument(
        "--size", type=_size, default=None, metavar="WxH", help="one size for every X-ray"
    )
    files.add_argument(
        "--large", action="store_true", help="add a 3000x3000 phantom (detector size)"
    )
    files.set_defaults(func=run_files)


def _size(text: str) -> tuple[int, int]:
    m = _SIZE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"'{text}' is not a size like 1500x1216")
    w, h = int(m.group(1)), int(m.group(2))
    if not (MIN_SIZE <= w <= MAX_SIZE and MIN_SIZE <= h <= MAX_SIZE):
        raise argparse.ArgumentTypeError(f"{w}x{h} is outside {MIN_SIZE}..{MAX_SIZE} pixels a side")
    return w, h


def run_files(args: argparse.Namespace) -> int:
    from core.demo import make_demo_files

    start = time.perf_counter()
    items = make_demo_files(
        args.out_dir, n_xrays=args.n, seed=args.seed, size=args.size, large=args.large
    )
    elapsed = time.perf_counter() - start
    out = sys.stdout
    name_w = max(len(it.path.name) for it in items)
    for it in items:
        labels = Counter(b.label for b in it.boxes)
        boxes = ", ".join(f"{n} {lab}" if n > 1 else lab for lab, n in sorted(labels.items()))
        out.write(
            f"{it.path.name:<{name_w}}  {it.width:>4}x{it.height:<4}  {it.description}"
            + (f"  [{boxes}]" if boxes else "")
            + "\n"
        )
    n_boxes = sum(len(it.boxes) for it in items)
    out.write(
        f"wrote {len(items)} files ({n_boxes} ground-truth boxes in ground_truth/) "
        f"to {args.out_dir} in {elapsed:.2f} s\n"
    )
    return 0
