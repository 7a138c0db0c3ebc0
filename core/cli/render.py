"""``render FILE -o OUT.png``: write the 8-bit display image of an image file.

With no options it shows what a radiologist expects: the file's own VOI window (else robust
percentiles), MONOCHROME1 inverted. Options adjust a preset (default: auto) the same way the
GUI's sliders do, through ``FilterSettings``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from pathlib import Path
from typing import Any

from core.cli.argtypes import whole_number
from core.errors import ClinLensError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "render",
        help="write the 8-bit display image of FILE as PNG",
        description="Render FILE (DICOM, TIFF, PNG, JPEG) to an 8-bit PNG as ClinLens shows it.",
    )
    p.add_argument("file", type=Path, help="image file")
    p.add_argument("-o", "--output", type=Path, required=True, help="PNG file to write")
    p.add_argument("--preset", help="auto, bone, soft_tissue, metal, face_photo")
    p.add_argument(
        "--window",
        nargs=2,
        type=float,
        metavar=("CENTER", "WIDTH"),
        help="window centre and width in modality units (HU for CT)",
    )
    p.add_argument("--gamma", type=float, help="gamma (> 1 brightens mid-tones; 1 = none)")
    p.add_argument(
        "--clahe",
        type=float,
        nargs="?",
        const=2.0,
        metavar="CLIP",
        help="adaptive histogram equalisation with this clip limit (default 2)",
    )
    p.add_argument("--invert", action="store_true", help="swap black and white")
    p.add_argument(
        "--size",
        type=whole_number(low=1),
        metavar="MAXSIDE",
        help="scale down to this longest side",
    )
    p.add_argument(
        "--frame",
        type=whole_number(low=0),
        default=0,
        metavar="N",
        help="frame of a multi-frame file",
    )
    p.set_defaults(func=run)


def settings_from_args(args: argparse.Namespace) -> Any:
    """The FilterSettings the options describe (a preset, then the explicit changes)."""
    from core.filters import FilterSettings, preset

    settings = preset(args.preset) if args.preset else FilterSettings(preset="auto")
    changes: dict[str, Any] = {}
    if args.window is not None:
        changes["window_center"], changes["window_width"] = args.window
    if args.gamma is not None:
        changes["gamma"] = args.gamma
    if args.clahe is not None:
        changes["clahe"] = True
        changes["clahe_clip"] = args.clahe
    if args.invert:
        changes["invert"] = not settings.invert
    return settings.replace(**changes) if changes else settings


def write_png_atomic(path: Path, image: Any) -> None:
    """Encode ``image`` (uint8 grey or RGB) as PNG and put it at ``path`` in one step, so a
    reader never sees half a file and a failed run leaves any older file untouched."""
    import cv2

    pixels = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    ok, data = cv2.imencode(".png", pixels)
    if not ok:
        raise ClinLensError(f"Could not encode the rendered image of {path.name} as PNG.")
    if not path.parent.is_dir():
        raise ClinLensError(f"Cannot write {path}: the folder {path.parent} does not exist.")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data.tobytes())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ClinLensError(f"Cannot write {path}: {exc.strerror or exc}") from exc


def run(args: argparse.Namespace) -> int:
    from core.filters import render
    from core.imaging import read

    settings = settings_from_args(args)  # bad option values fail before the file is read
    if not args.file.exists():
        raise ClinLensError(f"{args.file}: no such file.")
    raw = read(args.file, frame=args.frame)
    image = render(raw, settings, out_size=args.size)
    write_png_atomic(args.output, image)
    return 0
