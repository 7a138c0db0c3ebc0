"""Self-test steps without torch: compressed DICOM and TIFF, filters, a project's round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ml.selftest import samples
from ml.selftest.context import Context


class StepFailed(RuntimeError):
    """A step ran but its result is wrong (the message says how)."""


def _read_back(path: Path, expected: np.ndarray, what: str) -> str:
    from core.imaging import read

    raw = read(path)
    pixels = np.asarray(raw.pixels)
    if pixels.shape != expected.shape or not np.array_equal(pixels, expected):
        raise StepFailed(f"{what} decoded to different pixels than were written (lossless)")
    return f"{what}: {pixels.shape[1]}x{pixels.shape[0]} {pixels.dtype}, pixels exact"


def _dicom_step(kind: str, title: str):  # type: ignore[no-untyped-def]
    def step(ctx: Context) -> str:
        arr = samples.pattern()
        path = samples.write_dicom(ctx.folder("samples") / f"{kind}.dcm", kind, arr)
        message = _read_back(path, arr, title)
        ctx.files[f"dicom-{kind}"] = path
        return message

    return step


def tiff_step(ctx: Context) -> str:
    arr = samples.pattern(bits=16)
    path = samples.write_tiff(ctx.folder("samples") / "xray16.tif", arr, "zstd")
    message = _read_back(path, arr, "16-bit zstd TIFF")
    ctx.files["tiff"] = path
    return message


def render_step(ctx: Context) -> str:
    """The whole display chain (window, CLAHE, invert, tone, gamma) on a 16-bit image."""
    from core.filters import FilterSettings, render
    from core.imaging import read

    path = ctx.files.get("tiff") or samples.write_tiff(
        ctx.folder("samples") / "xray16.tif", samples.pattern(bits=16), "zstd"
    )
    raw = read(path)
    settings = FilterSettings(
        normalise="percentile",
        clahe=True,
        clahe_clip=3.0,
        invert=True,
        brightness=0.05,
        contrast=1.2,
        gamma=1.3,
    )
    view = render(raw, settings)
    plain = render(raw, FilterSettings(normalise="percentile"))
    if view.dtype != np.uint8 or view.shape[:2] != raw.pixels.shape[:2]:
        raise StepFailed(f"render gave {view.dtype} {view.shape}, not uint8 at full size")
    if np.array_equal(view, plain) or int(view.max()) == int(view.min()):
        raise StepFailed("the filter chain changed nothing (CLAHE or the tone curve is off)")
    small = render(raw, settings, out_size=64)
    return f"CLAHE + invert + tone + gamma: {view.shape[1]}x{view.shape[0]}, preview {small.shape[1]}x{small.shape[0]}"


def project_step(ctx: Context) -> str:
    """Create a project (path with spaces and non-ASCII), import, box, export VOC and YOLO."""
    from core.annotations import Box, builtin_label_set
    from core.project_io import ExportOptions, export_project, import_images
    from core.store import Project

    images = ctx.folder("Bilder Röntgen")
    arr = samples.pattern()
    files = [
        samples.write_dicom(images / "Brust ü 1.dcm", "rle", arr),
        samples.write_tiff(images / "Hand é 2.tif", samples.pattern(bits=16), "zstd"),
    ]
    folder = ctx.work / "Projekt Müller"
    with Project.create(folder, label_set=builtin_label_set("xray"), scales=[]) as project:
        report = import_images(project, [images])
        if len(report.added) != len(files):
            raise StepFailed(
                f"imported {len(report.added)} of {len(files)} images: {report.errors or report.skipped}"
            )
        ids = [r.id for r in project.images()]
        for image_id in ids:
            project.add_boxes(image_id, [Box(30.0, 20.0, 70.0, 50.0, label="key")])
            project.set_review_status(image_id, "done")
        counts = []
        for fmt in ("voc", "yolo"):
            out = ctx.work / f"Export {fmt} ü"
            exported = export_project(project, ExportOptions(fmt=fmt, out=out))
            if exported.images != len(ids) or exported.boxes != len(ids):
                raise StepFailed(
                    f"{fmt} export wrote {exported.images} images, {exported.boxes} boxes"
                )
            _check_no_patient_name(out)
            counts.append(f"{fmt} {exported.images} images")
    return f"project with {len(ids)} images; exported {', '.join(counts)}"


def _check_no_patient_name(out: Path) -> None:
    needle = samples.PATIENT_NAME.split("^")[0].encode()
    for path in out.rglob("*"):
        text = path.suffix.lower() in (".xml", ".txt", ".yaml", ".csv", ".lst")
        if text and path.is_file() and needle in path.read_bytes():
            raise StepFailed(f"the patient's name reached the export ({path.name})")


STEPS = [
    ("dicom-jpeg2000", _dicom_step("jpeg2000", "JPEG 2000 DICOM")),
    ("dicom-jpeg-ls", _dicom_step("jpeg-ls", "JPEG-LS DICOM")),
    ("dicom-rle", _dicom_step("rle", "RLE DICOM")),
    ("tiff-16bit", tiff_step),
    ("render-filters", render_step),
    ("project-import-export", project_step),
]
