"""``clinlens info FILE [--json] [--frame N]``: what an image file holds, never who it shows.

The JSON keys ``width``, ``height``, ``bits_stored``, ``samples_per_pixel``, ``modality``,
``photometric``, ``window_center`` and ``window_width`` (null when absent) are a contract
other tools rely on. Patient tags stay in ``RawImage.patient`` and are never printed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

import numpy as np

from core.cli.argtypes import whole_number
from core.imaging import RawImage, read, voi_labels


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "info",
        help="show size, bit depth, modality and display window of an image file",
        description="Show an image file's technical facts (no patient data).",
    )
    parser.add_argument("file", metavar="FILE", help="DICOM, TIFF, PNG or JPEG file")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--frame",
        type=whole_number(low=0),
        default=0,
        metavar="N",
        help="frame/page to describe (0 = first)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    raw = read(args.file, frame=args.frame)
    facts = describe(raw)
    if args.json:
        sys.stdout.write(json.dumps(facts, allow_nan=False) + "\n")
    else:
        width = max(len(k) for k in facts)
        for key, value in facts.items():
            sys.stdout.write(f"{key:<{width}}  {_text(value)}\n")
    return 0


def describe(raw: RawImage) -> dict[str, Any]:
    """Non-identifying facts about a decoded frame, JSON-ready (built field by field, so a
    new RawImage field can never leak into the output by accident)."""
    pixels = raw.pixels
    lo, hi = _min_max(pixels)
    return {
        "width": raw.width,
        "height": raw.height,
        "bits_stored": raw.bits_stored,
        "samples_per_pixel": raw.samples_per_pixel,
        "modality": raw.modality,
        "photometric": raw.photometric,
        "window_center": _num(raw.window_center),
        "window_width": _num(raw.window_width),
        "format": raw.source_format,
        "frame": raw.frame_index,
        "frame_count": raw.frame_count,
        "dtype": str(pixels.dtype),
        "stored_min": lo,
        "stored_max": hi,
        "pixel_spacing": list(raw.pixel_spacing) if raw.pixel_spacing else None,
        "rescale_slope": _num(raw.rescale_slope),
        "rescale_intercept": _num(raw.rescale_intercept),
        "rescale_type": raw.rescale_type,
        "modality_lut": raw.modality_lut is not None,
        "voi_lut": raw.voi_lut is not None,
        "voi_lut_function": raw.voi_lut_function,
        "voi_windows": [
            {"center": _num(w.center), "width": _num(w.width), "explanation": w.explanation}
            for w in raw.voi_windows
        ],
        "voi_choices": voi_labels(raw),
        "transfer_syntax": raw.transfer_syntax,
    }


def _min_max(pixels: np.ndarray) -> tuple[float | int | None, float | int | None]:
    if pixels.size == 0:
        return None, None
    if pixels.dtype.kind == "f":
        # nanmin of an all-NaN array warns "All-NaN slice encountered" straight to stderr
        # (breaking the one-line output) and returns NaN, which JSON cannot carry anyway.
        if np.isnan(pixels).all():
            return None, None
        lo, hi = float(np.nanmin(pixels)), float(np.nanmax(pixels))
        return _num(lo), _num(hi)
    return int(pixels.min()), int(pixels.max())


def _num(value: float | None) -> float | int | None:
    """JSON has no NaN/inf; integral floats print as ints (15000, not 15000.0)."""
    if value is None or not math.isfinite(value):
        return None
    return int(value) if float(value).is_integer() else float(value)


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        if value and isinstance(value[0], dict):
            return (
                "; ".join(
                    f"C {w['center']} / W {w['width']}"
                    + (f" ({w['explanation']})" if w["explanation"] else "")
                    for w in value
                )
                or "-"
            )
        return ", ".join(str(v) for v in value) or "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
